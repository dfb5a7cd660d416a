/* test_analyzer_growth.c: the growth verdict (analyzer/growth.c) on synthetic series:
 * steady leaks, warm-up pools, churn, release, noise, few points and a single point. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "reports.h"

#define N 31

static double noise(unsigned *seed, double amp)
{
	return amp * (2.0 * rand_r(seed) / RAND_MAX - 1.0);
}

static void series(double *t, size_t n, double span)
{
	for (size_t i = 0; i < n; i++)
		t[i] = span * (double)i / (double)(n - 1);
}

Test(growth, steady_leak_is_growing_with_its_slope)
{
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (size_t i = 0; i < N; i++)
		y[i] = 65536.0 * 100 * t[i];   /* 6.25 MiB/s */
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_GROWING);
	cr_assert(fabs(slope - 6553600.0) < 1.0, "slope %f", slope);
}

Test(growth, noisy_leak_is_growing_within_a_few_percent)
{
	unsigned seed = 7;
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (size_t i = 0; i < N; i++)
		y[i] = 10000.0 + 20000.0 * t[i] + noise(&seed, 3000);
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_GROWING);
	cr_assert(fabs(slope - 20000.0) / 20000.0 < 0.1, "slope %f", slope);
}

Test(growth, late_starting_leak_reports_its_current_rate)
{
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (size_t i = 0; i < N; i++)
		y[i] = t[i] < 1.0 ? 0 : 5000.0 * (t[i] - 1.0);
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_GROWING);
	cr_assert(fabs(slope - 5000.0) / 5000.0 < 0.05, "slope %f", slope);
}

Test(growth, warm_up_pool_is_a_plateau)
{
	unsigned seed = 3;
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (size_t i = 0; i < N; i++)
		y[i] = (t[i] < 0.8 ? 1048576.0 * t[i] / 0.8 : 1048576.0) + noise(&seed, 2000);
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_PLATEAU);
	cr_assert(fabs(slope) < 0.02 * 1048576, "plateau slope %f should be about 0", slope);
}

Test(growth, pool_that_fills_over_half_the_run_is_a_plateau)
{
	double t[N], y[N], slope;
	series(t, N, 4.0);
	for (size_t i = 0; i < N; i++)
		y[i] = t[i] < 2.0 ? 4096.0 * floor(t[i] * 10) : 4096.0 * 20;
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_PLATEAU);
}

Test(growth, churn_is_never_growing)
{
	/* a rank test at z 3 reads pure noise as a trend in about 0.1% of series each way:
	 * never as growth in these 200, and flat in all but one or two */
	double t[N], y[N], slope;
	series(t, N, 3.0);
	unsigned flat = 0;
	for (unsigned s = 1; s <= 200; s++) {
		unsigned seed = s;
		for (size_t i = 0; i < N; i++)
			y[i] = 65536.0 + noise(&seed, 60000);
		verdict_t v = growth_verdict(t, y, N, &slope);
		cr_assert(v != VERDICT_GROWING, "seed %u: churn read as %s", s, verdict_name(v));
		flat += v == VERDICT_FLAT;
	}
	cr_assert_geq(flat, 198);
}

Test(growth, churn_from_an_empty_start_is_not_growing)
{
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (unsigned s = 1; s <= 100; s++) {
		unsigned seed = s;
		y[0] = 0;
		for (size_t i = 1; i < N; i++)
			y[i] = 32768.0 + noise(&seed, 32768);
		verdict_t v = growth_verdict(t, y, N, &slope);
		cr_assert(v != VERDICT_GROWING && v != VERDICT_SHRINKING, "seed %u: %s", s,
			  verdict_name(v));
	}
}

Test(growth, constant_is_flat)
{
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (size_t i = 0; i < N; i++)
		y[i] = 4096;
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_FLAT);
	cr_assert_float_eq(slope, 0.0, 1e-9);
}

Test(growth, release_is_shrinking)
{
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (size_t i = 0; i < N; i++)
		y[i] = 300000.0 - 100000.0 * t[i];
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_SHRINKING);
	cr_assert(slope < -90000 && slope > -110000, "slope %f", slope);
}

