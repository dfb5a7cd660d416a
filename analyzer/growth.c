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

/* A path's series at the picked snapshots, and its peak there. */
typedef struct {
	uint32_t stack;
	uint64_t peak;
} member_t;

static int member_cmp(const void *a, const void *b)
{
	const member_t *x = a, *y = b;
	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static double rank_of(const growth_site_t *s)
{
	return s->hidden && s->hidden->slope > s->slope ? s->hidden->slope : s->slope;
}

static int gsite_cmp(const void *a, const void *b)
{
	const growth_site_t *x = a, *y = b;
	double rx = rank_of(x), ry = rank_of(y);
	if (rx != ry)
		return rx > ry ? -1 : 1;
	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int trend_cmp(const void *a, const void *b)
{
	const growth_trend_t *x = a, *y = b;
	if (x->slope != y->slope)
		return x->slope > y->slope ? -1 : 1;
	if (x->peak != y->peak)
		return x->peak > y->peak ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

void growth_free(growth_t *g)
{
	for (size_t i = 0; i < g->nsites; i++) {
		free(g->sites[i].stacks);
		free(g->sites[i].paths);
	}
	free(g->sites);
	memset(g, 0, sizeof *g);
}

/* The series being judged: its times, and a buffer for its live bytes. */
typedef struct {
	const changes_t *cx;
	const size_t *pick;
	size_t np;
	const double *t;
	double *y;
} series_t;

/* Judge y (filled): 0, or 1 when it held nothing at the snapshots read. */
static int judge(const series_t *x, uint32_t stack, growth_trend_t *out)
{
	double peak = 0;
	for (size_t p = 0; p < x->np; p++)
		if (x->y[p] > peak)
			peak = x->y[p];
	if (!(peak > 0))
		return 1;
	out->stack = stack;
	out->verdict = growth_verdict(x->t, x->y, x->np, &out->slope);
	out->first = sat_u64(x->y[0]);
	out->last = sat_u64(x->y[x->np - 1]);
	out->peak = sat_u64(peak);
	return 0;
}

/* Growth offset by its siblings: the shrinking ones' slopes add up to at least this much
 * of it, the other way (memory moved from one line or path to another, not gained). */
#define GROWTH_OFFSET 0.5

/* Is growing series x offset by the shrinking ones among others[0..n)? */
static int offset_by(const growth_trend_t *x, const growth_trend_t *others, size_t n)
{
	double down = 0;
	for (size_t k = 0; k < n; k++)
		if (&others[k] != x && others[k].verdict == VERDICT_SHRINKING)
			down += others[k].slope;
	return x->verdict == VERDICT_GROWING && -down >= GROWTH_OFFSET * x->slope;
}

/* Paths judged on their own: at most this many per site, the biggest. */
#define GROWTH_MAX_PATHS 64

/* Site gs of paths m[0..n) (biggest first): its own series, then each path's. */
static int judge_site(const series_t *x, const member_t *m, size_t n, growth_site_t *gs)
{
	gs->stacks = malloc(n * sizeof *gs->stacks);
	size_t np = n > 1 ? (n < GROWTH_MAX_PATHS ? n : GROWTH_MAX_PATHS) : 0;
	gs->paths = np ? calloc(np, sizeof *gs->paths) : NULL;
	if (!gs->stacks || (np && !gs->paths))
		return ENOMEM;
	memset(x->y, 0, x->np * sizeof *x->y);
	for (size_t k = 0; k < n; k++) {
		gs->stacks[gs->nstacks++] = m[k].stack;
		changes_add(x->cx, m[k].stack, x->pick, x->np, x->y);
	}
	growth_trend_t own;
	if (judge(x, m[0].stack, &own))
		return 1;
	gs->stack = own.stack;
	gs->verdict = own.verdict;
	gs->slope = own.slope;
	gs->first = own.first;
	gs->last = own.last;
	gs->peak = own.peak;
	for (size_t k = 0; k < np; k++) {
		memset(x->y, 0, x->np * sizeof *x->y);
		changes_add(x->cx, m[k].stack, x->pick, x->np, x->y);
		if (!judge(x, m[k].stack, &gs->paths[gs->npaths]))
			gs->npaths++;
	}
	if (gs->npaths)   /* paths may be NULL: qsort of NULL is undefined */
		qsort(gs->paths, gs->npaths, sizeof *gs->paths, trend_cmp);
	if (gs->verdict != VERDICT_GROWING && gs->npaths &&
	    !offset_by(&gs->paths[0], gs->paths, gs->npaths))
		gs->hidden = &gs->paths[0];
	return 0;
}

static int weigh_functions(const ag_log_t *log, symbols_t *sym, const series_t *x,
			   growth_t *g);

/* Stacks are grouped by site (sites.h); a site's trend is its paths' sum, and each path
 * of a site of several is judged too. */
static int group_sites(const ag_log_t *log, symbols_t *sym, const changes_t *cx,
		       const size_t *pick, size_t np, const double *t, growth_t *g)
{
	size_t ns = log->nstacks, nm = 0;
	uint32_t *of = sites_of(log, sym);
	member_t *mem = calloc(ns + 1, sizeof *mem);
	double *y = calloc(np + 1, sizeof *y);
	g->sites = calloc(ns + 1, sizeof *g->sites);
	int rc = of && mem && y && g->sites ? 0 : ENOMEM;
	for (size_t s = 0; !rc && s < ns; s++) {
		uint64_t peak = 0;
		for (size_t e = cx->off[s]; e < cx->off[s + 1]; e++)
			if (cx->c[e].live > peak)
				peak = cx->c[e].live;
		if (peak)
			mem[nm++] = (member_t){ (uint32_t)s, peak };
	}
	if (!rc)
		qsort(mem, nm, sizeof *mem, member_cmp);
	/* members laid out site by site, each site's biggest first: count, place */
	size_t *start = rc ? NULL : calloc(ns + 2, sizeof *start);
	member_t *by = rc ? NULL : malloc((nm + 1) * sizeof *by);
	if (!rc && (!start || !by))
		rc = ENOMEM;
	for (size_t i = 0; !rc && i < nm; i++)
		start[of[mem[i].stack] + 2]++;
	for (size_t k = 0; !rc && k < ns; k++)
		start[k + 2] += start[k + 1];
	for (size_t i = 0; !rc && i < nm; i++)
		by[start[of[mem[i].stack] + 1]++] = mem[i];
	series_t x = { cx, pick, np, t, y };
	for (size_t k = 0; !rc && k < ns; k++) {
		size_t a = start[k], b = start[k + 1];
		if (a == b)
			continue;
		growth_site_t *gs = &g->sites[g->nsites];
		gs->id = (uint32_t)k;
		int r = judge_site(&x, by + a, b - a, gs);
		if (r == ENOMEM)
			rc = ENOMEM;
		if (r) {   /* held memory only between the snapshots read */
			free(gs->stacks);
			free(gs->paths);
			memset(gs, 0, sizeof *gs);
			continue;
		}
		g->nsites++;
	}
	if (!rc)
		rc = weigh_functions(log, sym, &x, g);
	free(of);
	free(mem);
	free(by);
	free(start);
	free(y);
	return rc;
}

typedef struct {
	site_hash_t h;
	size_t site;
} fkey_t;

static int fkey_cmp(const void *a, const void *b)
{
	const fkey_t *x = a, *y = b;
	int c = site_hash_cmp(&x->h, &y->h);
	return c ? c : (x->site > y->site) - (x->site < y->site);
}

/* The sites f[0..n) of one function: when one grew as others shrank by about as much and
 * their sum does not grow, each that grew or shrank takes the sum's verdict. */
static void weigh_function(const series_t *x, growth_t *g, const fkey_t *f, size_t n)
{
	growth_trend_t *t = calloc(n, sizeof *t);
	int moved = 0;
	for (size_t k = 0; t && k < n; k++) {
		const growth_site_t *s = &g->sites[f[k].site];
		t[k] = (growth_trend_t){ s->stack, s->verdict, s->slope, s->first, s->last, s->peak };
	}
	for (size_t k = 0; t && k < n && !moved; k++)
		moved = offset_by(&t[k], t, n);
	growth_trend_t sum;
	if (moved) {
		memset(x->y, 0, x->np * sizeof *x->y);
		for (size_t k = 0; k < n; k++)
			for (size_t m = 0; m < g->sites[f[k].site].nstacks; m++)
				changes_add(x->cx, g->sites[f[k].site].stacks[m], x->pick, x->np, x->y);
		moved = !judge(x, t[0].stack, &sum) && sum.verdict != VERDICT_GROWING;
	}
	for (size_t k = 0; moved && k < n; k++) {
		growth_site_t *s = &g->sites[f[k].site];
		if (s->verdict != VERDICT_GROWING && s->verdict != VERDICT_SHRINKING)
			continue;
		s->verdict = sum.verdict;
		s->slope = sum.slope;
		s->moved = 1;
	}
	free(t);
}

/* Sites are weighed against the other sites of their function (weigh_function). */
static int weigh_functions(const ag_log_t *log, symbols_t *sym, const series_t *x, growth_t *g)
{
	fkey_t *f = calloc(g->nsites + 1, sizeof *f);
	if (!f)
		return ENOMEM;
	for (size_t i = 0; i < g->nsites; i++) {
		f[i].site = i;
		site_function_identity(sym, &log->stacks[g->sites[i].stack], &f[i].h);
	}
	qsort(f, g->nsites, sizeof *f, fkey_cmp);
	for (size_t i = 0, j; i < g->nsites; i = j) {
		for (j = i + 1; j < g->nsites && site_hash_cmp(&f[j].h, &f[i].h) == 0; j++)
			;
		if (j - i > 1)
			weigh_function(x, g, f + i, j - i);
	}
	free(f);
	return 0;
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
