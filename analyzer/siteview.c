/* siteview.c: how a site of the model (sites.h) is written: its JSON entry ("site",
 * "frames", "paths"), its row label made distinct from the other rows, and its call paths
 * under the row, each told apart from the others shown.  Folding is fold.c's. */
#include "sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A stack's frames and which of them folding keeps (at most OWN_MAX), in a heap block:
 * a stack may hold a thousand expanded frames. */
#define OWN_MAX 64
typedef struct {
	fold_frame_t fr[AG_FOLD_MAX_FRAMES];
	uint32_t own[OWN_MAX];
	size_t nfr, nown;
} walk_t;

static walk_t *walk_of(symbols_t *sym, const site_view_t *view, const ag_stack_t *st,
		       unsigned frames)
{
	walk_t *w = malloc(sizeof *w);
	if (!w)
		return NULL;
	fold_opts_t o = view->fold;
	o.frames = frames;
	w->nfr = fold_expand_shown(sym, st, w->fr, AG_FOLD_MAX_FRAMES, &o, OWN_MAX);
	w->nown = fold_shown(w->fr, w->nfr, &o, w->own, OWN_MAX);
	return w;
}

static void frame_json_value(json_t *j, const fold_frame_t *x)
{
	ag_frame_t bare = { .address = x->addr };
	json_obj(j);
	site_json_frame_fields(j, x->f ? x->f : &bare);
	json_obj_end(j);
}

void site_json_site(json_t *j, symbols_t *sym, const ag_stack_t *st)
{
	static const fold_opts_t first = { 1, 0 };
	fold_frame_t *fr = malloc(AG_FOLD_MAX_FRAMES * sizeof *fr);
	uint32_t at;
	size_t nfr = fr ? fold_expand_shown(sym, st, fr, AG_FOLD_MAX_FRAMES, &first, 1) : 0;
	if (fr && fold_shown(fr, nfr, &first, &at, 1))
		frame_json_value(j, &fr[at]);
	else
		json_null(j);
	free(fr);
}

