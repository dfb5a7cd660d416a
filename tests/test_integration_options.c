/* test_integration_options.c: bad ALLOCGUARD_* values stop the program before it runs
 * (issue 2): its stdout stays empty, the exit status is 2, and stderr holds exactly one
 * `allocguard:` line naming the variable.  Good values, for contrast, change nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("opts"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_options, .init = setup, .fini = teardown);

/* env holds the bad setting(s); names lists the variables the message may name. */
static void refused(const char *prog, const char *const *env, const char *name1,
		    const char *name2)
{
	const char *full[8];
	size_t k = 0;
	full[k++] = logpat;
	for (size_t i = 0; env[i]; i++)
		full[k++] = env[i];
	full[k] = NULL;
	const char *argv[] = { prog, "hello", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, full, 1, 30), 0);
	cr_expect(r.exited && r.code == 2, "%s with %s: expected exit 2, got %s", prog, env[0],
		  th_run_desc(&r));
	cr_expect_eq(r.outlen, 0, "%s ran although %s is bad; stdout: %s", prog, env[0], r.out);
	cr_expect_eq(th_nlines(r.err), 1, "expected one stderr line for %s, got:\n%s", env[0], r.err);
	cr_expect_eq(strncmp(r.err, "allocguard:", 11), 0, "stderr does not start with allocguard: %s",
		     r.err);
	cr_expect(strstr(r.err, name1) || (name2 && strstr(r.err, name2)),
		  "the message does not name %s: %s", name1, r.err);
	th_run_free(&r);
}

#define BAD(test, n1, n2, ...) \
	Test(integration_options, test) \
	{ \
		const char *env[] = { __VA_ARGS__, NULL }; \
		refused("/bin/echo", env, n1, n2); \
		refused(th_build("examples/leaks"), env, n1, n2); \
	}

BAD(cap_unit, "ALLOCGUARD_CAP", NULL, "ALLOCGUARD_CAP=12Q")
BAD(warn_zero, "ALLOCGUARD_WARN", NULL, "ALLOCGUARD_WARN=0")
BAD(warn_above_critical, "ALLOCGUARD_WARN", "ALLOCGUARD_CRITICAL", "ALLOCGUARD_WARN=95",
    "ALLOCGUARD_CRITICAL=90")
BAD(on_cap_enum, "ALLOCGUARD_ON_CAP", NULL, "ALLOCGUARD_ON_CAP=explode")
BAD(interval_unit, "ALLOCGUARD_INTERVAL", NULL, "ALLOCGUARD_INTERVAL=5x")
BAD(depth_zero, "ALLOCGUARD_DEPTH", NULL, "ALLOCGUARD_DEPTH=0")
BAD(chunk_too_small, "ALLOCGUARD_CHUNK", NULL, "ALLOCGUARD_CHUNK=1")
BAD(sample_garbage, "ALLOCGUARD_SAMPLE", NULL, "ALLOCGUARD_SAMPLE=lots")

/* The same program with valid, unusual settings runs exactly as it does bare. */
Test(integration_options, good_values_run)
{
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=50%", "ALLOCGUARD_WARN=50",
			      "ALLOCGUARD_CRITICAL=60", "ALLOCGUARD_ON_CAP=warn",
			      "ALLOCGUARD_INTERVAL=250ms", "ALLOCGUARD_DEPTH=8",
			      "ALLOCGUARD_CHUNK=4K", "ALLOCGUARD_SAMPLE=0", NULL };
	th_run_t bare, r;
	cr_assert_eq(th_run(&bare, argv, NULL, 0, 30), 0);
	cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
	cr_expect(r.exited && r.code == 0, "%s", th_run_desc(&r));
	cr_expect_str_eq(r.out, bare.out);
	th_log_t log;
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1, "expected one log, found %zu", n);
	cr_assert_eq(th_log_load(&log, v[0]), 0);
	const char *depth = th_log_opt(&log, "depth"), *onc = th_log_opt(&log, "on_cap");
	cr_expect(depth && !strcmp(depth, "8"), "O depth %s", depth ? depth : "absent");
	cr_expect(onc && !strcmp(onc, "warn"), "O on_cap %s", onc ? onc : "absent");
	for (size_t i = 0; i < log.nstacks; i++)
		cr_expect_leq(log.stacks[i].nframes, 8, "stack %llu has %zu frames with depth 8",
			      (unsigned long long)log.stacks[i].id, log.stacks[i].nframes);
	th_log_free(&log);
	th_strv_free(v, n);
	th_run_free(&bare);
	th_run_free(&r);
}

/* CAP=N% is a share of the memory the process may use: the cgroup's limit, else RAM. */
Test(integration_options, cap_percent_of_memory)
{
	uint64_t limit = 0;
	char *cg = th_slurp("/sys/fs/cgroup/memory.max", NULL);
	if (cg && cg[0] >= '0' && cg[0] <= '9')
		limit = strtoull(cg, NULL, 10);
	free(cg);
	if (!limit) {
		char *mi = th_slurp("/proc/meminfo", NULL);
		cr_assert(mi);
		char *p = strstr(mi, "MemTotal:");
		cr_assert(p);
		limit = strtoull(p + 9, NULL, 10) * 1024;
		free(mi);
	}
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=10%", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, v[0]), 0);
	const char *cap = th_log_opt(&log, "cap");
	cr_assert(cap, "no O cap line");
	double got = strtod(cap, NULL), want = (double)limit / 10;
	cr_expect(got > want * 0.98 && got < want * 1.02, "O cap %s, expected about %.0f (10%% of %llu)",
		  cap, want, (unsigned long long)limit);
	th_log_free(&log);
	th_strv_free(v, n);
	th_run_free(&r);
}

/* A misspelt setting is said once, and the program runs as it would bare. */
Test(integration_options, unknown_setting_warns_once)
{
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAPP=1G", NULL };
	th_run_t bare, r;
	cr_assert_eq(th_run(&bare, argv, NULL, 0, 30), 0);
	cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
	cr_expect(r.exited && r.code == bare.code, "%s", th_run_desc(&r));
	cr_expect_str_eq(r.out, bare.out);
	cr_expect_eq(th_count_lines(r.err, "allocguard: warning: ignoring ALLOCGUARD_CAPP"), 1,
		     "stderr: %s", r.err);
	th_run_free(&bare);
	th_run_free(&r);
}
