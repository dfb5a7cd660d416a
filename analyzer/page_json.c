/* page_json.c: the data the page embeds, as one compact JSON object (page.h's model).
 * Frame names are written once, in "names", and stacks refer to them by index, root first
 * (a flame graph's order); the page's scripts read only this. */
#include "exports.h"
#include "page.h"
#include "sites.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Frame names interned: each distinct name once, stacks hold indexes. */
typedef struct {
	char **names;
	size_t n, cap;
	htab_t index;                /* hash of a name -> its index in names */
} names_t;

/* The index of name, added when new; -1 on ENOMEM. */
static long names_add(names_t *t, const char *name)
{
	uint64_t h = htab_str(name, 0), v;
	for (size_t pos = HTAB_START; htab_find(&t->index, h, &pos, &v);)
		if (strcmp(t->names[v], name) == 0)
			return (long)v;
	char *copy = strdup(name);
	if (!copy || ag_grow((void **)&t->names, &t->cap, t->n + 1, sizeof *t->names) ||
	    htab_put(&t->index, h, t->n)) {
		free(copy);
		return -1;
	}
	t->names[t->n] = copy;
	return (long)t->n++;
}

static void names_free(names_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	htab_free(&t->index);
}

typedef struct {
	json_t j;
	const page_t *p;
	names_t names;
	fold_frame_t *fr;            /* AG_FOLD_MAX_FRAMES, reused per stack */
	int failed;
} pj_t;

/* `plot` takes no --frames, --all-frames or --paths: the page shows sites as the reports
 * do by default. */
static const site_view_t page_view = SITE_VIEW_DEFAULT;

static void num(pj_t *w, const char *key, uint64_t v)
{
	json_key(&w->j, key);
	json_u64(&w->j, v);
}

/* A stack's frames for the flame graphs, root first: the program's own (every frame with
 * --all-frames, or when all of them are runtime), a "[mmap]"/"[swap]" root for mappings. */
static void stack_frames(pj_t *w, const ag_stack_t *st)
{
	size_t n = fold_expand(w->p->sym, st, w->fr, AG_FOLD_MAX_FRAMES), own = 0;
	int all = page_view.fold.all;
	for (size_t k = 0; k < n; k++)
		own += w->fr[k].f && !fold_is_runtime(w->fr[k].f);
	json_key(&w->j, "f");
	json_arr(&w->j);
	if (st->kind != AG_KIND_HEAP) {
		char root[16];
		snprintf(root, sizeof root, "[%s]", site_kind_name(st->kind));
		json_i64(&w->j, names_add(&w->names, root));
	}
	for (size_t k = n; k-- > 0;) {
		if (!all && own && (!w->fr[k].f || fold_is_runtime(w->fr[k].f)))
			continue;
		char name[600];
		fold_shown_human(&w->fr[k], name, sizeof name);
		long id = names_add(&w->names, name);
		w->failed |= id < 0;
		json_i64(&w->j, id);
	}
	json_arr_end(&w->j);
}

static void values(pj_t *w, const page_val_t *v)
{
	num(w, "peak", v->peak);
	num(w, "peak_count", v->peak_count);
	num(w, "last", v->last);
	num(w, "last_count", v->last_count);
	num(w, "calls", v->calls);
	if (w->p->temporary)
		num(w, "temporary", v->temporary);
	num(w, "most", v->most);
}

/* Kept stacks, numbered in the order written (ids[i]); the stacks left out as one. */
static void stacks(pj_t *w, uint32_t *ids)
{
	const page_t *p = w->p;
	uint32_t next = 0;
	json_key(&w->j, "stacks");
	json_arr(&w->j);
	for (size_t i = 0; i < p->log->nstacks; i++) {
		if (!p->keep[i])
			continue;
		ids[i] = next++;
		json_obj(&w->j);
		stack_frames(w, &p->log->stacks[i]);
		values(w, &p->val[i]);
		json_obj_end(&w->j);
	}
	json_arr_end(&w->j);
	json_key(&w->j, "other");
	json_obj(&w->j);
	values(w, &p->other);
	json_obj_end(&w->j);
}

/* The site's shown frames as report prints them (its label, then "from" lines), and the
 * site's frame as every report writes it ("site"). */
static void site_where(pj_t *w, const ag_stack_t *st)
{
	const fold_opts_t *o = &page_view.fold;
	uint32_t idx[64];
	size_t n = fold_expand(w->p->sym, st, w->fr, AG_FOLD_MAX_FRAMES);
	size_t ns = fold_shown(w->fr, n, o, idx, 64);
	json_key(&w->j, "shown");
	json_arr(&w->j);
	for (size_t k = 0; k < ns; k++) {
		char name[600];
		fold_shown_human(&w->fr[idx[k]], name, sizeof name);
		json_str(&w->j, name);
	}
	json_arr_end(&w->j);
	json_key(&w->j, "site");
	site_json_site(&w->j, w->p->sym, st);
}

