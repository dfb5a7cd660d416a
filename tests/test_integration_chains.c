/* test_integration_chains.c: the cache of seen call chains (preload/chains.c, pinned by
 * preload/stacks.c) gives the same stacks as unwinding every time: two paths whose
 * innermost frames look the same are told apart, at two depths, with exact counts; so are
 * two paths that share four inner frames and differ further out, taken alternately, with
 * fixed frames and with a frame that allocas a different size on each path, where the
 * other path's return address is still in place (every block counted against the path
 * the program took, as the program counts them), also where the frames have no unwind
 * information and libunwind follows their frame pointers. */
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
	dir = strdup(th_tmpdir("chains"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_chains, .init = setup, .fini = teardown);

/* Live blocks of the stacks whose first frame is `top` and that pass through `a` or `b`
 * (function names in exe), from the one log in dir. */
static void by_frame(const char *exe, const char *top, const char *a_fn, const char *b_fn,
		     long long *a, long long *b)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, v[0]), 0);
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0);
	*a = *b = 0;
	for (size_t i = 0; i < log.nstacks; i++) {
		const th_stack_t *st = &log.stacks[i];
		const char *f = th_stack_func(&log, st, &syms, exe);
		if (st->kind != 'h' || !f || strcmp(f, top))
			continue;
		long long live = (long long)log.val[i].live_count;   /* blocks, in the log */
		for (th_stack_t up = *st; up.nframes > 0; up.frames++, up.nframes--) {
			f = th_stack_func(&log, &up, &syms, exe);
			if (f && !strcmp(f, a_fn)) {
				*a += live;
				break;
			}
			if (f && !strcmp(f, b_fn)) {
				*b += live;
				break;
			}
		}
	}
	th_syms_free(&syms);
	th_log_free(&log);
	remove(v[0]);
	th_strv_free(v, n);
}

/* Run exe with args and the depth option; the program's own counts are "a=N b=N". */
static const char *run_paths(const char **argv, const char *depth_opt, long long *pa,
			     long long *pb, long long *same)
{
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=0", depth_opt, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	*pa = th_kv(r.out, "a");
	*pb = th_kv(r.out, "b");
	if (same)
		*same = th_kv(r.out, "same_leaf");
	th_run_free(&r);
	return argv[0];
}

/* Live blocks per caller of helper (the second frame in the executable). */
static void by_path(const char *depth_opt, long long *a, long long *b, long long *pa,
		    long long *pb)
{
	const char *argv[] = { th_build("examples/chain_paths"), "30000", NULL };
	by_frame(run_paths(argv, depth_opt, pa, pb, NULL), "helper", "via_a", "via_b", a, b);
}

/* chain_deep (exe) in a mode: blocks by root, against the program's counts. */
static void deep_paths(const char *exe, const char *mode)
{
	const char *argv[] = { th_build(exe), mode, "20000", NULL };
	long long a, b, pa, pb, same;
	by_frame(run_paths(argv, "ALLOCGUARD_DEPTH=64", &pa, &pb, &same), "leaf", "root_a",
		 "root_b", &a, &b);
	cr_assert_eq(same, 1, "leaf's frame is not at one address on both paths: the case "
		     "is not made");
	cr_assert_gt(pa, 0);
	cr_expect_eq(a, pa, "%s, root_a: %lld blocks in the log, %lld allocated", mode, a, pa);
	cr_expect_eq(b, pb, "%s, root_b: %lld blocks in the log, %lld allocated", mode, b, pb);
}

Test(integration_chains, paths_that_differ_further_out)
{
	deep_paths("examples/chain_deep", "fixed");
}

Test(integration_chains, a_grown_frame_keeps_no_stale_path)
{
	deep_paths("examples/chain_deep", "alloca");
}

/* The same without unwind information (as JIT code and V8's builtins): libunwind steps
 * each frame by its frame pointer, which the chain must pin. */
Test(integration_chains, a_grown_frame_without_unwind_info)
{
	deep_paths("examples/chain_deep_nocfi", "fixed");
	deep_paths("examples/chain_deep_nocfi", "alloca");
}

Test(integration_chains, look_alike_paths_told_apart)
{
	long long a, b, pa, pb;
	by_path("ALLOCGUARD_DEPTH=64", &a, &b, &pa, &pb);   /* cached chains */
	cr_assert_gt(pa, 0);
	cr_expect_eq(a, pa, "via_a: %lld blocks in the log, %lld allocated", a, pa);
	cr_expect_eq(b, pb, "via_b: %lld blocks in the log, %lld allocated", b, pb);
	long long a2, b2;
	by_path("ALLOCGUARD_DEPTH=65", &a2, &b2, &pa, &pb);   /* past the cache: plain unwinds */
	cr_expect_eq(a2, a);
	cr_expect_eq(b2, b);
}
