/* test_integration_allocators.c: the guard with another malloc in the process (issue 9):
 * jemalloc or tcmalloc preloaded after the guard (the hooks forward to it, so the cap holds
 * and every block is sized and freed by the allocator that made it), or before it (the
 * guard cannot see that heap and says so in one line at start).  Never a crash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define MiB (1024ull * 1024)

static const char *const libs[] = {
	"/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
	"/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
};

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("alloc"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_allocators, .init = setup, .fini = teardown);

/* Runs per order: one in make test, many under STRESS=1 (make stress). */
static int runs(void)
{
	const char *s = getenv("STRESS");
	return s && *s && strcmp(s, "0") ? 20 : 1;
}

static void clear_logs(void)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	for (size_t i = 0; i < n; i++)
		unlink(v[i]);
	th_strv_free(v, n);
}

/* examples/other_alloc under a 64 MiB cap with LD_PRELOAD set by hand: the guard and lib,
 * in the given order (th_run's own preload is off). */
static void run_with(th_run_t *r, const char *lib, int guard_first)
{
	if (access(lib, R_OK) != 0)
		cr_skip_test("%s is not installed (Debian: libjemalloc2, libtcmalloc-minimal4)", lib);
	char pre[1200];
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s:%s", guard_first ? th_preload() : lib,
		 guard_first ? lib : th_preload());
	const char *argv[] = { th_build("examples/other_alloc"), NULL };
	const char *env[] = { logpat, pre, "ALLOCGUARD_CAP=64M", NULL };
	cr_assert_eq(th_run(r, argv, env, 0, 60), 0);
	cr_assert(r->exited && r->code == 0, "other_alloc with %s: %s\nstdout: %s\nstderr: %s", pre,
		  th_run_desc(r), r->out, r->err);
	cr_expect_eq(th_kv(r->out, "usable_bad"), 0, "%s", r->out);
}

/* The guard first: the hooks forward to the other allocator, and the cap holds. */
static void guard_first(const char *lib)
{
	th_run_t r;
	run_with(&r, lib, 1);
	long long got = th_kv(r.out, "got");
	cr_expect(th_kv(r.out, "refused") == 1 && got >= 56 && got <= 64,
		  "under a 64 MiB cap with %s after the guard: %s", lib, r.out);
	cr_expect(strstr(r.err, "allocguard: cap"), "no cap line: %s", r.err);
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1, "want one log, found %zu", n);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, v[0]), 0);
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	cr_expect_lt(log.snaps[ex].e[TH_HEAP], MiB, "heap at exit %llu: the frees were not seen",
		     (unsigned long long)log.snaps[ex].e[TH_HEAP]);
	th_log_free(&log);
	th_strv_free(v, n);
	th_run_free(&r);
}

/* The other allocator first: one clear line at start naming it, and no crash. */
static void other_first(const char *lib)
{
	th_run_t r;
	run_with(&r, lib, 0);
	const char *line = th_line_from(r.err, "allocguard: malloc is served by ");
	cr_expect(line && strstr(line, lib) && strstr(line, "cap cannot be enforced"),
		  "no line saying %s takes the malloc calls: %s", lib, r.err);
	cr_expect_eq(th_count_lines(r.err, "allocguard: malloc is served by "), 1, "%s", r.err);
	th_run_free(&r);
}

static void repeat(void (*fn)(const char *), const char *lib)
{
	for (int i = 0, n = runs(); i < n; i++) {
		clear_logs();
		fn(lib);
	}
}

Test(integration_allocators, jemalloc_after_guard) { repeat(guard_first, libs[0]); }
Test(integration_allocators, jemalloc_before_guard) { repeat(other_first, libs[0]); }
Test(integration_allocators, tcmalloc_after_guard) { repeat(guard_first, libs[1]); }
Test(integration_allocators, tcmalloc_before_guard) { repeat(other_first, libs[1]); }

/* A non-PIE executable (node) makes its PLT entry malloc's canonical address: the guard
 * alone must not take that for an allocator ahead of it, and with one ahead it names the
 * library, not the program. */
Test(integration_allocators, a_program_plt_is_not_an_allocator_ahead)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	char env[1100];
	snprintf(env, sizeof env, "LD_PRELOAD=%s:%s", libs[0], th_preload());
	const char *argv[] = { "node", "-e", "Buffer.alloc(1 << 20)", NULL };
	const char *ahead[] = { env, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 1, 60), 0);
	cr_assert_eq(r.code, 0, "%s", th_run_desc(&r));
	cr_assert(!strstr(r.err, "served by"), "the guard alone misread node's PLT:\n%s", r.err);
	th_run_free(&r);
	cr_assert_eq(th_run(&r, argv, ahead, 0, 60), 0);
	cr_assert_eq(r.code, 0, "%s", th_run_desc(&r));
	cr_assert(strstr(r.err, "served by /") && strstr(r.err, "jemalloc"),
		  "with jemalloc ahead, the line names it:\n%s", r.err);
	th_run_free(&r);
}