static void site(pj_t *w, const page_site_t *s, const uint32_t *ids, const char *label)
{
	const ag_stack_t *st = &w->p->log->stacks[s->site->stack];
	json_obj(&w->j);
	json_key(&w->j, "label");
	json_str(&w->j, label);
	json_key(&w->j, "kind");
	json_str(&w->j, site_kind_name(st->kind));
	site_where(w, st);
	values(w, &s->v);
	json_key(&w->j, "paths");
	json_arr(&w->j);
	for (size_t k = 0; k < s->nstacks; k++)
		json_u64(&w->j, ids[s->stacks[k]]);
	json_arr_end(&w->j);
	num(w, "npaths", s->site->npaths);
	json_key(&w->j, "sizes");   /* [[bucket, calls]...], null when the log has none */
	if (w->p->set.have_sizes) {
		json_arr(&w->j);
		for (uint32_t k = 0; k < s->site->nsizes; k++) {
			json_arr(&w->j);
			json_u64(&w->j, s->site->sizes[k].bucket);
			json_u64(&w->j, s->site->sizes[k].count);
			json_arr_end(&w->j);
		}
		json_arr_end(&w->j);
	} else {
		json_null(&w->j);
	}
	json_key(&w->j, "series");
	if (s->series) {
		json_arr(&w->j);
		for (size_t k = 0; k < w->p->npts; k++)
			json_num(&w->j, s->series[k], 0);
		json_arr_end(&w->j);
	} else {
		json_null(&w->j);
	}
	json_obj_end(&w->j);
}

#define PAGE_LABEL 640

/* The kept sites, labelled as report labels its rows (sites_labels: two never read the
 * same); row[i] is site i's place on the page. */
static int sites(pj_t *w, const uint32_t *ids, uint32_t *row)
{
	const page_t *p = w->p;
	size_t n = 0;
	const site_t **kept = malloc((p->nsites + 1) * sizeof *kept);
	char *labels = malloc((p->nsites + 1) * PAGE_LABEL);
	if (!kept || !labels) {
		free(kept);
		free(labels);
		return ENOMEM;
	}
	for (size_t i = 0; i < p->nsites; i++) {
		row[i] = p->sites[i].keep ? (uint32_t)n : UINT32_MAX;
		if (p->sites[i].keep)
			kept[n++] = p->sites[i].site;
	}
	sites_labels(p->log, p->sym, &page_view, kept, n, labels, PAGE_LABEL);
	json_key(&w->j, "sites");
	json_arr(&w->j);
	for (size_t i = 0; i < p->nsites; i++)
		if (row[i] != UINT32_MAX)
			site(w, &p->sites[i], ids, labels + (size_t)row[i] * PAGE_LABEL);
	json_arr_end(&w->j);
	free(kept);
	free(labels);
	return 0;
}

/* One judged series: its verdict, slope and figures. */
static void trend(pj_t *w, verdict_t v, double slope, uint64_t first, uint64_t last,
		  uint64_t peak)
{
	json_key(&w->j, "verdict");
	json_str(&w->j, verdict_name(v));
	json_key(&w->j, "slope_bytes_per_s");
	json_num(&w->j, slope, 1);
	num(w, "first_bytes", first);
	num(w, "last_bytes", last);
	num(w, "peak_bytes", peak);
}

/* Growth's sites, steepest first, each with its row on the page and, for a site of several
 * paths, each path's own verdict (a growing one hidden in a site that is not, first). */
static void growth(pj_t *w, const uint32_t *row, const uint32_t *ids)
{
	const page_t *p = w->p;
	const growth_t *g = &p->growth;
	json_key(&w->j, "growth");
	json_obj(&w->j);
	num(w, "snapshots", g->snaps);
	json_key(&w->j, "duration_s");
	json_num(&w->j, g->duration_s, 3);
	json_key(&w->j, "sites");
	json_arr(&w->j);
	for (size_t i = 0; i < g->nsites && i < PAGE_MAX_GROWTH; i++) {
		const growth_site_t *s = &g->sites[i];
		char label[700];
		site_label_kind(p->sym, &page_view, &p->log->stacks[s->stack], label, sizeof label, 600);
		json_obj(&w->j);
		json_key(&w->j, "label");
		json_str(&w->j, label);
		trend(w, s->verdict, s->slope, s->first, s->last, s->peak);
		uint32_t at = p->site_of[s->stack];
		json_key(&w->j, "row");
		if (at != UINT32_MAX && row[at] != UINT32_MAX)
			json_u64(&w->j, row[at]);
		else
			json_null(&w->j);
		json_key(&w->j, "hidden");
		json_bool(&w->j, s->hidden != NULL);
		json_key(&w->j, "paths");
		json_arr(&w->j);
		for (size_t k = 0; k < s->npaths; k++) {
			const growth_trend_t *t = &s->paths[k];
			json_obj(&w->j);
			trend(w, t->verdict, t->slope, t->first, t->last, t->peak);
			json_key(&w->j, "stack");
			if (p->keep[t->stack])
				json_u64(&w->j, ids[t->stack]);
			else
				json_null(&w->j);
			json_obj_end(&w->j);
		}
		json_arr_end(&w->j);
		json_obj_end(&w->j);
	}
	json_arr_end(&w->j);
	json_obj_end(&w->j);
}

