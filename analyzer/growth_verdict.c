/* growth_verdict.c: the verdict on one series of live bytes over time: growing (a leak),
 * plateau (rose, then level), flat (churn or constant) or shrinking.  The method, which
 * `growth --help` tells the user:
 *  - floor: the series is cut into blocks of 2 or more consecutive snapshots (at most 32)
 *    and each block keeps its minimum, so memory taken and given back within a block
 *    (churn) cannot hide memory never given back (a leak), and one spike cannot make a
 *    trend;
 *  - change point: a continuous two-segment line is fitted to the floor at every knee that
 *    leaves at least 15% of the run after it, and kept when it fits far better than one
 *    line (an F test): a rise before the knee and a level after it is a plateau; a rise
 *    after it is growth at the rate after it;
 *  - otherwise one trend: Mann-Kendall's rank test on the floor says whether it rises or
 *    falls beyond noise, and Theil-Sen's median of pairwise slopes gives the rate;
 *  - a trend counts only when it amounts to 10% of the floor's peak.
 * The shown slope is the one the verdict rests on.  Which series are judged (sites, paths,
 * snapshots) is growth.c's. */
#include "reports.h"

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

