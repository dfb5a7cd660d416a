/* growth.c: `allocguard growth`: each site's live bytes, and each of its call paths', over
 * the snapshots taken while the program ran, each judged by growth_verdict
 * (growth_verdict.c: growing, plateau, flat or shrinking).  A path growing inside a site
 * that is not is reported under its site with its own slope, and ranks the site by it, so
 * a leak at the same line as a churning cache is not averaged away.  growth_collect fills
 * a growth_t; a JSON view and a table read it.  Which snapshots are read is pick_snaps's
 * business (the program's exit is left out). */
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Teardown: a fall of the process's tracked bytes to below this fraction of their level,
 * in the last snapshots before the exit snapshot (at most this fraction of them). */
#define GROWTH_TEARDOWN_FALL 0.5
#define GROWTH_TEARDOWN_MAX 0.25
/* Bound on stacks x snapshots walked; more snapshots are thinned evenly. */
#define GROWTH_MAX_CELLS (64u << 20)

static int is_final(const ag_snap_t *s)
{
	return s->why == AG_REASON_EXIT || s->why == AG_REASON_ABORT;
}

/* Length of the teardown at the end of the running snapshots run[0..nr): the program began
 * exiting, freed most of its memory, and an interval snapshot saw it before the exit
 * snapshot did.  That is the longest suffix, within the last GROWTH_TEARDOWN_MAX of them,
 * whose tracked bytes start falling, never rise again, and end below GROWTH_TEARDOWN_FALL
 * of the level just before it.  A run that merely shrinks loses at most a few of its last
 * points, which tell the same. */
static size_t teardown_len(const ag_log_t *log, const size_t *run, size_t nr)
{
	size_t maxcut = (size_t)((double)nr * GROWTH_TEARDOWN_MAX);
	if (maxcut < 1)
		maxcut = 1;
	if (nr < 4)
		return 0;
	if (maxcut > nr - 3)
		maxcut = nr - 3;
	uint64_t last = log->snaps[run[nr - 1]].tracked;
	for (size_t j = nr - maxcut; j < nr; j++) {
		uint64_t before = log->snaps[run[j - 1]].tracked;
		if (log->snaps[run[j]].tracked >= before ||
		    (double)last >= GROWTH_TEARDOWN_FALL * (double)before)
			continue;
		size_t i = j + 1;
		while (i < nr && log->snaps[run[i]].tracked <= log->snaps[run[i - 1]].tracked)
			i++;
		if (i == nr)
			return nr - j;
	}
	return 0;
}

/* The snapshots the verdicts read: those taken while the program ran.  The exit snapshot
 * (and an abort one) shows teardown, so it is left out when 3 others remain, and so are
 * interval snapshots that caught the teardown (teardown_len).  Thinned evenly to keep
 * stacks x snapshots bounded. */
static size_t pick_snaps(const ag_log_t *log, size_t **out, growth_t *g)
{
	size_t *idx = malloc((log->nsnaps + 1) * sizeof *idx), n = 0, nfinal = 0;
	if (!idx)
		return 0;
	for (size_t i = 0; i < log->nsnaps; i++)
		if (!is_final(&log->snaps[i]))
			idx[n++] = i;
		else
			nfinal++;
	int exited = log->nsnaps && log->snaps[log->nsnaps - 1].why == AG_REASON_EXIT;
	if (n >= 3) {
		g->exit_left_out = nfinal > 0;
		if (exited) {
			g->teardown = teardown_len(log, idx, n);
			n -= g->teardown;
		}
	} else {
		n = 0;
		for (size_t i = 0; i < log->nsnaps; i++)
			idx[n++] = i;
	}
	size_t stacks = log->nstacks ? log->nstacks : 1;
	size_t max = GROWTH_MAX_CELLS / stacks;
	if (max < 2)
		max = 2;
	if (n > max) {
		for (size_t i = 0; i < max; i++)
			idx[i] = idx[(size_t)((double)i * (double)(n - 1) / (double)(max - 1) + 0.5)];
		n = max;
	}
	*out = idx;
	return n;
}

/* Each stack's changes of live bytes (L records) in snapshot order, up to the last
 * snapshot read: the series of any stack at the picked snapshots is rebuilt from them, so
 * memory follows the log's records, not stacks x snapshots. */
typedef struct {
	uint32_t snap;
	uint64_t live;
} change_t;

typedef struct {
	size_t *off;       /* stack s's changes are c[off[s] .. off[s + 1]) */
	change_t *c;
} changes_t;