void site_json(json_t *j, const ag_log_t *log, symbols_t *sym, const site_t *s,
	       size_t max_paths)
{
	const ag_stack_t *rep = &log->stacks[s->stack];
	json_key(j, "kind");
	json_str(j, site_kind_name(s->kind));
	json_key(j, "site");
	site_json_site(j, sym, rep);
	site_json_frames(j, sym, rep);
	json_key(j, "stacks");
	json_u64(j, s->npaths);
	json_key(j, "paths");
	json_arr(j);
	for (size_t k = 0; k < s->npaths && (!max_paths || k < max_paths); k++) {
		json_obj(j);
		json_key(j, "bytes");
		json_u64(j, s->paths[k].fig.bytes);
		json_key(j, "count");
		json_u64(j, s->paths[k].fig.count);
		json_key(j, "stack");
		json_u64(j, log->stacks[s->paths[k].stack].id);
		if (s->sizes) {   /* the set has sizes (sites_sizes): each path has its own */
			const ag_sizehist_t *h = log_stack_sizes(log, s->paths[k].stack);
			sizes_json(j, h ? h->bins : NULL, h ? h->nbins : 0);
		}
		site_json_frames(j, sym, &log->stacks[s->paths[k].stack]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* What sets a site frame apart when its label reads like another's: where its code is
 * ("in /srv/a/app.js", "in libx.so+0x1d6"). */
static void site_where(symbols_t *sym, const site_view_t *view, const ag_stack_t *st,
		       char *buf, size_t len)
{
	walk_t *w = walk_of(sym, view, st, 1);
	buf[0] = '\0';
	if (w && w->nown && w->fr[w->own[0]].f) {
		const ag_frame_t *f = w->fr[w->own[0]].f;
		const char *mod = f->module ? strrchr(f->module, '/') : NULL;
		if (f->path)
			snprintf(buf, len, " in %s", f->path);
		else
			snprintf(buf, len, " in %s+0x%" PRIx64, mod ? mod + 1 : f->module ? f->module : "?",
				 f->offset);
	} else if (w && w->nown) {
		snprintf(buf, len, " at 0x%" PRIx64, w->fr[w->own[0]].addr);
	}
	free(w);
}

void sites_labels(const ag_log_t *log, symbols_t *sym, const site_view_t *view,
		  const site_t *const *sites, size_t n, char *labels, size_t len)
{
	for (size_t i = 0; i < n; i++)
		site_label_kind(sym, view, &log->stacks[sites[i]->stack], labels + i * len, len,
				len < 600 ? len : 600);
	/* rows are few (--top): comparing each pair is cheap */
	char *same = calloc(n + 1, 1);
	for (size_t i = 0; same && i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			if (sites[i]->id != sites[k]->id &&
			    strcmp(labels + i * len, labels + k * len) == 0)
				same[i] = same[k] = 1;
	for (size_t i = 0; same && i < n; i++) {
		if (!same[i])
			continue;
		char where[400];
		char *l = labels + i * len;
		site_where(sym, view, &log->stacks[sites[i]->stack], where, sizeof where);
		size_t m = strlen(l);
		if (m < len)
			snprintf(l + m, len - m, "%s", where);
	}
	free(same);
}

/* Key of a walk's own frame k (or, past its own frames, nothing). */
static void own_key(const walk_t *w, size_t k, char *buf, size_t len)
{
	buf[0] = '\0';
	if (k >= w->nown)
		return;
	const fold_frame_t *x = &w->fr[w->own[k]];
	if (x->f)
		fold_frame_key(x->f, buf, len);
	else
		snprintf(buf, len, "node@%" PRIx64, x->addr);
}

/* The first own frame, from shown on, where walk a differs from walk b: by key (function,
 * file, line), else by address (two calls of one function without line numbers); nown
 * when none. */
static size_t first_difference(const walk_t *a, const walk_t *b, size_t from)
{
	char ka[1100], kb[1100];
	for (size_t k = from; k < a->nown; k++) {
		own_key(a, k, ka, sizeof ka);
		own_key(b, k, kb, sizeof kb);
		if (strcmp(ka, kb) != 0)
			return k;
	}
	for (size_t k = from; k < a->nown && k < b->nown; k++)
		if (a->fr[a->own[k]].addr != b->fr[b->own[k]].addr)
			return k;
	return a->nown;
}

static void path_line(const walk_t *w, size_t shown, size_t extra, const char *value,
		      char *line, size_t len)
{
	char buf[600];
	size_t o = (size_t)snprintf(line, len, "%s", value);
	for (size_t k = 1; k < shown && k < w->nown && o < len; k++) {
		fold_shown_human(&w->fr[w->own[k]], buf, sizeof buf);
		o += (size_t)snprintf(line + o, len - o, " from %s", buf);
	}
	if (extra < w->nown && o < len) {
		fold_shown_human(&w->fr[w->own[extra]], buf, sizeof buf);
		snprintf(line + o, len - o, "%s from %s", extra > shown ? " ..." : "", buf);
	}
	if (w->nown <= 1 && o < len)
		snprintf(line + o, len - o, " (called directly)");
}

static void path_value(const site_path_t *p, site_order_t order, char *buf, size_t len)
{
	if (order == SITES_BY_BYTES)
		size_str(p->fig.bytes, buf, len);
	else
		snprintf(buf, len, "%" PRIu64, site_fig_by(&p->fig, order));
}

static void site_more_stacks(table_t *t, const ag_log_t *log, symbols_t *sym,
			     const site_view_t *view, const uint32_t *stacks,
			     const char *const *values, size_t n, size_t total)
{
	unsigned frames = view->fold.frames ? view->fold.frames : FOLD_DEFAULT_FRAMES;
	walk_t **w = calloc(n + 1, sizeof *w);
	for (size_t i = 0; w && i < n; i++)
		w[i] = walk_of(sym, view, &log->stacks[stacks[i]], OWN_MAX);
	for (size_t i = 0; w && i < n; i++) {
		if (!w[i])
			continue;
		/* shown: the row's frames; extra: the frame that tells this path apart from
		 * another shown one whose frames shown read the same */
		size_t extra = (size_t)-1;
		for (size_t k = 0; k < n; k++) {
			if (k == i || !w[k] || first_difference(w[i], w[k], 1) < frames)
				continue;
			size_t d = first_difference(w[i], w[k], frames);
			if (d < w[i]->nown && (extra == (size_t)-1 || d > extra))
				extra = d;
		}
		char line[1400];
		path_line(w[i], frames, extra, values[i], line, sizeof line);
		table_more(t, line);
	}
	for (size_t i = 0; w && i < n; i++)
		free(w[i]);
	free(w);
	if (total > n) {
		char line[120];
		snprintf(line, sizeof line, "... and %zu more paths (--paths N shows more)",
			 total - n);
		table_more(t, line);
	}
}

#define EACH_MAX 64

void site_more_each(table_t *t, const ag_log_t *log, symbols_t *sym, const site_view_t *view,
		    size_t npaths, size_t total, site_path_fn each, const void *arg)
{
	size_t max = view->paths ? view->paths : SITES_DEFAULT_PATHS;
	size_t n = npaths < max ? npaths : max;
	uint32_t stacks[EACH_MAX];
	char value[EACH_MAX][64];
	const char *values[EACH_MAX];
	if (n > EACH_MAX)
		n = EACH_MAX;
	for (size_t k = 0; k < n; k++) {
		each(arg, k, &stacks[k], value[k], sizeof value[k]);
		values[k] = value[k];
	}
	site_more_stacks(t, log, sym, view, stacks, values, n, total);
}

typedef struct {
	const site_t *s;
	site_order_t order;
} by_order_t;

static void path_of_site(const void *arg, size_t k, uint32_t *stack, char *buf, size_t len)
{
	const by_order_t *x = arg;
	*stack = x->s->paths[k].stack;
	path_value(&x->s->paths[k], x->order, buf, len);
}

void site_more_paths(table_t *t, const ag_log_t *log, symbols_t *sym, const site_view_t *view,
		     const site_t *s, site_order_t order)
{
	size_t shown = 0;   /* paths that hold some of the row's figure */
	while (shown < s->npaths && site_fig_by(&s->paths[shown].fig, order))
		shown++;
	if (order == SITES_BY_BYTES)
		while (shown < s->npaths && (s->paths[shown].fig.bytes || s->paths[shown].fig.count))
			shown++;
	if (shown <= 1) {
		site_more(t, sym, view, &log->stacks[s->paths[0].stack]);
		return;
	}
	by_order_t x = { s, order };
	site_more_each(t, log, sym, view, shown, shown, path_of_site, &x);
}

/* The figure columns of a row, by the table's order. */
static void row_cells(const site_t *s, site_order_t order, char *a, char *b, size_t len)
{
	switch (order) {
	case SITES_BY_BYTES:
		size_str(s->fig.bytes, a, len);
		snprintf(b, len, "%" PRIu64, s->fig.count);
		return;
	case SITES_BY_CALLS:
		snprintf(a, len, "%" PRIu64, s->fig.calls);
		snprintf(b, len, "%" PRIu64, s->fig.temporary);
		return;
	case SITES_BY_TEMPORARY:
		snprintf(a, len, "%" PRIu64, s->fig.temporary);
		snprintf(b, len, "%" PRIu64, s->fig.calls);
		return;
	}
}

static int row_shown(const site_t *s, site_order_t order)
{
	return order == SITES_BY_BYTES ? s->fig.bytes || s->fig.count : site_fig_by(&s->fig, order);
}

void sites_table(FILE *out, int color, const ag_log_t *log, symbols_t *sym,
		 const site_view_t *view, const site_set_t *set, size_t top, site_order_t order,
		 const char *title)
{
	static const char *const heads[][3] = {
		[SITES_BY_BYTES] = { "BYTES", "BLOCKS", "SITE" },
		[SITES_BY_CALLS] = { "CALLS", "TEMPORARY", "SITE" },
		[SITES_BY_TEMPORARY] = { "TEMPORARY", "CALLS", "SITE" },
	};
	static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_LEFT };
	size_t n = 0, more = 0;
	while (n < set->nsites && row_shown(&set->sites[n], order))
		n++;
	if (!n)
		return;
	if (n > top) {
		more = n - top;
		n = top;
	}
	const site_t **rows = calloc(n, sizeof *rows);
	char *labels = malloc(n * 640);
	if (!rows || !labels) {
		free(rows);
		free(labels);
		return;
	}
	for (size_t i = 0; i < n; i++)
		rows[i] = &set->sites[i];
	sites_labels(log, sym, view, rows, n, labels, 640);
	fprintf(out, "\n%s:\n", title);
	table_t t;
	table_init(&t, 3, heads[order], al);
	for (size_t i = 0; i < n; i++) {
		char a[40], b[40];
		row_cells(rows[i], order, a, b, sizeof a);
		const char *cells[] = { a, b, labels + i * 640 };
		table_add(&t, cells, NULL);
		if (order == SITES_BY_CALLS && rows[i]->nsizes) {
			char z[200];
			sizes_summary(rows[i]->sizes, rows[i]->nsizes, z, sizeof z);
			table_more(&t, z);
		}
		site_more_paths(&t, log, sym, view, rows[i], order);
	}
	table_print(&t, out, color);
	table_free(&t);
	if (more)
		fprintf(out, "... and %zu more sites (--top N shows more)\n", more);
	free(rows);
	free(labels);
}
