/* growth.c: `allocguard growth`: each call site's live bytes over the snapshots taken while
 * the program ran, and a verdict: growing (a leak), plateau (rose, then level), flat (churn
 * or constant) or shrinking.  growth_collect fills a growth_t; a JSON view and a table read
 * it.  The method, which `growth --help` tells the user:
 *  - floor: the series is cut into blocks of 2 or more consecutive snapshots (at most 32) and each block
 *    keeps its minimum, so memory taken and given back within a block (churn) cannot hide
 *    memory never given back (a leak), and one spike cannot make a trend;
 *  - change point: a continuous two-segment line is fitted to the floor at every knee that
 *    leaves at least 15% of the run after it, and kept when it fits far better than one
 *    line (an F test): a rise before the knee and a level after it is a plateau; a rise
 *    after it is growth at the rate after it;
 *  - otherwise one trend: Mann-Kendall's rank test on the floor says whether it rises or
 *    falls beyond noise, and Theil-Sen's median of pairwise slopes gives the rate;
 *  - a trend counts only when it amounts to 10% of the floor's peak.
 * The shown slope is the one the verdict rests on.  Which snapshots are read is
 * pick_snaps's business (the program's exit is left out). */
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A trend must amount to this fraction of the floor's peak over the run. */
#define GROWTH_MIN_REL 0.10
/* Mann-Kendall z beyond which the floor rises or falls (one-sided p ~ 0.001). */
#define GROWTH_MIN_Z 3.0
/* Fewer floor points than this: only a strictly monotone series is a trend, and no
 * change point is looked for. */
#define GROWTH_SMALL 8
/* Floor blocks: about this many snapshots each, at most this many blocks. */
#define GROWTH_BLOCK_PTS 2
#define GROWTH_MAX_BLOCKS 32
/* The knee is refined in this many steps between the floor points around the best one. */
#define GROWTH_KNEE_STEPS 16
/* Points of the fine floor that rates are measured on. */
#define GROWTH_RATE_POINTS 64
/* A change point leaves at least this fraction of the run after it. */
#define GROWTH_MIN_TAIL 0.15
/* The two-segment fit is kept when F = (SSE_line - SSE_seg) / (SSE_seg / d) reaches
 * GROWTH_MIN_F + GROWTH_F_DOF / d (d = floor points - 4): stricter with few points, as
 * the best of many knees is chosen. */
#define GROWTH_MIN_F 40.0
#define GROWTH_F_DOF 160.0
/* Teardown: a fall of the process's tracked bytes to below this fraction of their level,
 * in the last snapshots before the exit snapshot (at most this fraction of them). */
#define GROWTH_TEARDOWN_FALL 0.5
#define GROWTH_TEARDOWN_MAX 0.25
/* Bound on stacks x snapshots walked; more snapshots are thinned evenly. */
#define GROWTH_MAX_CELLS (64u << 20)

const char *verdict_name(verdict_t v)
{
	switch (v) {
	case VERDICT_GROWING: return "growing";
	case VERDICT_PLATEAU: return "plateau";
	case VERDICT_FLAT: return "flat";
	case VERDICT_SHRINKING: return "shrinking";
	}
	return "?";
}

typedef struct {
	double t, y;
} pt_t;

/* Snapshots per block: twice the series' own time scale (how long a working set holds
 * before it moves: (n - 2) * 2/3 turning points is what independent noise gives), so each
 * block's minimum is roughly independent of the next; at least GROWTH_BLOCK_PTS, and at
 * most n / 8 (n / 16 for a smooth series, which keeps 16 points to place a change point). */
static size_t block_width(const double *t, const double *y, size_t n, double slope)
{
	size_t tp = 0;
	int last = 0;
	/* turning points of the series less its trend, which would hide them */
	for (size_t i = 1; i < n; i++) {
		double dy = (y[i] - y[i - 1]) - slope * (t[i] - t[i - 1]);
		int d = (dy > 0) - (dy < 0);
		if (!d)
			continue;
		tp += last && d != last;
		last = d;
	}
	double period = n > 2 ? (double)(n - 2) * 2.0 / 3.0 / (double)(tp ? tp : 1) : 1;
	size_t w = (size_t)ceil(2 * period), cap = n / (tp >= GROWTH_SMALL ? GROWTH_SMALL : 16);
	if (w > cap)
		w = cap;
	return w < GROWTH_BLOCK_PTS ? GROWTH_BLOCK_PTS : w;
}

