/* test_integration_production.c: the production guard (a cap, sampling, no leak check;
 * preload/credit.h) against real programs: the cap stays exact while threads race toward
 * it holding credit, the figures stay within the bound docs/performance.md states (totals
 * and peaks lag by less than CREDIT_FLUSH per thread, never past the cap), and sampled
 * estimates stay unbiased. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credit.h"
#include "helpers.h"

#define MiB (1024ull * 1024)
/* a block's usable size over its requested size: under a page for glibc (mmapped chunks) */
#define ROUNDING 4096
#define PRODUCTION "ALLOCGUARD_SAMPLE=512K", "ALLOCGUARD_LEAK_CHECK=no"

static void run_race(const char *const *env, const char *what)
{
	const unsigned long long cap = 16 * MiB;
	const int threads = 4;
	const char *argv[] = { th_build("examples/credit_race"), "16777216", "4", NULL };
	th_run_t r;
	th_log_t log;
	char why[300];
	cr_assert_eq(th_run_one_log("race", argv, env, 120, &r, &log, why, sizeof why), 0,
		     "%s: %s", what, why);
	cr_assert(r.exited && r.code == 0, "%s: %s\n%s", what, th_run_desc(&r), r.err);
	cr_assert_eq(th_kv(r.out, "refusals"), threads, "%s: every thread is refused: %s", what,
		     r.out);
	cr_expect_eq(th_kv(r.out, "wrong_errno"), 0, "%s: %s", what, r.out);
	long long smax = th_kv(r.out, "smax"), freed = th_kv(r.out, "freed");
	cr_assert_gt(freed, 64 * 1024, "%s: %s", what, r.out);
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "%s: no exit snapshot", what);
	const uint64_t *e = log.snaps[ex].e;
	/* Exact: the largest request the cap admitted at the end is what was left under it,
	 * to the byte, whatever credit the racing threads were holding when they stopped. */
	cr_expect_eq((unsigned long long)smax, cap - e[TH_TRACKED],
		     "%s: largest admitted request %lld, room under the cap %llu (tracked %llu)",
		     what, smax, cap - e[TH_TRACKED], (unsigned long long)e[TH_TRACKED]);
	/* Never late: nothing ever counted passed the cap. */
	cr_expect_leq(e[TH_PEAK_TRACKED], cap, "%s: peak %llu over the cap", what,
		      (unsigned long long)e[TH_PEAK_TRACKED]);
	/* The peak: tracked was at least e + freed just before the free (less a page: a
	 * sampled block counts at its requested size, freed is its usable size); a peak may
	 * lag by less than CREDIT_FLUSH per thread (the racers and main), only with sampling. */
	uint64_t before = e[TH_TRACKED] + (uint64_t)freed - ROUNDING;
	uint64_t lag = strstr(what, "production") ? (uint64_t)(threads + 1) * CREDIT_FLUSH : 0;
	cr_expect_geq(e[TH_PEAK_TRACKED] + lag, before, "%s: peak %llu, tracked reached %llu",
		      what, (unsigned long long)e[TH_PEAK_TRACKED], (unsigned long long)before);
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_production, cap_exact_under_racing_threads, .timeout = 300)
{
	const char *every[] = { "ALLOCGUARD_CAP=16M", "ALLOCGUARD_INTERVAL=0", NULL };
	const char *prod[] = { "ALLOCGUARD_CAP=16M", "ALLOCGUARD_INTERVAL=0", PRODUCTION, NULL };
	for (int i = 0; i < 3; i++) {
		run_race(every, "every allocation");
		run_race(prod, "production");
	}
}

/* A snapshot taken while the threads hold unflushed counts: its total adds them, so it is
 * what the program holds (the same as the exit snapshot's, nothing changed in between
 * but the one free), not short by up to CREDIT_FLUSH a thread. */
Test(integration_production, snapshot_totals_include_the_threads_unflushed_counts,
     .timeout = 120)
{
	const char *argv[] = { th_build("examples/credit_race"), "16777216", "4", "snap", NULL };
	const char *env[] = { "ALLOCGUARD_CAP=16M", "ALLOCGUARD_INTERVAL=0", PRODUCTION, NULL };
	th_run_t r;
	th_log_t log;
	char why[300];
	cr_assert_eq(th_run_one_log("snap", argv, env, 120, &r, &log, why, sizeof why), 0, "%s",
		     why);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	long sig = th_log_find(&log, "signal"), ex = th_log_find(&log, "exit");
	cr_assert(sig >= 0 && ex > sig, "signal %ld, exit %ld", sig, ex);
	uint64_t at_signal = log.snaps[sig].e[TH_HEAP], at_exit = log.snaps[ex].e[TH_HEAP];
	long long freed = th_kv(r.out, "freed");
	cr_expect(at_signal <= at_exit + (uint64_t)freed &&
		  at_signal + ROUNDING >= at_exit + (uint64_t)freed,
		  "heap %llu at the signal, %llu at exit after freeing %lld",
		  (unsigned long long)at_signal, (unsigned long long)at_exit, freed);
	const char *check = th_log_opt(&log, "leak_check");
	cr_expect(check && strcmp(check, "no") == 0, "O leak_check %s", check ? check : "missing");
	th_log_free(&log);
	th_run_free(&r);
}