Test(growth, single_point_and_empty_are_flat)
{
	double t[1] = { 0.5 }, y[1] = { 1000 }, slope = 99;
	cr_assert_eq(growth_verdict(t, y, 1, &slope), VERDICT_FLAT);
	cr_assert_float_eq(slope, 0.0, 1e-12);
	cr_assert_eq(growth_verdict(t, y, 0, &slope), VERDICT_FLAT);
}

Test(growth, same_time_twice_is_flat)
{
	double t[2] = { 1, 1 }, y[2] = { 0, 1000 }, slope;
	cr_assert_eq(growth_verdict(t, y, 2, &slope), VERDICT_FLAT);
}

Test(growth, two_and_four_points_follow_the_trend)
{
	double t2[2] = { 0, 1 }, y2[2] = { 0, 4096 }, slope;
	cr_assert_eq(growth_verdict(t2, y2, 2, &slope), VERDICT_GROWING);
	cr_assert_float_eq(slope, 4096.0, 1e-6);
	double t4[4] = { 0, 1, 2, 3 }, y4[4] = { 0, 1000, 2000, 3000 };
	cr_assert_eq(growth_verdict(t4, y4, 4, &slope), VERDICT_GROWING);
	double d4[4] = { 3000, 2000, 1000, 0 };
	cr_assert_eq(growth_verdict(t4, d4, 4, &slope), VERDICT_SHRINKING);
}

Test(growth, small_wobble_on_a_big_site_is_flat)
{
	double t[N], y[N], slope;
	series(t, N, 3.0);
	for (size_t i = 0; i < N; i++)
		y[i] = 10e6 + 1000.0 * t[i];   /* +3 KB over 10 MB: not a trend worth naming */
	cr_assert_eq(growth_verdict(t, y, N, &slope), VERDICT_FLAT);
}

/* ---- the shapes of issue 8: each on many seeds, with its rate ---- */

static double urand(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (double)(*s >> 11) / 9007199254740992.0;
}

#define M 151   /* 3 s at 20 ms */

/* A working set whose size is drawn at random every 60 ms (0..4 MiB), with a leak of
 * 2 MiB/s in the same site: the floor rises at the leak's rate. */
Test(growth, leak_hidden_in_random_churn_is_growing_at_its_rate)
{
	/* the leak is 6 MiB over a churn of 0..4 MiB: found (at the right rate) in nearly
	 * every series; the rest are noise-limited, never read as shrinking or plateau */
	double t[M], y[M], slope, rate = 2.0 * 1048576;
	series(t, M, 3.0);
	unsigned good = 0;
	for (unsigned long long s = 1; s <= 200; s++) {
		unsigned long long rs = s * 0x9e3779b97f4a7c15ULL;
		double ws = 0;
		for (size_t i = 0; i < M; i++) {
			if (i % 3 == 0)
				ws = urand(&rs) * 4 * 1048576;
			y[i] = rate * t[i] + ws;
		}
		verdict_t v = growth_verdict(t, y, M, &slope);
		cr_assert(v == VERDICT_GROWING || v == VERDICT_FLAT, "seed %llu: %s", s,
			  verdict_name(v));
		good += v == VERDICT_GROWING && fabs(slope - rate) < 0.25 * rate;
	}
	cr_assert_geq(good, 190, "%u of 200 growing within 25%% of the rate", good);
}

Test(growth, pool_tripled_in_the_first_fifth_is_a_plateau_with_a_level_slope)
{
	for (size_t n = 31; n <= M; n += 60) {
		double t[M], y[M], slope;
		series(t, n, 3.0);
		for (unsigned long long s = 1; s <= 40; s++) {
			unsigned long long rs = s * 0x2545f4914f6cdd1dULL;
			for (size_t i = 0; i < n; i++)
				y[i] = (t[i] < 0.6 ? 1e6 + 2e6 * t[i] / 0.6 : 3e6) + 1e5 * urand(&rs);
			verdict_t v = growth_verdict(t, y, n, &slope);
			cr_assert_eq(v, VERDICT_PLATEAU, "n %zu seed %llu: %s", n, s, verdict_name(v));
			/* level: well under a quarter of the rate it rose at */
			cr_assert(fabs(slope) < 0.25 * 2e6 / 0.6, "n %zu seed %llu: slope %f", n, s,
				  slope);
		}
	}
}

