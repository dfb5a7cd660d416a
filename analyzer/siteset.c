/* siteset.c: the site model (see sites.h): per-stack figures gathered into sites and
 * their call paths, sorted.  Which stacks make one site is sites.c's (sites_of); how a
 * site is written is siteview.c's. */
#include "sites.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t site_fig_by(const site_fig_t *f, site_order_t order)
{
	switch (order) {
	case SITES_BY_CALLS: return f->calls;
	case SITES_BY_TEMPORARY: return f->temporary;
	case SITES_BY_BYTES: break;
	}
	return f->bytes;
}

static void fig_add(site_fig_t *to, const site_fig_t *f)
{
	to->bytes = ag_sat_add(to->bytes, f->bytes);
	to->count = ag_sat_add(to->count, f->count);
	to->calls = ag_sat_add(to->calls, f->calls);
	to->temporary = ag_sat_add(to->temporary, f->temporary);
}

static int fig_zero(const site_fig_t *f)
{
	return !f->bytes && !f->count && !f->calls && !f->temporary;
}

/* qsort has no context argument: the order is set for the duration of one sort. */
static _Thread_local site_order_t sort_by;

static int fig_cmp(const site_fig_t *x, const site_fig_t *y)
{
	uint64_t a = site_fig_by(x, sort_by), b = site_fig_by(y, sort_by);
	if (a != b)
		return a > b ? -1 : 1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return 0;
}

static int path_cmp(const void *a, const void *b)
{
	const site_path_t *x = a, *y = b;
	int c = fig_cmp(&x->fig, &y->fig);
	return c ? c : (x->stack > y->stack) - (x->stack < y->stack);
}

static int site_cmp(const void *a, const void *b)
{
	const site_t *x = a, *y = b;
	int c = fig_cmp(&x->fig, &y->fig);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

void sites_sort(site_set_t *set, site_order_t order)
{
	sort_by = order;
	for (size_t i = 0; i < set->nsites; i++) {
		site_t *s = &set->sites[i];
		qsort(s->paths, s->npaths, sizeof *s->paths, path_cmp);
		/* the largest path by bytes stands for the site, whatever the order */
		s->stack = s->paths[0].stack;
		uint64_t most = s->paths[0].fig.bytes;
		for (size_t k = 1; k < s->npaths; k++)
			if (s->paths[k].fig.bytes > most) {
				most = s->paths[k].fig.bytes;
				s->stack = s->paths[k].stack;
			}
	}
	qsort(set->sites, set->nsites, sizeof *set->sites, site_cmp);
}

void sites_free(site_set_t *set)
{
	free(set->sites);
	free(set->paths);
	free(set->size_bins);
	memset(set, 0, sizeof *set);
}

/* Paths are laid out site by site in set->paths: count each site's paths, then place. */
int sites_collect(const ag_log_t *log, symbols_t *sym, const site_fig_t *fig,
		  site_order_t order, site_set_t *out)
{
	memset(out, 0, sizeof *out);
	size_t n = log->nstacks;
	uint32_t *of = sites_of(log, sym);
	size_t *slot = malloc((n + 1) * sizeof *slot);
	out->sites = calloc(n + 1, sizeof *out->sites);
	out->paths = calloc(n + 1, sizeof *out->paths);
	if (!of || !slot || !out->sites || !out->paths) {
		free(of);
		free(slot);
		sites_free(out);
		return ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		slot[i] = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		if (fig_zero(&fig[i]))
			continue;
		size_t *g = &slot[of[i]];
		if (*g == (size_t)-1) {
			*g = out->nsites++;
			out->sites[*g].id = of[i];
			out->sites[*g].kind = log->stacks[i].kind;
		}
		out->sites[*g].npaths++;
		fig_add(&out->sites[*g].fig, &fig[i]);
		fig_add(&out->total, &fig[i]);
	}
	size_t at = 0;
	for (size_t k = 0; k < out->nsites; k++) {
		out->sites[k].paths = out->paths + at;
		at += out->sites[k].npaths;
		out->sites[k].npaths = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (fig_zero(&fig[i]))
			continue;
		site_t *s = &out->sites[slot[of[i]]];
		s->paths[s->npaths++] = (site_path_t){ (uint32_t)i, fig[i] };
	}
	out->npaths = at;
	free(of);
	free(slot);
	sites_sort(out, order);
	return 0;
}
