/* test_lsan_scenarios.c: the exit scan (preload/reach.c, threadstop.c, glibcheap.c) on
 * LeakSanitizer's own scenarios (compiler-rt/test/lsan/TestCases), written as plain programs
 * (examples/lsan_threads.c, examples/lsan_heap.c): the guard's lost figures must equal what
 * the scenario means, and so must memcheck's and LSan's (clang -fsanitize=leak) on the same
 * source, whether the scan runs in the process (a bare preload) or in a copy-on-write child
 * (under `allocguard run`, two runs in three).  The threaded ones run several times (a race could hide in the thread stop; many
 * more with STRESS=1).  Also: the figures of one site at exit are read at one moment while
 * threads still allocate (examples/exit_allocating.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "leakpeers.h"

typedef struct {
	const char *prog, *mode;
	uint64_t lost_b, lost_n;   /* what the scenario means */
	int stopped;               /* a thread must have been stopped (its registers judged) */
	int bytes_differ;          /* LSan counts malloc(0) as 1 byte: compare blocks only */
	int not_stopped;           /* a thread must have been left to the older rule */
} scenario_t;

typedef struct {
	uint64_t lost_b, lost_n, stopped, not_stopped, scanner;
	char verdict[16];
} guard_fig_t;

static int runs(int normal, int stress)
{
	return getenv("STRESS") ? stress : normal;
}

/* One run: with a bare preload (the scan in the process), or under `run` (in a child). */
static void guarded(const scenario_t *sc, int via_run, guard_fig_t *g)
{
	const char *argv[] = { th_build(sc->prog), sc->mode, NULL };
	th_run_t r;
	th_log_t log;
	char why[300];
	int rc = via_run ? th_run_one_log_run("lsan", argv, NULL, 120, &r, &log, why, sizeof why)
			 : th_run_one_log("lsan", argv, NULL, 120, &r, &log, why, sizeof why);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert(r.exited && r.code == 0, "%s %s: %s\n%s", sc->prog, sc->mode, th_run_desc(&r),
		  r.err);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "%s %s: no exit snapshot", sc->prog, sc->mode);
	memset(g, 0, sizeof *g);
	for (size_t i = 0; i < log.nstacks; i++) {
		if (log.stacks[i].kind != 'h')
			continue;
		g->lost_b += log.val[i].lost_bytes;
		g->lost_n += log.val[i].lost_count;
	}
	g->stopped = log.threads_stopped;
	g->not_stopped = log.threads_not_stopped;
	g->scanner = log.scanner;
	snprintf(g->verdict, sizeof g->verdict, "%s", log.verdict);
	th_log_free(&log);
	th_run_free(&r);
}

static void check(const scenario_t *sc)
{
	int n = runs(3, 25), children = 0;
	for (int i = 0; i < n; i++) {
		guard_fig_t g;
		guarded(sc, i % 3 != 0, &g);   /* two runs in three under `run`: a child's scan */
		children += g.scanner != 0;
		cr_expect_str_eq(g.verdict, "judged", "%s %s: the exit scan's verdict", sc->prog,
				 sc->mode);
		cr_expect(g.lost_b == sc->lost_b && g.lost_n == sc->lost_n,
			  "%s %s (run %d): lost %llu bytes in %llu blocks, the scenario means %llu in "
			  "%llu", sc->prog, sc->mode, i, (unsigned long long)g.lost_b,
			  (unsigned long long)g.lost_n, (unsigned long long)sc->lost_b,
			  (unsigned long long)sc->lost_n);
		if (sc->stopped)
			cr_expect_geq(g.stopped, 1, "%s %s: no thread was stopped for the scan",
				      sc->prog, sc->mode);
		if (sc->not_stopped)
			cr_expect_geq(g.not_stopped, 1, "%s %s: every thread was stopped", sc->prog,
				      sc->mode);
	}
	cr_expect_geq(children, 1, "%s %s: the scan never ran in a child under run", sc->prog,
		      sc->mode);
	const char *argv[] = { th_build(sc->prog), sc->mode, NULL };
	char why[2400];
	if (th_have_cmd("valgrind")) {
		th_peer_t vg;
		int code;
		cr_assert_eq(th_memcheck(argv, NULL, &vg, &code, why, sizeof why), 0, "%s", why);
		cr_expect(vg.def_b + vg.ind_b == sc->lost_b && vg.def_n + vg.ind_n == sc->lost_n,
			  "%s %s: memcheck lost %llu bytes in %llu blocks, the scenario means %llu in "
			  "%llu", sc->prog, sc->mode, (unsigned long long)(vg.def_b + vg.ind_b),
			  (unsigned long long)(vg.def_n + vg.ind_n), (unsigned long long)sc->lost_b,
			  (unsigned long long)sc->lost_n);
	}
	if (th_have_cmd("clang")) {
		char *dir = th_tmpdir("lsan");
		cr_assert_not_null(dir);
		char exe[600], src[200];
		snprintf(exe, sizeof exe, "%s/%s", dir, sc->prog + strlen("examples/"));
		snprintf(src, sizeof src, "%s.c", sc->prog);
		cr_assert_eq(th_lsan_build(src, exe, why, sizeof why), 0, "%s", why);
		const char *largv[] = { exe, sc->mode, NULL };
		th_peer_t ls;
		cr_assert_eq(th_lsan_run(largv, &ls, why, sizeof why), 0, "%s", why);
		cr_expect(ls.def_n == sc->lost_n && (sc->bytes_differ || ls.def_b == sc->lost_b),
			  "%s %s: LSan lost %llu bytes in %llu allocations, the scenario means %llu "
			  "in %llu", sc->prog, sc->mode, (unsigned long long)ls.def_b,
			  (unsigned long long)ls.def_n, (unsigned long long)sc->lost_b,
			  (unsigned long long)sc->lost_n);
		th_rmtree(dir);
	}
}