/* The floor in m blocks: each block's minimum, at the time it was seen. */
static void floors_in(const double *t, const double *y, size_t n, size_t m, pt_t *f)
{
	for (size_t j = 0; j < m; j++) {
		size_t a = j * n / m, b = (j + 1) * n / m, k = a;
		for (size_t i = a + 1; i < b; i++)
			if (y[i] < y[k])
				k = i;
		f[j] = (pt_t){ t[k], y[k] };
	}
}

/* The floor the verdict reads: blocks of block_width snapshots (slope: the series' rate). */
static size_t floors(const double *t, const double *y, size_t n, double slope, pt_t *f)
{
	size_t m = n / block_width(t, y, n, slope);
	if (m < GROWTH_SMALL)
		m = n < GROWTH_SMALL ? n : GROWTH_SMALL;
	if (m > GROWTH_MAX_BLOCKS)
		m = GROWTH_MAX_BLOCKS;
	floors_in(t, y, n, m, f);
	return m;
}

/* The fine floor the rates are measured on: blocks of GROWTH_BLOCK_PTS, at most
 * GROWTH_RATE_POINTS of them; more points than the verdict's floor, so a median slope
 * over them varies less, and still a floor, so spikes do not pull it. */
static size_t fine_floors(const double *t, const double *y, size_t n, pt_t *f)
{
	size_t m = n / GROWTH_BLOCK_PTS;
	if (m < 2)
		m = n;
	if (m > GROWTH_RATE_POINTS)
		m = GROWTH_RATE_POINTS;
	floors_in(t, y, n, m, f);
	return m;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Theil-Sen: the median of the slopes between every two points. */
static double theil_sen(const pt_t *f, size_t m)
{
	static _Thread_local double s[GROWTH_RATE_POINTS * (GROWTH_RATE_POINTS - 1) / 2];
	size_t k = 0;
	for (size_t i = 0; i < m; i++)
		for (size_t j = i + 1; j < m; j++)
			if (f[j].t > f[i].t)
				s[k++] = (f[j].y - f[i].y) / (f[j].t - f[i].t);
	if (!k)
		return 0;
	qsort(s, k, sizeof *s, dbl_cmp);
	return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

/* Lag-1 autocorrelation of the floor less its median-slope line: neighbouring blocks that
 * still share a working set make a rank test see more evidence than there is. */
static double lag1(const pt_t *f, size_t m)
{
	if (m < 3)
		return 0;
	double b = theil_sen(f, m), r[GROWTH_MAX_BLOCKS], mean = 0, c0 = 0, c1 = 0;
	for (size_t i = 0; i < m; i++) {
		r[i] = f[i].y - b * (f[i].t - f[0].t);
		mean += r[i];
	}
	mean /= (double)m;
	for (size_t i = 0; i < m; i++) {
		c0 += (r[i] - mean) * (r[i] - mean);
		if (i)
			c1 += (r[i] - mean) * (r[i - 1] - mean);
	}
	return c0 > 0 ? c1 / c0 : 0;
}

/* Mann-Kendall: z of the count of rising minus falling pairs, its variance widened by
 * (1 + r1) / (1 - r1) for a positive lag-1 autocorrelation r1 (an effective sample size
 * correction); *mono is +1 (-1) when no pair falls (rises) and at least two thirds of the
 * steps from one point to the next rise (fall): a few snapshots of a leak that started after
 * the first one (0, 0, 2 MiB, 5 MiB, 9 MiB) are a trend, a single step (0, 0, 5, 5) is not. */
static double mann_kendall(const pt_t *f, size_t m, int *mono)
{
	long s = 0, ups = 0, downs = 0, steps_up = 0, steps_down = 0;
	for (size_t i = 0; i < m; i++)
		for (size_t j = i + 1; j < m; j++) {
			ups += f[j].y > f[i].y;
			downs += f[j].y < f[i].y;
		}
	s = ups - downs;
	for (size_t i = 1; i < m; i++) {
		steps_up += f[i].y > f[i - 1].y;
		steps_down += f[i].y < f[i - 1].y;
	}
	long need = m > 1 ? ((long)(m - 1) * 2 + 2) / 3 : 1;
	*mono = m > 1 && !downs && steps_up >= need ? 1 : m > 1 && !ups && steps_down >= need ? -1 : 0;
	double var = (double)m * (double)(m - 1) * (double)(2 * m + 5) / 18.0;
	double r1 = lag1(f, m);
	if (r1 > 0)
		var *= (1 + (r1 < 0.9 ? r1 : 0.9)) / (1 - (r1 < 0.9 ? r1 : 0.9));
	if (!s || var <= 0)
		return 0;
	return (double)(s > 0 ? s - 1 : s + 1) / sqrt(var);
}

static double line_sse(const pt_t *f, size_t m)
{
	double mt = 0, my = 0, sxx = 0, sxy = 0, syy = 0;
	for (size_t i = 0; i < m; i++) {
		mt += f[i].t;
		my += f[i].y;
	}
	mt /= (double)m;
	my /= (double)m;
	for (size_t i = 0; i < m; i++) {
		sxx += (f[i].t - mt) * (f[i].t - mt);
		sxy += (f[i].t - mt) * (f[i].y - my);
		syy += (f[i].y - my) * (f[i].y - my);
	}
	double e = sxx > 0 ? syy - sxy * sxy / sxx : syy;
	return e > 0 ? e : 0;
}

/* Least squares of y = a + b1 min(t - c, 0) + b2 max(t - c, 0): its SSE (INFINITY when
 * singular) and the slopes before and after c. */
static double seg_fit(const pt_t *f, size_t m, double c, double *b1, double *b2)
{
	double a[3][4] = { { 0 } };
	for (size_t i = 0; i < m; i++) {
		double x[3] = { 1, f[i].t < c ? f[i].t - c : 0, f[i].t > c ? f[i].t - c : 0 };
		for (int r = 0; r < 3; r++) {
			for (int k = 0; k < 3; k++)
				a[r][k] += x[r] * x[k];
			a[r][3] += x[r] * f[i].y;
		}
	}
	for (int col = 0; col < 3; col++) {
		int piv = col;
		for (int r = col + 1; r < 3; r++)
			if (fabs(a[r][col]) > fabs(a[piv][col]))
				piv = r;
		if (fabs(a[piv][col]) < 1e-300)
			return INFINITY;
		for (int k = 0; k < 4; k++) {
			double tmp = a[col][k];
			a[col][k] = a[piv][k];
			a[piv][k] = tmp;
		}
		for (int r = 0; r < 3; r++) {
			if (r == col)
				continue;
			double q = a[r][col] / a[col][col];
			for (int k = col; k < 4; k++)
				a[r][k] -= q * a[col][k];
		}
	}
	double beta[3] = { a[0][3] / a[0][0], a[1][3] / a[1][1], a[2][3] / a[2][2] };
	double sse = 0;
	for (size_t i = 0; i < m; i++) {
		double u = f[i].t < c ? f[i].t - c : 0, v = f[i].t > c ? f[i].t - c : 0;
		double r = f[i].y - (beta[0] + beta[1] * u + beta[2] * v);
		sse += r * r;
	}
	*b1 = beta[1];
	*b2 = beta[2];
	return sse;
}

typedef struct {
	size_t knee;       /* floor index of the change point */
	double c, b1, b2;  /* its time, the slopes before and after */
	int tail_moves;    /* b2 != 0 beyond noise: a level tail fits far worse */
} seg_t;

/* The F test the two-segment fit must pass against a simpler model. */
static int f_passes(double sse_simple, double sse_seg, size_t m, double eps)
{
	if (sse_seg <= eps)
		return sse_simple > eps;
	double d = (double)(m - 4);
	return (sse_simple - sse_seg) / (sse_seg / d) >= GROWTH_MIN_F + GROWTH_F_DOF / d;
}

/* SSE of the hinge with a level tail: y = a + b1 min(t - c, 0). */
static double flat_tail_sse(const pt_t *f, size_t m, double c)
{
	pt_t u[GROWTH_MAX_BLOCKS];
	for (size_t i = 0; i < m; i++)
		u[i] = (pt_t){ f[i].t < c ? f[i].t - c : 0, f[i].y };
	return line_sse(u, m);
}

/* The best change point of the floor, when it explains the series far better than one
 * line does. */
static int change_point(const pt_t *f, size_t m, double ref, seg_t *out)
{
	double span = f[m - 1].t - f[0].t;
	double sl = line_sse(f, m), eps = (double)m * (1e-9 * ref) * (1e-9 * ref);
	if (m < GROWTH_SMALL || !(span > 0) || sl <= eps)
		return 0;
	double best = INFINITY, b1, b2;
	memset(out, 0, sizeof *out);
	/* knees at floor points leaving two points before (one alone would be fitted exactly,
	 * which removes an outlier rather than finds a change) and two after */
	size_t kbest = 0;
	for (size_t k = 2; k + 2 < m; k++) {
		if (f[m - 1].t - f[k].t < GROWTH_MIN_TAIL * span)
			break;
		double e = seg_fit(f, m, f[k].t, &b1, &b2);
		if (e < best) {
			best = e;
			kbest = k;
		}
	}
	if (!kbest)
		return 0;
	/* then the knee between the neighbouring points, as the change rarely falls on one */
	double lo = f[kbest - 1].t > f[1].t ? f[kbest - 1].t : f[1].t + 1e-9 * span;
	double hi = f[kbest + 1].t;
	if (f[m - 1].t - hi < GROWTH_MIN_TAIL * span)
		hi = f[m - 1].t - GROWTH_MIN_TAIL * span;
	double cbest = f[kbest].t;
	for (int i = 0; i <= GROWTH_KNEE_STEPS; i++) {
		double c = lo + (hi - lo) * i / GROWTH_KNEE_STEPS;
		double e = seg_fit(f, m, c, &b1, &b2);
		if (e < best) {
			best = e;
			cbest = c;
		}
	}
	best = seg_fit(f, m, cbest, &b1, &b2);
	size_t knee = 0;
	while (knee + 1 < m && f[knee + 1].t <= cbest)
		knee++;
	*out = (seg_t){ knee, cbest, b1, b2, 0 };
	if (!isfinite(best) || !f_passes(sl, best, m, eps))
		return 0;
	/* a moving tail needs three points after the knee: two are one step, which skewed
	 * churn makes now and then */
	out->tail_moves = out->knee + 3 < m &&
			  f_passes(flat_tail_sse(f, m, out->c), best, m, eps);
	return 1;
}

/* Theil-Sen over the points of f after time c. */
static double rate_after(const pt_t *f, size_t m, double c)
{
	size_t k = 0;
	while (k < m && f[k].t <= c)
		k++;
	return theil_sen(f + k, m - k);
}

verdict_t growth_verdict(const double *t, const double *y, size_t n, double *slope)
{
	*slope = 0;
	if (n < 2 || !(t[n - 1] - t[0] > 0))
		return VERDICT_FLAT;
	pt_t f[GROWTH_MAX_BLOCKS], fine[GROWTH_RATE_POINTS];
	size_t mf = fine_floors(t, y, n, fine);
	double all = theil_sen(fine, mf);
	size_t m = floors(t, y, n, all, f);
	double ref = 0;
	for (size_t i = 0; i < m; i++)
		if (f[i].y > ref)
			ref = f[i].y;
	double need = GROWTH_MIN_REL * ref;
	*slope = all;
	if (!(ref > 0))
		return VERDICT_FLAT;
	seg_t sg;
	if (change_point(f, m, ref, &sg)) {
		double tail = rate_after(fine, mf, sg.c);
		double head_rise = sg.b1 * (sg.c - f[0].t), tail_rise = sg.b2 * (f[m - 1].t - sg.c);
		if (!sg.tail_moves)
			tail_rise = 0;
		if (tail_rise >= need) {
			*slope = tail > 0 ? tail : sg.b2;   /* the rate it grows at now */
			return VERDICT_GROWING;
		}
		if (tail_rise <= -need) {
			*slope = tail < 0 ? tail : sg.b2;
			return VERDICT_SHRINKING;
		}
		if (head_rise >= need) {
			/* level now: the median slope after the knee (0 for a level that holds
			 * exactly), or the fitted one when noise makes that median disagree */
			*slope = fabs(tail) * (f[m - 1].t - sg.c) < need ? tail : sg.b2;
			return VERDICT_PLATEAU;
		}
		if (head_rise <= -need) {
			*slope = all < 0 ? all : sg.b1;      /* fell, then held */
			return VERDICT_SHRINKING;
		}
		*slope = 0;
		return VERDICT_FLAT;
	}
	int mono;
	double z = mann_kendall(f, m, &mono), rise = all * (f[m - 1].t - f[0].t);
	/* a floor that rises (falls) between every two of its points is a trend at any size:
	 * noise does that for 8 points once in 40,320 */
	int up = mono > 0 || (m >= GROWTH_SMALL && z >= GROWTH_MIN_Z);
	int down = mono < 0 || (m >= GROWTH_SMALL && z <= -GROWTH_MIN_Z);
	if (up && rise >= need)
		return VERDICT_GROWING;
	if (down && -rise >= need)
		return VERDICT_SHRINKING;
	*slope = 0;   /* no trend beyond noise: a slope beside "flat" would say otherwise */
	return VERDICT_FLAT;
}

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
