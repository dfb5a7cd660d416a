/* page_data.c: what the page of one log shows, collected from the model (see page.h): the
 * figures of every stack in each flame graph view, the sites of the site model (sites.h)
 * in report's order with their call paths and series, and the growth verdicts.  Writing it
 * is page_json.c's. */
#include "exports.h"
#include "page.h"
#include "sites.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void page_free(page_t *p)
{
	report_free(&p->report);
	growth_free(&p->growth);
	for (size_t i = 0; i < p->nsites; i++) {
		free(p->sites[i].stacks);
		free(p->sites[i].series);
	}
	free(p->sites);
	sites_free(&p->set);
	free(p->site_of);
	free(p->pick);
	free(p->live);
	free(p->val);
	free(p->keep);
	memset(p, 0, sizeof *p);
}

/* Every snapshot when they are few, else PAGE_MAX_POINTS of them evenly, always with the
 * one holding the most and the last. */
static int pick_points(page_t *p)
{
	size_t n = p->log->nsnaps, most;
	export_peak(p->log, &most);
	p->pick = malloc((PAGE_MAX_POINTS + 2) * sizeof *p->pick);
	if (!p->pick)
		return ENOMEM;
	if (n <= PAGE_MAX_POINTS) {
		for (size_t i = 0; i < n; i++)
			p->pick[i] = i;
		p->npts = n;
		return 0;
	}
	size_t k = 0;
	for (size_t i = 0; i < PAGE_MAX_POINTS; i++) {
		size_t s = i * (n - 1) / (PAGE_MAX_POINTS - 1);
		if (k && p->pick[k - 1] < most && s > most)
			p->pick[k++] = most;
		if (!k || s > p->pick[k - 1])
			p->pick[k++] = s;
	}
	p->npts = k;
	return 0;
}

/* Each stack's figures at the peak, at the last snapshot, and its allocations. */
static int stack_values(page_t *p)
{
	const ag_log_t *log = p->log;
	size_t last = log->nsnaps - 1, most;
	ag_stackval_t *st = log_state_at(log, last), *pk = NULL;
	p->val = calloc(log->nstacks + 1, sizeof *p->val);
	p->peak_exact = log->snaps[last].have_peak;
	p->temporary = log->version >= 2;
	if (st && !p->peak_exact) {
		export_peak(log, &most);
		pk = log_state_at(log, most);
	}
	if (!st || !p->val || (!p->peak_exact && !pk)) {
		free(st);
		free(pk);
		return ENOMEM;
	}
	for (size_t i = 0; i < log->nstacks; i++) {
		page_val_t *v = &p->val[i];
		v->peak = p->peak_exact ? st[i].peak_bytes : pk[i].live_bytes;
		v->peak_count = p->peak_exact ? st[i].peak_count : pk[i].live_count;
		v->last = st[i].live_bytes;
		v->last_count = st[i].live_count;
		v->calls = st[i].total_count;
		v->temporary = st[i].temp_count;
	}
	free(st);
	free(pk);
	return 0;
}

static void val_add(page_val_t *a, const page_val_t *b)
{
	a->peak = ag_sat_add(a->peak, b->peak);
	a->peak_count = ag_sat_add(a->peak_count, b->peak_count);
	a->last = ag_sat_add(a->last, b->last);
	a->last_count = ag_sat_add(a->last_count, b->last_count);
	a->calls = ag_sat_add(a->calls, b->calls);
	a->temporary = ag_sat_add(a->temporary, b->temporary);
}

static int nothing(const page_val_t *v)
{
	return !v->peak && !v->peak_count && !v->last && !v->last_count && !v->calls &&
	       !v->temporary && !v->most;
}

/* The sites: the model's (sites_collect), ordered as report's rows at the peak (bytes and
 * blocks at the peak), with what else the page shows of each summed over its paths. */
static int build_sites(page_t *p)
{
	const ag_log_t *log = p->log;
	site_fig_t *fig = calloc(log->nstacks + 1, sizeof *fig);
	p->site_of = malloc((log->nstacks + 1) * sizeof *p->site_of);
	if (!fig || !p->site_of) {
		free(fig);
		return ENOMEM;
	}
	for (size_t i = 0; i < log->nstacks; i++) {
		const page_val_t *v = &p->val[i];
		fig[i] = (site_fig_t){ v->peak, v->peak_count, v->calls, v->temporary };
		/* live at the end only (a log that does not count calls): still a path */
		if (!v->peak && !v->peak_count && !v->calls && !v->temporary && v->last_count)
			fig[i].calls = v->last_count;
		p->site_of[i] = UINT32_MAX;
	}
	int rc = sites_collect(log, p->sym, fig, SITES_BY_BYTES, &p->set);
	if (!rc)
		rc = sites_sizes(log, &p->set);
	free(fig);
	p->sites = rc ? NULL : calloc(p->set.nsites + 1, sizeof *p->sites);
	if (rc || !p->sites)
		return rc ? rc : ENOMEM;
	p->nsites = p->set.nsites;
	for (size_t k = 0; k < p->nsites; k++) {
		const site_t *s = &p->set.sites[k];
		p->sites[k].site = s;
		for (size_t j = 0; j < s->npaths; j++) {
			p->site_of[s->paths[j].stack] = (uint32_t)k;
			val_add(&p->sites[k].v, &p->val[s->paths[j].stack]);
		}
	}
	return 0;
}