static void head(pj_t *w)
{
	const page_t *p = w->p;
	const report_t *r = &p->report;
	const ag_log_t *log = p->log;
	json_key(&w->j, "command");
	json_str(&w->j, r->command);
	num(w, "pid", log->pid);
	json_key(&w->j, "log");
	json_str(&w->j, log->path);
	num(w, "snapshots", r->snapshots);
	json_key(&w->j, "duration_s");
	json_num(&w->j, r->duration_s, 3);
	json_key(&w->j, "sampled");
	json_bool(&w->j, r->sampled);
	json_key(&w->j, "peak_exact");
	json_bool(&w->j, p->peak_exact);
	json_key(&w->j, "temporary");
	json_bool(&w->j, p->temporary);
	json_key(&w->j, "peak");
	json_obj(&w->j);
	num(w, "bytes", r->peak.bytes);
	num(w, "heap", r->peak.heap);
	num(w, "mapped", r->peak.mapped);
	num(w, "swapped", r->peak.swapped);
	json_obj_end(&w->j);
	json_key(&w->j, "final");
	json_obj(&w->j);
	num(w, "bytes", r->final.bytes);
	json_key(&w->j, "reason");
	json_str(&w->j, r->final.reason);
	json_obj_end(&w->j);
	json_key(&w->j, "cap");
	json_obj(&w->j);
	num(w, "bytes", r->cap.bytes);
	num(w, "warn_pct", r->cap.warn_pct);
	num(w, "critical_pct", r->cap.critical_pct);
	json_key(&w->j, "events");
	json_arr(&w->j);
	for (size_t i = 0; i < r->nevents; i++) {
		json_obj(&w->j);
		json_key(&w->j, "kind");
		json_str(&w->j, ag_cap_event_name(r->events[i].kind));
		json_key(&w->j, "t_s");
		json_num(&w->j, (double)r->events[i].t_ns / 1e9, 3);
		num(w, "bytes", r->events[i].bytes);
		json_obj_end(&w->j);
	}
	json_arr_end(&w->j);
	json_obj_end(&w->j);
}

/* Tracked bytes and their split at each point, and the peak so far. */
static void series(pj_t *w)
{
	const page_t *p = w->p;
	static const char *const key[] = { "t", "tracked", "heap", "mapped", "swapped", "peak",
					   "live" };
	json_key(&w->j, "series");
	json_obj(&w->j);
	for (size_t s = 0; s < sizeof key / sizeof key[0]; s++) {
		json_key(&w->j, key[s]);
		json_arr(&w->j);
		uint64_t most = 0;
		for (size_t k = 0; k < p->npts; k++) {
			const ag_snap_t *sn = &p->log->snaps[p->pick[k]];
			uint64_t v[7] = { 0, sn->tracked, sn->heap, sn->mapped, sn->swapped,
					 sn->peak_tracked > most ? sn->peak_tracked : most };
			most = v[5];
			if (s == 0)
				json_num(&w->j, (double)sn->t_ns / 1e9, 3);
			else if (s == 6)
				json_num(&w->j, p->live[k], 0);
			else
				json_u64(&w->j, v[s]);
		}
		json_arr_end(&w->j);
	}
	json_obj_end(&w->j);
}

int page_json(const page_t *p, FILE *out)
{
	pj_t *w = calloc(1, sizeof *w);
	uint32_t *ids = calloc(p->log->nstacks + 1, sizeof *ids);
	uint32_t *row = calloc(p->nsites + 1, sizeof *row);
	fold_frame_t *fr = malloc(AG_FOLD_MAX_FRAMES * sizeof *fr);
	if (!w || !ids || !row || !fr) {
		free(w);
		free(ids);
		free(row);
		free(fr);
		return ENOMEM;
	}
	w->p = p;
	w->fr = fr;
	json_init(&w->j, out);
	json_compact(&w->j);
	json_obj(&w->j);
	head(w);
	series(w);
	stacks(w, ids);
	int rc = sites(w, ids, row);
	growth(w, row, ids);
	json_key(&w->j, "names");
	json_arr(&w->j);
	for (size_t i = 0; i < w->names.n; i++)
		json_str(&w->j, w->names.names[i]);
	json_arr_end(&w->j);
	json_obj_end(&w->j);
	json_done(&w->j);
	rc = rc ? rc : w->failed ? ENOMEM : ferror(out) ? EIO : 0;
	names_free(&w->names);
	free(w);
	free(ids);
	free(row);
	free(fr);
	return rc;
}