#define THREADS "examples/lsan_threads"
#define HEAP "examples/lsan_heap"

/* use_registers: a spinning thread's only pointer in a callee-saved register. */
Test(lsan, use_registers_r15, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "r15", .stopped = 1 });
}

/* The same in a vector register. */
Test(lsan, use_registers_xmm0, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "xmm0", .stopped = 1 });
}

/* use_stacks_threaded: a blocked thread's stack. */
Test(lsan, use_stacks_threaded, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "stack" });
}

/* use_tls_static: a live thread's __thread pointer. */
Test(lsan, use_tls_static, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "tls" });
}

/* cleanup_in_tsd_destructor: the process exits while a thread runs the program's TSD
 * destructors (after the guard's own): its static TLS and frames are still roots. */
Test(lsan, cleanup_in_tsd_destructor_spinning, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "tsd-spin", .stopped = 1 });
}

Test(lsan, cleanup_in_tsd_destructor_sleeping, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "tsd-sleep" });
}

/* detached_thread_dlsym: glibc's dlerror state of a thread inside its TSD destructors. */
Test(lsan, detached_thread_dlsym, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "dlsym" });
}

/* A live thread on glibc's cached stack of an ended thread that had allocated. */
Test(lsan, live_thread_on_a_reused_stack, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "reused" });
}

/* A thread that blocks every signal is not stopped, and the exit does not wait for it. */
Test(lsan, thread_blocking_the_stop_signal_keeps_the_older_rule, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "blocks", .not_stopped = 1 });
}

Test(lsan, threads_control_lost, .timeout = 600)
{
	check(&(scenario_t){ .prog = THREADS, .mode = "lost", .lost_b = 1337, .lost_n = 1 });
}

/* malloc_zero: a lost malloc(0) is 0 bytes in 1 block (LSan says 1 byte). */
Test(lsan, malloc_zero_lost, .timeout = 600)
{
	check(&(scenario_t){ .prog = HEAP, .mode = "malloc0", .lost_n = 1, .bytes_differ = 1 });
}

Test(lsan, malloc_zero_kept, .timeout = 600)
{
	check(&(scenario_t){ .prog = HEAP, .mode = "malloc0-kept" });
}

/* A thread arena with no live block left holds a stale copy in freed memory: not a root. */
Test(lsan, stale_pointer_in_an_empty_thread_arena, .timeout = 600)
{
	check(&(scenario_t){ .prog = HEAP, .mode = "arena", .lost_b = 1337, .lost_n = 1 });
}

Test(lsan, heap_control_global, .timeout = 600)
{
	check(&(scenario_t){ .prog = HEAP, .mode = "global" });
}

Test(lsan, heap_control_lost, .timeout = 600)
{
	check(&(scenario_t){ .prog = HEAP, .mode = "lost", .lost_b = 1337, .lost_n = 1 });
}

/* Threads still allocating and freeing blocks of one size per site at exit: each site's
 * live bytes are its size times its live blocks (lost and reachable alike). */
Test(lsan, one_sites_figures_at_one_moment, .timeout = 900)
{
	const char *exe = th_build("examples/exit_allocating");
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0);
	int n = runs(8, 60);
	for (int i = 0; i < n; i++) {
		const char *argv[] = { exe, "4", "30", NULL };
		th_run_t r;
		th_log_t log;
		char why[300];
		cr_assert_eq(th_run_one_log("cons", argv, NULL, 120, &r, &log, why, sizeof why), 0,
			     "%s", why);
		cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
		cr_assert_geq(th_log_find(&log, "exit"), 0, "no exit snapshot");
		for (size_t k = 0; k < log.nstacks; k++) {
			const char *fn = th_stack_func(&log, &log.stacks[k], &syms, exe);
			uint64_t size = !fn ? 0 : strcmp(fn, "big") == 0 ? 1000000
					  : strcmp(fn, "small") == 0 ? 1000 : 0;
			const th_val_t *v = &log.val[k];
			if (!size)
				continue;
			cr_expect_eq(v->live_bytes, size * v->live_count,
				     "run %d, site %s: %llu bytes live in %llu blocks", i, fn,
				     (unsigned long long)v->live_bytes,
				     (unsigned long long)v->live_count);
			cr_expect_eq(v->lost_bytes, size * v->lost_count,
				     "run %d, site %s: %llu bytes lost in %llu blocks", i, fn,
				     (unsigned long long)v->lost_bytes,
				     (unsigned long long)v->lost_count);
		}
		th_log_free(&log);
		th_run_free(&r);
	}
	th_syms_free(&syms);
}