/* Unbiased in production too: the live estimate averages out to the exact total. */
Test(integration_production, live_estimate_unbiased_over_runs, .timeout = 180)
{
	const char *argv[] = { th_build("examples/sampler"), "25", NULL };
	const char *env[] = { "ALLOCGUARD_CAP=4G", "ALLOCGUARD_INTERVAL=0",
			      "ALLOCGUARD_SAMPLE=256K", "ALLOCGUARD_LEAK_CHECK=no", NULL };
	double sum = 0;
	const int runs = 4;
	for (int i = 0; i < runs; i++) {
		th_run_t r;
		th_log_t log;
		char why[300];
		cr_assert_eq(th_run_one_log("unbiased", argv, env, 120, &r, &log, why, sizeof why),
			     0, "%s", why);
		double rel = th_log_estimate_error(&log);
		cr_assert(!isnan(rel), "run %d: no exit snapshot with a heap", i);
		cr_expect(rel > -0.15 && rel < 0.15, "run %d: estimate off by %+.1f%%", i, rel * 100);
		sum += rel;
		th_log_free(&log);
		th_run_free(&r);
	}
	cr_expect(sum / runs > -0.06 && sum / runs < 0.06, "mean estimate off by %+.1f%%",
		  sum / runs * 100);
}

/* A cap lowered at run time (allocguard_set_cap) while every thread holds close to the most
 * credit it may: the credit is taken back first, so no thread spends it past the new cap
 * (never late), and each is refused only once what is left is below its request (never
 * early by more than one request). */
Test(integration_production, a_cap_set_at_run_time_takes_the_threads_credit_back,
     .timeout = 300)
{
	const char *every[] = { "ALLOCGUARD_CAP=256M", "ALLOCGUARD_INTERVAL=0", NULL };
	const char *prod[] = { "ALLOCGUARD_CAP=256M", "ALLOCGUARD_INTERVAL=0", PRODUCTION, NULL };
	const char *const *envs[] = { every, prod };
	const char *argv[] = { th_build("examples/credit_setcap"), "4", NULL };
	for (int i = 0; i < 6; i++) {
		const char *what = i % 2 ? "production" : "every allocation";
		char *dir = strdup(th_tmpdir("setcap"));
		char out[600];
		snprintf(out, sizeof out, "ALLOCGUARD_LOG=%s/setcap.%%p.log", dir);
		const char *env[8];
		size_t n = 0;
		for (const char *const *e = envs[i % 2]; *e; e++)
			env[n++] = *e;
		env[n++] = out;
		env[n] = NULL;
		th_run_t r;
		th_run(&r, argv, env, 1, 120);
		cr_assert(r.exited && r.code == 0, "%s: %s\n%s%s", what, th_run_desc(&r), r.out,
			  r.err);
		cr_assert_eq(th_kv(r.out, "set_cap"), 0, "%s: %s", what, r.out);
		cr_assert_eq(th_kv(r.out, "refusals"), 4, "%s: every thread is refused: %s", what,
			     r.out);
		cr_expect_eq(th_kv(r.out, "wrong_errno"), 0, "%s: %s", what, r.out);
		long long cap = th_kv(r.out, "cap"), tracked = th_kv(r.out, "tracked");
		cr_expect_leq(tracked, cap, "%s: tracked past the new cap: %s", what, r.out);
		/* the largest request is 200 KiB, plus the allocator's rounding */
		cr_expect_gt(tracked + (200 << 10) + ROUNDING, cap, "%s: refused early: %s", what,
			     r.out);
		th_run_free(&r);
		th_rmtree(dir);
		free(dir);
	}
}

static uint64_t exit_figure(const char *const *env, int figure)
{
	const char *argv[] = { th_build("examples/peak_mid"), "sawtooth", NULL };
	th_run_t r;
	th_log_t log;
	char why[300];
	cr_assert_eq(th_run_one_log("sawtooth", argv, env, 60, &r, &log, why, sizeof why), 0,
		     "%s", why);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	uint64_t v = log.snaps[ex].e[figure];
	th_log_free(&log);
	th_run_free(&r);
	return v;
}

/* Sampling without a cap counts per thread too (credit.h's unflushed bytes): the heap peak
 * is never above the exact one (but for the allocator's rounding of the live blocks, in
 * which unsampled blocks count) and low by less than CREDIT_FLUSH for the one allocating
 * thread; a program of a 1.6 MB peak made of 100 KB blocks, run several times. */
Test(integration_production, sampled_peak_within_the_bound_without_a_cap, .timeout = 180)
{
	const char *every[] = { "ALLOCGUARD_INTERVAL=0", NULL };
	const char *sampled[] = { "ALLOCGUARD_INTERVAL=0", "ALLOCGUARD_SAMPLE=512K", NULL };
	uint64_t exact = exit_figure(every, TH_PEAK_HEAP);
	cr_assert_geq(exact, 1600000, "peak %llu", (unsigned long long)exact);
	for (int i = 0; i < 4; i++) {
		uint64_t peak = exit_figure(sampled, TH_PEAK_HEAP);
		cr_expect_leq(peak, exact + ROUNDING, "sampled peak %llu, exact %llu",
			      (unsigned long long)peak, (unsigned long long)exact);
		cr_expect_gt(peak + CREDIT_FLUSH, exact, "sampled peak %llu, exact %llu",
			     (unsigned long long)peak, (unsigned long long)exact);
	}
}
