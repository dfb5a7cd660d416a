/* test_reach.c: the exit scan (preload/reach.c) at scale: lost, direct and indirect
 * figures exact to the byte on examples/live_blocks' "shapes" workload, which reaches
 * every path of the scan's block reads (blocks read together in address order and kept as
 * edges, blocks past the edge budget or larger than the read buffer read when reached,
 * mmapped chunks in clusters of their own, interior pointers found through the block
 * index), and the plain list of the benchmark. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

typedef struct {
	uint64_t lost_b, lost_n, ind_b, ind_n, live_b, live_n;
} sums_t;

static void run_guarded(const char *const *argv, const char *const *env_in, sums_t *s,
			char **out)
{
	memset(s, 0, sizeof *s);
	th_run_t r;
	th_log_t log;
	char why[300];
	cr_assert_eq(th_run_one_log("reach", argv, env_in, 300, &r, &log, why, sizeof why), 0,
		     "%s", why);
	cr_assert(r.exited && r.code == 0, "%s: %s\n%s", argv[0], th_run_desc(&r), r.err);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "no exit snapshot");
	for (size_t i = 0; i < log.nstacks; i++) {
		if (log.stacks[i].kind != 'h')
			continue;
		const th_val_t *v = &log.val[i];
		s->lost_b += v->lost_bytes;
		s->lost_n += v->lost_count;
		s->ind_b += v->indirect_bytes;
		s->ind_n += v->indirect_count;
		s->live_b += v->live_bytes;
		s->live_n += v->live_count;
	}
	*out = strdup(r.out);
	th_log_free(&log);
	th_run_free(&r);
}

static void shapes(const char *n)
{
	const char *argv[] = { th_build("examples/live_blocks"), n, "shapes", NULL };
	sums_t s;
	char *out;
	run_guarded(argv, NULL, &s, &out);
	long long lb = th_kv(out, "lost_bytes"), lc = th_kv(out, "lost_count");
	long long ib = th_kv(out, "indirect_bytes"), ic = th_kv(out, "indirect_count");
	cr_assert(lb > 0 && ib > 0, "no expect line in\n%s", out);
	cr_expect_eq(s.lost_b, (uint64_t)lb, "shapes %s: lost %llu bytes, planted %lld", n,
		     (unsigned long long)s.lost_b, lb);
	cr_expect_eq(s.lost_n, (uint64_t)lc, "shapes %s: lost %llu blocks, planted %lld", n,
		     (unsigned long long)s.lost_n, lc);
	cr_expect_eq(s.ind_b, (uint64_t)ib, "shapes %s: indirect %llu bytes, planted %lld", n,
		     (unsigned long long)s.ind_b, ib);
	cr_expect_eq(s.ind_n, (uint64_t)ic, "shapes %s: indirect %llu blocks, planted %lld", n,
		     (unsigned long long)s.ind_n, ic);
	free(out);
}

Test(reach, shapes_exact_small, .timeout = 120)
{
	shapes("3000");
}

Test(reach, shapes_exact_past_the_edge_budget, .timeout = 300)
{
	shapes("100000");
}

/* The benchmark's list: its head dies with main's frame, so the whole list is lost, one
 * node directly and the rest through it (memcheck says the same). */
Test(reach, long_list_one_direct_rest_indirect, .timeout = 120)
{
	const char *argv[] = { th_build("examples/live_blocks"), "200000", NULL };
	sums_t s;
	char *out;
	run_guarded(argv, NULL, &s, &out);
	cr_expect_eq(s.lost_n, 200000, "lost %llu blocks", (unsigned long long)s.lost_n);
	cr_expect_eq(s.lost_b, 200000 * 32, "lost %llu bytes", (unsigned long long)s.lost_b);
	cr_expect_eq(s.ind_n, 199999, "indirect %llu blocks", (unsigned long long)s.ind_n);
	cr_expect_eq(s.ind_b, 199999 * 32, "indirect %llu bytes", (unsigned long long)s.ind_b);
	free(out);
}
