/* test_integration_chains.c: the cache of seen call chains in preload/stacks.c gives the
 * same stacks as unwinding every time: two paths whose innermost frames look the same are
 * told apart, at two depths, with exact counts. */
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

/* Live blocks per caller of helper (the second frame in the executable). */
static void by_path(const char *depth_opt, long long *a, long long *b, long long *pa,
		    long long *pb)
{
	const char *exe = th_build("examples/chain_paths");
	const char *argv[] = { exe, "30000", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=0", depth_opt, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	*pa = th_kv(r.out, "a");
	*pb = th_kv(r.out, "b");
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
		const char *top = th_stack_func(&log, st, &syms, exe);
		if (st->kind != 'h' || !top || strcmp(top, "helper") || st->nframes < 2)
			continue;
		th_stack_t up = *st;
		up.frames++;
		up.nframes--;
		const char *caller = th_stack_func(&log, &up, &syms, exe);
		long long live = (long long)log.val[i].live_count;   /* blocks, in the log */
		if (caller && !strcmp(caller, "via_a"))
			*a += live;
		else if (caller && !strcmp(caller, "via_b"))
			*b += live;
	}
	th_syms_free(&syms);
	th_log_free(&log);
	remove(v[0]);
	th_strv_free(v, n);
	th_run_free(&r);
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
