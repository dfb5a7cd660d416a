/* test_integration_sample.c: the sampled mode against real programs (issue 13).  Unsampled
 * blocks are counted at the allocator's usable size without a table entry (preload/heap.c):
 * the heap total stays within the stated rounding bound of the exact one, the cap stays
 * exact, per-site estimates stay unbiased, and the exit scan still follows pointers through
 * unsampled blocks. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define MiB (1024ull * 1024)

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("sample"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_sample, .init = setup, .fini = teardown);

/* Run argv under the guard with one extra setting, parse its only log, and remove it. */
static void run_logged(const char *const *argv, const char *opt, th_run_t *r, th_log_t *log)
{
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=0", opt, NULL };
	cr_assert_eq(th_run(r, argv, env, 1, 120), 0);
	cr_assert(r->exited && r->code == 0, "%s: %s", argv[0], th_run_desc(r));
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1, "expected one log in %s, found %zu", dir, n);
	cr_assert_eq(th_log_load(log, v[0]), 0);
	remove(v[0]);
	th_strv_free(v, n);
}

static uint64_t exit_heap(const th_log_t *log)
{
	long ex = th_log_find(log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	return log->snaps[ex].e[TH_HEAP];
}

/* The bound stated in heap.c: the sampled heap total is the exact one plus the allocator's
 * rounding of each live unsampled block (glibc: < 24 bytes below the mmap threshold, < a
 * page above it; sampler keeps at most 480 blocks of 1-4 MiB at full scale). */
Test(integration_sample, heap_total_within_the_rounding_bound)
{
	const char *argv[] = { th_build("examples/sampler"), "25", NULL };
	th_run_t r;
	th_log_t log;
	run_logged(argv, "ALLOCGUARD_SAMPLE=0", &r, &log);
	uint64_t exact = exit_heap(&log);
	long long live = th_kv(r.out, "live_bytes"), count = th_kv(r.out, "live_count");
	cr_assert_gt(count, 0, "%s", r.out);
	th_log_free(&log);
	th_run_free(&r);

	run_logged(argv, "ALLOCGUARD_SAMPLE=512K", &r, &log);
	uint64_t sampled = exit_heap(&log);
	uint64_t bound = (uint64_t)count * 24 + 480 * 4096;
	cr_expect(sampled >= exact && sampled - exact <= bound,
		  "sampled heap total %llu vs exact %llu: %+lld, bound 0..%llu (%lld live blocks)",
		  (unsigned long long)sampled, (unsigned long long)exact,
		  (long long)(sampled - exact), (unsigned long long)bound, count);
	cr_expect_geq(sampled, (uint64_t)live);
	/* the stated bound is not slack to hide a drift: the rounding is really there */
	cr_expect_gt(sampled, exact, "no rounding at all: are unsampled blocks counted?");
	th_log_free(&log);
	th_run_free(&r);
}

/* The cap is exact with sampling: the rounding is admitted under it, never past it. */
static void cap_exact(const char *path, const char *step)
{
	const unsigned long long cap = 64 * MiB;
	const char *argv[] = { th_build("examples/cap_hit"), path, step, "1G", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", "ALLOCGUARD_SAMPLE=512K", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.out);
	cr_assert(strstr(r.out, "refused=yes errno=ENOMEM"), "%s", r.out);
	long long got = th_kv(r.out, "got");
	cr_expect(got >= 0 && (unsigned long long)got <= cap, "got %lld over the cap", got);
	/* refused within a step, the rounding of 16K blocks (8 bytes each) and libc's bits */
	cr_expect((unsigned long long)got + 2 * MiB > cap, "refused early, at %lld", got);
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, v[0]), 0);
	cr_assert_gt(log.nsnaps, 0);
	uint64_t peak = log.snaps[log.nsnaps - 1].e[TH_PEAK_TRACKED];
	/* as without sampling: only the program's report after the refusal may use headroom */
	cr_expect_leq(peak, cap + 64 * 1024, "peak tracked %llu = cap + %lld",
		      (unsigned long long)peak, (long long)(peak - cap));
	th_log_free(&log);
	th_strv_free(v, n);
	th_run_free(&r);
}

/* (realloc with small steps reports EFAULT for its refusal with or without sampling, a
 * cap_hit matter left to its owner: the realloc case climbs in steps near the mean) */
Test(integration_sample, cap_exact_malloc) { cap_exact("malloc", "4000"); }
Test(integration_sample, cap_exact_calloc) { cap_exact("calloc", "4000"); }
Test(integration_sample, cap_exact_realloc) { cap_exact("realloc", "300K"); }

/* Unbiased: over several runs (the sampling seed differs each time) the live estimate
 * averages out to the exact total; each run alone stays within 15%. */
Test(integration_sample, live_estimate_unbiased_over_runs, .timeout = 120)
{
	const char *argv[] = { th_build("examples/sampler"), "25", NULL };
	double sum = 0;
	const int runs = 4;
	for (int i = 0; i < runs; i++) {
		th_run_t r;
		th_log_t log;
		run_logged(argv, "ALLOCGUARD_SAMPLE=256K", &r, &log);
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

/* The exit scan follows pointers through unsampled blocks (collected from their marks):
 * the kept list's sampled nodes are reachable only through unsampled ones, so if the scan
 * missed those the lost estimate would double. */
Test(integration_sample, exit_scan_reaches_through_unsampled_blocks)
{
	const char *argv[] = { th_build("examples/sample_reach"), "200000", NULL };
	th_run_t r;
	th_log_t log;
	run_logged(argv, "ALLOCGUARD_SAMPLE=64K", &r, &log);
	long long truth = th_kv(r.out, "lost_bytes");
	cr_assert_gt(truth, 0, "%s", r.out);
	uint64_t live, lost;
	th_log_heap_sums(&log, &live, &lost);
	double rel = ((double)lost - (double)truth) / (double)truth;
	cr_expect(rel > -0.3 && rel < 0.3, "lost estimate %llu vs %lld planted: %+.1f%%",
		  (unsigned long long)lost, truth, rel * 100);
	th_log_free(&log);
	th_run_free(&r);
}