Test(growth, grow_then_level_is_a_plateau_for_every_split)
{
	static const double split[][2] = { { 4, 1 }, { 2, 1.5 }, { 3, 1 }, { 1, 3 }, { 5, 1 } };
	for (size_t k = 0; k < sizeof split / sizeof split[0]; k++)
		for (double dt = 0.02; dt < 0.15; dt += 0.08) {
			double a = split[k][0], span = a + split[k][1];
			size_t n = (size_t)(span / dt + 0.5) + 1;
			double *t = calloc(n, sizeof *t), *y = calloc(n, sizeof *y), slope;
			series(t, n, span);
			for (unsigned long long s = 1; s <= 20; s++) {
				unsigned long long rs = s * 0x9e3779b97f4a7c15ULL + k;
				for (size_t i = 0; i < n; i++)
					y[i] = 1e6 * (t[i] < a ? t[i] : a) + 2e5 * urand(&rs);
				verdict_t v = growth_verdict(t, y, n, &slope);
				cr_assert_eq(v, VERDICT_PLATEAU, "%g s then %g s at %g s, seed %llu: %s",
					     a, split[k][1], dt, s, verdict_name(v));
				cr_assert(fabs(slope) < 0.25e6, "slope %f", slope);
			}
			free(t);
			free(y);
		}
}

Test(growth, still_growing_at_the_end_is_growing_at_the_current_rate)
{
	double t[M], y[M], slope;
	series(t, M, 3.0);
	for (unsigned long long s = 1; s <= 40; s++) {
		unsigned long long rs = s * 0x9e3779b97f4a7c15ULL;
		for (size_t i = 0; i < M; i++)
			y[i] = 1e6 * t[i] + 2e5 * urand(&rs);
		cr_assert_eq(growth_verdict(t, y, M, &slope), VERDICT_GROWING, "seed %llu", s);
		cr_assert(fabs(slope - 1e6) < 0.25e6, "seed %llu: slope %f", s, slope);
	}
}

Test(growth, random_churn_alone_is_flat_with_no_slope)
{
	/* the rank test's false alarms stay near its nominal rate (z 3: ~0.1% each way) */
	double t[M], y[M], slope;
	series(t, M, 3.0);
	unsigned flat = 0, growing = 0;
	for (unsigned long long s = 1; s <= 1000; s++) {
		unsigned long long rs = s * 0x9e3779b97f4a7c15ULL;
		double ws = 0;
		for (size_t i = 0; i < M; i++) {
			if (i % 3 == 0)
				ws = urand(&rs) * 4 * 1048576;
			y[i] = ws;
		}
		verdict_t v = growth_verdict(t, y, M, &slope);
		growing += v == VERDICT_GROWING;
		if (v == VERDICT_FLAT) {
			flat++;
			cr_assert_float_eq(slope, 0.0, 1e-9);
		}
	}
	cr_assert_leq(growing, 5);
	cr_assert_geq(flat, 990);
}

Test(growth, noisy_release_is_shrinking_at_its_rate)
{
	double t[M], y[M], slope;
	series(t, M, 3.0);
	for (unsigned long long s = 1; s <= 40; s++) {
		unsigned long long rs = s * 0x9e3779b97f4a7c15ULL;
		for (size_t i = 0; i < M; i++)
			y[i] = 12e6 - 3e6 * t[i] + 5e5 * urand(&rs);
		cr_assert_eq(growth_verdict(t, y, M, &slope), VERDICT_SHRINKING, "seed %llu", s);
		cr_assert(fabs(slope + 3e6) < 0.25 * 3e6, "seed %llu: slope %f", s, slope);
	}
}

/* A short run: a leak that began after the first snapshot (0, 0, then rising) is growing;
 * one step up that then holds is not a trend. */
Test(growth, few_snapshots_of_a_late_leak_grow_a_single_step_does_not)
{
	double t[] = { 0.2, 0.4, 0.6, 0.8, 1.0, 1.2 };
	double late[] = { 0, 0, 2e6, 5e6, 9e6, 13e6 };
	double step[] = { 0, 0, 5e6, 5e6, 5e6, 5e6 };
	double slope;
	cr_assert_eq(growth_verdict(t, late, 6, &slope), VERDICT_GROWING);
	cr_assert_gt(slope, 0);
	cr_assert_neq(growth_verdict(t, step, 6, &slope), VERDICT_GROWING);
}