/* Every snapshot replayed once: each stack's and site's most live bytes, and the series of
 * the sites that carry one (the most at the peak or at the end). */
static int series_pass(page_t *p)
{
	const ag_log_t *log = p->log;
	ag_stackval_t *st = calloc(log->nstacks + 1, sizeof *st);
	double *sum = calloc(p->nsites + 1, sizeof *sum);
	p->live = calloc(p->npts + 1, sizeof *p->live);
	int rc = st && sum && p->live ? 0 : ENOMEM;
	for (size_t i = 0; !rc && i < p->nsites && i < PAGE_SERIES_SITES; i++)
		if (!(p->sites[i].series = calloc(p->npts + 1, sizeof(double))))
			rc = ENOMEM;
	for (size_t k = 0, pt = 0; !rc && k < log->nsnaps; k++) {
		log_apply(log, k, st);
		memset(sum, 0, p->nsites * sizeof *sum);
		double live = 0;
		for (size_t i = 0; i < log->nstacks; i++) {
			live += (double)st[i].live_bytes;
			if (st[i].live_bytes > p->val[i].most)
				p->val[i].most = st[i].live_bytes;
			if (p->site_of[i] != UINT32_MAX)
				sum[p->site_of[i]] += (double)st[i].live_bytes;
		}
		for (size_t s = 0; s < p->nsites; s++)
			if (sum[s] > (double)p->sites[s].v.most)
				p->sites[s].v.most = (uint64_t)sum[s];
		if (pt < p->npts && p->pick[pt] == k) {
			p->live[pt] = live;
			for (size_t s = 0; s < p->nsites && p->sites[s].series; s++)
				p->sites[s].series[pt] = sum[s];
			pt++;
		}
	}
	free(st);
	free(sum);
	return rc;
}

typedef struct {
	uint64_t v;
	uint32_t i;
} ranked_t;

static int ranked_cmp(const void *a, const void *b)
{
	const ranked_t *x = a, *y = b;
	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static uint64_t val_of(const page_val_t *v, int view)
{
	const uint64_t by[] = { v->peak, v->last, v->calls, v->temporary, v->most };
	return by[view];
}

/* Marks (mark[i] = 1) the first max of n values by each view: what a page of a huge log
 * keeps, so every view's largest are there. */
static int keep_ranked(const page_val_t *const *vals, size_t n, size_t max, uint8_t *mark)
{
	if (n <= max) {
		memset(mark, 1, n);
		return 0;
	}
	ranked_t *r = malloc(n * sizeof *r);
	if (!r)
		return ENOMEM;
	for (int view = 0; view < 5; view++) {
		for (size_t i = 0; i < n; i++)
			r[i] = (ranked_t){ val_of(vals[i], view), (uint32_t)i };
		qsort(r, n, sizeof *r, ranked_cmp);
		for (size_t i = 0; i < max && r[i].v; i++)
			mark[r[i].i] = 1;
	}
	free(r);
	return 0;
}

/* After the sites are sorted: which sites and stacks the page keeps, each site's stacks
 * (its call paths, largest first), and the figures of what is left out. */
static int keep_and_paths(page_t *p)
{
	const ag_log_t *log = p->log;
	size_t ns = log->nstacks;
	const page_val_t **v = malloc((ns > p->nsites ? ns : p->nsites) * sizeof *v + 1);
	uint8_t *mark = calloc(p->nsites + 1, 1);
	p->keep = calloc(ns + 1, 1);
	if (!v || !mark || !p->keep) {
		free(v);
		free(mark);
		return ENOMEM;
	}
	for (size_t i = 0; i < p->nsites; i++)
		v[i] = &p->sites[i].v;
	int rc = keep_ranked(v, p->nsites, PAGE_MAX_SITES, mark);
	for (size_t i = 0; i < p->nsites; i++)
		p->sites[i].keep = mark[i];
	for (size_t i = 0; i < ns; i++)
		v[i] = &p->val[i];
	if (!rc)
		rc = keep_ranked(v, ns, PAGE_MAX_STACKS, p->keep);
	for (size_t i = 0; i < ns; i++) {
		if (p->site_of[i] == UINT32_MAX || !p->sites[p->site_of[i]].keep)
			p->keep[i] = 0;
		if (!p->keep[i] && !nothing(&p->val[i]))
			val_add(&p->other, &p->val[i]);
	}
	for (size_t i = 0; !rc && i < p->nsites; i++) {
		const site_t *s = p->sites[i].site;
		p->sites[i].stacks = malloc((s->npaths + 1) * sizeof(uint32_t));
		rc = p->sites[i].stacks ? 0 : ENOMEM;
		for (size_t j = 0; !rc && j < s->npaths; j++)
			if (p->keep[s->paths[j].stack])
				p->sites[i].stacks[p->sites[i].nstacks++] = s->paths[j].stack;
	}
	free(v);
	free(mark);
	return rc;
}

int page_collect(const ag_log_t *log, symbols_t *sym, page_t *p)
{
	memset(p, 0, sizeof *p);
	p->log = log;
	p->sym = sym;
	int rc = report_collect(log, NULL, &p->report);
	if (rc)
		return rc;
	rc = pick_points(p);
	if (!rc)
		rc = stack_values(p);
	if (!rc)
		rc = build_sites(p);
	if (!rc)
		rc = series_pass(p);
	if (!rc)
		rc = keep_and_paths(p);
	if (!rc)
		rc = growth_collect(log, sym, &p->growth);
	if (rc)
		page_free(p);
	return rc;
}
