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
