/* growth_view.c: `allocguard growth`'s output: a growth_t (growth.c) as JSON and as a
 * table, each site with its paths beneath and their own verdicts. */
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void json_trend(json_t *j, const growth_trend_t *x)
{
	json_key(j, "verdict");
	json_str(j, verdict_name(x->verdict));
	json_key(j, "slope_bytes_per_s");
	json_num(j, x->slope, 1);
	json_key(j, "first_bytes");
	json_u64(j, x->first);
	json_key(j, "last_bytes");
	json_u64(j, x->last);
	json_key(j, "peak_bytes");
	json_u64(j, x->peak);
}

static void json_site(json_t *j, const ag_log_t *log, symbols_t *sym, const growth_site_t *s)
{
	const ag_stack_t *rep = &log->stacks[s->stack];
	growth_trend_t own = { s->stack, s->verdict, s->slope, s->first, s->last, s->peak };
	json_trend(j, &own);
	json_key(j, "kind");
	json_str(j, site_kind_name(rep->kind));
	json_key(j, "stack");
	json_u64(j, rep->id);
	json_key(j, "stacks");
	json_arr(j);
	for (size_t k = 0; k < s->nstacks; k++)
		json_u64(j, log->stacks[s->stacks[k]].id);
	json_arr_end(j);
	json_key(j, "growing_path");
	json_bool(j, s->hidden != NULL);
	json_key(j, "with_its_function");
	json_bool(j, s->moved);
	json_key(j, "site");
	site_json_site(j, sym, rep);
	site_json_frames(j, sym, rep);
	json_key(j, "paths");
	json_arr(j);
	growth_trend_t one = own;
	const growth_trend_t *p = s->npaths ? s->paths : &one;
	for (size_t k = 0; k < (s->npaths ? s->npaths : 1); k++) {
		json_obj(j);
		json_trend(j, &p[k]);
		json_key(j, "bytes");
		json_u64(j, p[k].last);
		json_key(j, "stack");
		json_u64(j, log->stacks[p[k].stack].id);
		site_json_frames(j, sym, &log->stacks[p[k].stack]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void growth_json(const ag_log_t *log, symbols_t *sym, const growth_t *g,
			const report_opts_t *o, FILE *out)
{
	json_t j;
	json_init(&j, out);
	json_obj(&j);
	json_key(&j, "snapshots");
	json_u64(&j, g->snaps);
	json_key(&j, "duration_s");
	json_num(&j, g->duration_s, 3);
	json_key(&j, "teardown_snapshots");
	json_u64(&j, g->teardown);
	json_key(&j, "estimated");
	json_bool(&j, log_sampled(log));
	json_key(&j, "sites");
	json_arr(&j);
	for (size_t i = 0; i < g->nsites && (!o->top || i < o->top); i++) {
		json_obj(&j);
		json_site(&j, log, sym, &g->sites[i]);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_done(&j);
}

static tone_t verdict_tone(verdict_t v)
{
	return v == VERDICT_GROWING ? TONE_BAD : v == VERDICT_PLATEAU ? TONE_WARN : TONE_GOOD;
}

/* "+85.0 KiB/s growing" before a path under its site. */
static void growth_path(const void *arg, size_t k, uint32_t *stack, char *buf, size_t len)
{
	const growth_site_t *s = arg;
	char slope[40];
	rate_str(s->paths[k].slope, slope, sizeof slope);
	snprintf(buf, len, "%s %s", slope, verdict_name(s->paths[k].verdict));
	*stack = s->paths[k].stack;
}

static void growth_rows(table_t *tb, const ag_log_t *log, symbols_t *sym, const growth_t *g,
			size_t top, const site_view_t *view)
{
	size_t n = g->nsites < top ? g->nsites : top;
	const site_t **rows = calloc(n + 1, sizeof *rows);
	site_t *as = calloc(n + 1, sizeof *as);
	char *labels = malloc(n * 640 + 1);
	for (size_t i = 0; rows && as && labels && i < n; i++) {
		as[i] = (site_t){ .id = g->sites[i].id, .stack = g->sites[i].stack,
				  .kind = log->stacks[g->sites[i].stack].kind };
		rows[i] = &as[i];
	}
	if (rows && as && labels)
		sites_labels(log, sym, view, rows, n, labels, 640);
	for (size_t i = 0; rows && as && labels && i < n; i++) {
		const growth_site_t *s = &g->sites[i];
		char slope[40], first[40], last[40], peak[40], verdict[64];
		rate_str(s->slope, slope, sizeof slope);
		size_str(s->first, first, sizeof first);
		size_str(s->last, last, sizeof last);
		size_str(s->peak, peak, sizeof peak);
		snprintf(verdict, sizeof verdict, "%s%s", verdict_name(s->verdict),
			 s->hidden ? ", a path growing" : s->moved ? " with its function" : "");
		const char *cells[] = { slope, first, last, peak, verdict, labels + i * 640 };
		tone_t tones[6] = { 0 };
		tones[4] = verdict_tone(s->hidden ? VERDICT_GROWING : s->verdict);
		table_add(tb, cells, tones);
		if (s->npaths)
			site_more_each(tb, log, sym, view, s->npaths, s->nstacks, growth_path, s);
		else
			site_more(tb, sym, view, &log->stacks[s->stack]);
	}
	free(rows);
	free(as);
	free(labels);
}

static void growth_human(const ag_log_t *log, symbols_t *sym, const growth_t *g,
			 const report_opts_t *o, FILE *out)
{
	size_t top = o->top ? o->top : REPORT_DEFAULT_TOP;
	fprintf(out, "growth in %s (pid %" PRIu64 "): %zu snapshots over %.3f s\n", log->path,
		log->pid, g->snaps, g->duration_s);
	if (g->teardown)
		fprintf(out, "note: %zu snapshot%s taken while the program was exiting left out\n",
			g->teardown, g->teardown == 1 ? "" : "s");
	if (log_sampled(log))
		fprintf(out, "note: sampled every %s bytes on average: live bytes are estimates\n",
			log_option(log, "sample"));
	if (g->snaps < 4)
		fprintf(out, "note: fewer than 4 snapshots: verdicts rest on very little "
			"(use --interval for more)\n");
	size_t count[4] = { 0 }, hidden = 0;
	for (size_t i = 0; i < g->nsites; i++) {
		count[g->sites[i].verdict]++;
		hidden += g->sites[i].hidden != NULL;
	}
	fprintf(out, "%zu growing, %zu plateau, %zu flat, %zu shrinking", count[VERDICT_GROWING],
		count[VERDICT_PLATEAU], count[VERDICT_FLAT], count[VERDICT_SHRINKING]);
	if (hidden)
		fprintf(out, "; %zu more with a growing path", hidden);
	fputc('\n', out);
	if (!g->nsites)
		return;
	fputc('\n', out);
	static const char *const head[] = { "SLOPE", "FIRST", "LAST", "PEAK", "VERDICT", "SITE" };
	static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_LEFT,
					  COL_LEFT };
	table_t tb;
	table_init(&tb, 6, head, al);
	growth_rows(&tb, log, sym, g, top, &o->view);
	table_print(&tb, out, o->color);
	table_free(&tb);
	if (g->nsites > top)
		fprintf(out, "... and %zu more sites (--top N shows more)\n", g->nsites - top);
}

int growth_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out)
{
	growth_t g;
	int rc = growth_collect(log, sym, &g);
	if (rc)
		return rc;
	if (o->json)
		growth_json(log, sym, &g, o, out);
	else
		growth_human(log, sym, &g, o, out);
	growth_free(&g);
	return 0;
}