static int changes_build(const ag_log_t *log, size_t last, changes_t *cx)
{
	size_t ns = log->nstacks, total = 0;
	cx->off = calloc(ns + 2, sizeof *cx->off);
	if (!cx->off)
		return ENOMEM;
	for (size_t k = 0; k <= last; k++)
		for (size_t i = 0; i < log->snaps[k].nl; i++)
			cx->off[log->snaps[k].l[i].stack + 2]++;
	for (size_t s = 0; s < ns; s++) {
		total += cx->off[s + 2];
		cx->off[s + 2] = total;
	}
	cx->c = malloc((total + 1) * sizeof *cx->c);
	if (!cx->c) {
		free(cx->off);
		return ENOMEM;
	}
	/* off[s + 1] is the fill cursor of stack s; it ends as the start of s + 1 */
	for (size_t k = 0; k <= last; k++)
		for (size_t i = 0; i < log->snaps[k].nl; i++) {
			const ag_lrec_t *l = &log->snaps[k].l[i];
			cx->c[cx->off[l->stack + 1]++] = (change_t){ (uint32_t)k, l->live_bytes };
		}
	return 0;
}

/* Add stack s's live bytes at the picked snapshots to y. */
static void changes_add(const changes_t *cx, size_t s, const size_t *pick, size_t np, double *y)
{
	size_t e = cx->off[s], end = cx->off[s + 1];
	double v = 0;
	for (size_t p = 0; p < np; p++) {
		while (e < end && cx->c[e].snap <= pick[p])
			v = (double)cx->c[e++].live;
		y[p] += v;
	}
}

static uint64_t sat_u64(double v)
{
	return v <= 0 ? 0 : v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
}

typedef struct {
	site_hash_t h;
	uint64_t peak;
	uint32_t stack;
} member_t;

static int member_cmp(const void *a, const void *b)
{
	const member_t *x = a, *y = b;
	int c = site_hash_cmp(&x->h, &y->h);
	if (c)
		return c;
	/* the biggest stack of a group represents it */
	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int gsite_cmp(const void *a, const void *b)
{
	const growth_site_t *x = a, *y = b;
	if (x->slope != y->slope)
		return x->slope > y->slope ? -1 : 1;
	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

void growth_free(growth_t *g)
{
	for (size_t i = 0; i < g->nsites; i++)
		free(g->sites[i].stacks);
	free(g->sites);
	memset(g, 0, sizeof *g);
}

/* Stacks are grouped by their chain of function names (module+offset where there is no
 * name): a pool filled at one line and topped up at another of the same function is one
 * pool, and its trend is the sum's. */
static int group_sites(const ag_log_t *log, symbols_t *sym, const changes_t *cx,
		       const size_t *pick, size_t np, const double *t, growth_t *g)
{
	size_t ns = log->nstacks, nm = 0;
	member_t *mem = calloc(ns + 1, sizeof *mem);
	double *y = calloc(np + 1, sizeof *y);
	g->sites = calloc(ns + 1, sizeof *g->sites);
	if (!mem || !y || !g->sites) {
		free(mem);
		free(y);
		return ENOMEM;
	}
	for (size_t s = 0; s < ns; s++) {
		uint64_t peak = 0;
		for (size_t e = cx->off[s]; e < cx->off[s + 1]; e++)
			if (cx->c[e].live > peak)
				peak = cx->c[e].live;
		if (!peak)
			continue;
		mem[nm].peak = peak;
		mem[nm].stack = (uint32_t)s;
		site_hash(sym, &log->stacks[s], 1, &mem[nm].h);
		nm++;
	}
	qsort(mem, nm, sizeof *mem, member_cmp);
	int rc = 0;
	for (size_t i = 0, j; i < nm; i = j) {
		for (j = i + 1; j < nm && site_hash_cmp(&mem[j].h, &mem[i].h) == 0; j++)
			;
		growth_site_t *gs = &g->sites[g->nsites];
		gs->stacks = malloc((j - i) * sizeof *gs->stacks);
		if (!gs->stacks) {
			rc = ENOMEM;
			break;
		}
		memset(y, 0, np * sizeof *y);
		for (size_t k = i; k < j; k++) {
			gs->stacks[gs->nstacks++] = mem[k].stack;
			changes_add(cx, mem[k].stack, pick, np, y);
		}
		double peak = 0;
		for (size_t p = 0; p < np; p++)
			if (y[p] > peak)
				peak = y[p];
		if (!(peak > 0)) {   /* held memory only between the snapshots read */
			free(gs->stacks);
			memset(gs, 0, sizeof *gs);
			continue;
		}
		gs->stack = mem[i].stack;
		gs->verdict = growth_verdict(t, y, np, &gs->slope);
		gs->first = sat_u64(y[0]);
		gs->last = sat_u64(y[np - 1]);
		gs->peak = sat_u64(peak);
		g->nsites++;
	}
	free(mem);
	free(y);
	return rc;
}

int growth_collect(const ag_log_t *log, symbols_t *sym, growth_t *g)
{
	memset(g, 0, sizeof *g);
	size_t *pick = NULL;
	size_t np = log->nsnaps ? pick_snaps(log, &pick, g) : 0;
	if (!np) {
		free(pick);
		return log->nsnaps ? ENOMEM : 0;
	}
	double *t = calloc(np, sizeof *t);
	changes_t cx = { 0 };
	int rc = t ? changes_build(log, pick[np - 1], &cx) : ENOMEM;
	if (!rc) {
		for (size_t p = 0; p < np; p++)
			t[p] = (double)log->snaps[pick[p]].t_ns / 1e9;
		g->snaps = np;
		g->duration_s = t[np - 1] - t[0];
		rc = group_sites(log, sym, &cx, pick, np, t, g);
	}
	if (!rc)
		qsort(g->sites, g->nsites, sizeof *g->sites, gsite_cmp);
	else
		growth_free(g);
	free(cx.off);
	free(cx.c);
	free(t);
	free(pick);
	return rc;
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
		const growth_site_t *s = &g->sites[i];
		json_obj(&j);
		json_key(&j, "verdict");
		json_str(&j, verdict_name(s->verdict));
		json_key(&j, "slope_bytes_per_s");
		json_num(&j, s->slope, 1);
		json_key(&j, "first_bytes");
		json_u64(&j, s->first);
		json_key(&j, "last_bytes");
		json_u64(&j, s->last);
		json_key(&j, "peak_bytes");
		json_u64(&j, s->peak);
		json_key(&j, "kind");
		json_str(&j, site_kind_name(log->stacks[s->stack].kind));
		json_key(&j, "stack");
		json_u64(&j, log->stacks[s->stack].id);
		json_key(&j, "stacks");
		json_arr(&j);
		for (size_t k = 0; k < s->nstacks; k++)
			json_u64(&j, log->stacks[s->stacks[k]].id);
		json_arr_end(&j);
		site_json_frames(&j, sym, &log->stacks[s->stack]);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	json_done(&j);
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
	size_t count[4] = { 0 };
	for (size_t i = 0; i < g->nsites; i++)
		count[g->sites[i].verdict]++;
	fprintf(out, "%zu growing, %zu plateau, %zu flat, %zu shrinking\n",
		count[VERDICT_GROWING], count[VERDICT_PLATEAU], count[VERDICT_FLAT],
		count[VERDICT_SHRINKING]);
	if (!g->nsites)
		return;
	fputc('\n', out);
	static const char *const head[] = { "SLOPE", "FIRST", "LAST", "PEAK", "VERDICT", "SITE" };
	static const col_align_t al[] = { COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_RIGHT, COL_LEFT,
					  COL_LEFT };
	table_t tb;
	table_init(&tb, 6, head, al);
	for (size_t i = 0; i < g->nsites && i < top; i++) {
		const growth_site_t *s = &g->sites[i];
		const ag_stack_t *rep = &log->stacks[s->stack];
		const ag_stack_t **all = malloc(s->nstacks * sizeof *all);
		if (!all)
			break;
		for (size_t k = 0; k < s->nstacks; k++)
			all[k] = &log->stacks[s->stacks[k]];
		char slope[40], first[40], last[40], peak[40], label[600];
		rate_str(s->slope, slope, sizeof slope);
		size_str(s->first, first, sizeof first);
		size_str(s->last, last, sizeof last);
		size_str(s->peak, peak, sizeof peak);
		site_group_label(sym, rep, all, s->nstacks, label, sizeof label);
		const char *cells[] = { slope, first, last, peak, verdict_name(s->verdict), label };
		tone_t tones[6] = { 0 };
		tones[4] = s->verdict == VERDICT_GROWING ? TONE_BAD
			 : s->verdict == VERDICT_PLATEAU ? TONE_WARN : TONE_GOOD;
		table_add(&tb, cells, tones);
		site_group_more(&tb, sym, rep, all, s->nstacks);
		free(all);
	}
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
