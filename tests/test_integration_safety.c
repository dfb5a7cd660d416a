/* test_integration_safety.c: the guard never makes its host hang, crash or misbehave where
 * the program bare does not: descriptor calls that never return (cancelled, jumped out of,
 * lingering), refused descriptor arguments, and the other cases of docs/design-safety.md.
 * Each program is also run bare, which must behave the same.  Races repeat; STRESS=1 (make
 * stress) runs the long forms. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(safety, .timeout = 600);

static int runs(int quick, int stress)
{
	return getenv("STRESS") ? stress : quick;
}

/* Run argv bare and under the guard (with env): both must exit 0 and print want, and the
 * guard's run must leave one readable log with an exit snapshot. */
static void same_as_bare(const char *const *argv, const char *const *env, const char *want,
			 int timeout_s)
{
	th_run_t bare;
	cr_assert_eq(th_run(&bare, argv, NULL, 0, timeout_s), 0);
	cr_assert(bare.exited && bare.code == 0, "bare %s %s: %s\n%s", argv[0], argv[1],
		  th_run_desc(&bare), bare.out);
	th_run_free(&bare);
	th_run_t r;
	th_log_t log;
	char why[800];
	int rc = th_run_one_log("safety", argv, env, timeout_s, &r, &log, why, sizeof why);
	cr_assert(r.exited && r.code == 0, "%s %s under the guard: %s\nstdout: %s\nstderr: %s",
		  argv[0], argv[1], th_run_desc(&r), r.out, r.err);
	cr_expect(strstr(r.out, want), "%s %s: stdout %s", argv[0], argv[1], r.out);
	cr_expect_eq(rc, 0, "%s", why);
	if (rc == 0)
		cr_expect_geq(th_log_find(&log, "exit"), 0, "%s %s: no exit snapshot", argv[0],
			      argv[1]);
	th_log_free(&log);
	th_run_free(&r);
}

/* A thread cancelled inside a blocking close(): the guard's later descriptor sections (its
 * log, created at exit with no interval) used to wait for that close forever. */
Test(safety, thread_cancelled_inside_close)
{
	const char *argv[] = { th_build("examples/fdhang"), "cancel", NULL };
	const char *iv0[] = { "ALLOCGUARD_INTERVAL=0", NULL };
	const char *iv1[] = { "ALLOCGUARD_INTERVAL=1s", NULL };
	for (int i = 0; i < runs(2, 10); i++) {
		same_as_bare(argv, iv0, "ok cancel", 25);
		same_as_bare(argv, iv1, "ok cancel", 25);
	}
}

/* A signal handler siglongjmps out of a blocking close() in one thread; another exits. */
Test(safety, siglongjmp_out_of_close)
{
	const char *argv[] = { th_build("examples/fdhang"), "jump", NULL };
	const char *iv0[] = { "ALLOCGUARD_INTERVAL=0", NULL };
	const char *iv1[] = { "ALLOCGUARD_INTERVAL=10ms", NULL };
	for (int i = 0; i < runs(2, 10); i++) {
		same_as_bare(argv, iv0, "ok jump", 25);
		same_as_bare(argv, iv1, "ok jump", 25);
	}
}

/* exit() while another thread blocks in close() for 60 s (SO_LINGER): the exit must not
 * wait for it (a run that waits is killed by the 25 s limit). */
Test(safety, exit_does_not_wait_for_a_lingering_close)
{
	const char *argv[] = { th_build("examples/fdhang"), "linger", "60", NULL };
	const char *env[] = { "ALLOCGUARD_INTERVAL=10ms", NULL };
	same_as_bare(argv, env, "ok linger", 25);
}

/* dup2(fd, -1), dup3(fd, -1, 0) fail with EBADF at once (they looped until the log existed:
 * forever with no interval); close_range(10, 5, 0) fails with EINVAL. */
Test(safety, refused_descriptor_arguments)
{
	const char *argv[] = { th_build("examples/fdhang"), "badfd", NULL };
	const char *iv0[] = { "ALLOCGUARD_INTERVAL=0", NULL };
	const char *iv1[] = { "ALLOCGUARD_INTERVAL=1s", NULL };
	same_as_bare(argv, iv0, "ok badfd", 25);
	same_as_bare(argv, iv1, "ok badfd", 25);
}

/* fork() from a signal handler that interrupted an allocation holding a block-table shard:
 * the fork preparation waited for that shard, held by its own thread. */
Test(safety, fork_in_a_signal_handler_during_allocation)
{
	const char *argv[] = { th_build("examples/forksig"), "200", NULL };
	const char *env[] = { "ALLOCGUARD_INTERVAL=0", NULL };
	for (int i = 0; i < runs(3, 20); i++)
		same_as_bare(argv, env, "forks=200", 60);
}

/* Threads that only allocate are cancelled: never inside malloc or free (a waiting shard
 * lock slept in nanosleep, a cancellation point; in C++ a free in a noexcept destructor then
 * terminates the program). */
Test(safety, malloc_and_free_are_not_cancellation_points)
{
	const char *argv[] = { th_build("examples/cancelalloc"), "40", "32", NULL };
	for (int i = 0; i < runs(2, 10); i++) {
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, NULL, 1, 120), 0);
		cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
		cr_expect_eq(th_kv(r.out, "cancels"), 1280, "%s", r.out);
		cr_expect_eq(th_kv(r.out, "inside"), 0, "run %d: cancelled inside malloc or free: %s",
			     i, r.out);
		th_run_free(&r);
	}
}

/* A daemon closes stderr and opens its data file on descriptor 2: the guard's warning and
 * critical lines must not be written into it (they are still in the log). */
Test(safety, warnings_never_go_into_what_descriptor_2_became)
{
	for (int i = 0; i < runs(2, 5); i++) {
		char *dir = strdup(th_tmpdir("fd2"));
		char data[700];
		snprintf(data, sizeof data, "%s/data.txt", dir);
		const char *argv[] = { th_build("examples/stderr_reused"), data, NULL };
		const char *env[] = { "ALLOCGUARD_CAP=10M", "ALLOCGUARD_INTERVAL=10ms", NULL };
		th_run_t r;
		th_log_t log;
		char why[800];
		int rc = th_run_one_log("fd2log", argv, env, 60, &r, &log, why, sizeof why);
		cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
		cr_expect_eq(th_kv(r.out, "records"), 100, "%s", r.out);
		char *got = th_slurp(data, NULL);
		cr_assert(got, "no data file");
		cr_expect_eq(th_count_lines(got, "record "), 100, "%s", got);
		cr_expect_eq(th_nlines(got), 100, "run %d: lines not the program's in its file:\n%s",
			     i, got);
		cr_expect_eq(rc, 0, "%s", why);
		if (rc == 0)
			cr_expect_geq(th_log_events(&log, "critical"), 1, "the event is still logged");
		free(got);
		th_log_free(&log);
		th_run_free(&r);
		th_rmtree(dir);
		free(dir);
	}
}

/* close(0) then open() must return 0: the guard's own descriptors (its /proc reads every
 * snapshot, creating its log) took the number in between. */
Test(safety, lowest_free_descriptor_stays_the_programs)
{
	const char *argv[] = { th_build("examples/lowfd"), "3000", NULL };
	const char *env[] = { "ALLOCGUARD_INTERVAL=10ms", NULL };
	for (int i = 0; i < runs(2, 10); i++) {
		th_run_t r;
		th_log_t log;
		char why[800];
		int rc = th_run_one_log("lowfd", argv, env, 120, &r, &log, why, sizeof why);
		cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
		cr_expect_eq(th_kv(r.out, "iterations"), 3000, "%s", r.out);
		cr_expect_eq(th_kv(r.out, "wrong"), 0, "run %d: open() did not return 0: %s", i, r.out);
		cr_expect_eq(rc, 0, "%s", why);
		th_log_free(&log);
		th_run_free(&r);
	}
}

/* A program that holds every descriptor its limit (64) allows when it exits, with no
 * snapshot before: the log's descriptor was reserved at start-up, so the log is there. */
Test(safety, every_descriptor_in_use_at_exit_still_logs)
{
	const char *argv[] = { th_build("examples/lowfd"), "10", "full", NULL };
	const char *env[] = { "ALLOCGUARD_INTERVAL=0", NULL };
	th_run_t r;
	th_log_t log;
	char why[800];
	int rc = th_run_one_log("fdfull", argv, env, 60, &r, &log, why, sizeof why);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	cr_expect_eq(th_kv(r.out, "emfile"), 1, "the program did not fill its table: %s", r.out);
	cr_assert_eq(rc, 0, "%s\nstderr: %s", why, r.err);
	cr_expect_geq(th_log_find(&log, "exit"), 0, "no exit snapshot");
	th_log_free(&log);
	th_run_free(&r);
}

/* Two threads call exit() at once: the log was empty or missing (the second ended the
 * process in the middle of the first's exit snapshot).  Now one line says so and the log
 * has its exit snapshot. */
Test(safety, two_threads_calling_exit)
{
	const char *argv[] = { th_build("examples/exit_twice"), NULL };
	for (int i = 0; i < runs(5, 30); i++) {
		th_run_t r;
		th_log_t log;
		char why[800];
		int rc = th_run_one_log("exit2", argv, NULL, 60, &r, &log, why, sizeof why);
		cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
		cr_expect_eq(rc, 0, "run %d: %s", i, why);
		if (rc == 0)
			cr_expect_geq(th_log_find(&log, "exit"), 0, "run %d: no exit snapshot", i);
		cr_expect_leq(th_count_lines(r.err, "allocguard:"), 1, "%s", r.err);
		th_log_free(&log);
		th_run_free(&r);
	}
}

/* malloc in a signal handler on an 8 KiB sigaltstack, and in a thread with about 5 KiB of
 * stack left: bare glibc manages both; unwinding with libunwind there overflowed the
 * stack (SIGSEGV).  The stack is then taken by frame pointers, and one line says so. */
Test(safety, allocation_with_little_stack_left)
{
	const char *alt[] = { th_build("examples/lowstack"), "altstack", "10", NULL };
	const char *thr[] = { th_build("examples/lowstack"), "thread", "10", "5000", NULL };
	for (int i = 0; i < runs(2, 10); i++) {
		same_as_bare(alt, NULL, "ok altstack blocks=40", 60);
		same_as_bare(thr, NULL, "ok thread blocks=10", 60);
	}
}

/* A timer's handler siglongjmps out of malloc and free: the thread's later allocations
 * went untracked, silently (a 64 MiB peak logged as 48 B).  Now the thread is tracked
 * again, or (the jump left a lock held: libunwind's, the loader's) one line says it is not.
 * The program is undefined: a jump out of glibc's own malloc while it holds the arena's
 * lock deadlocks the next malloc, bare as well (seen in gdb: main_arena's lock, no frame of
 * ours), and a jump out of glibc's malloc or free in the middle of its thread cache's
 * update crashes a later malloc (seen in gdb: tcache_get, called from the hook).  Bare, 107
 * runs in 300 crashed; under the guard, whose hooks now spend little time around glibc's
 * calls, 5 in 300.  A run that never ends or dies of SIGSEGV or SIGABRT is therefore
 * allowed once in ten (at least one); every other run must end well and say the jump. */
Test(safety, siglongjmp_out_of_malloc)
{
	const char *argv[] = { th_build("examples/jump_out_of_malloc"), "20", NULL };
	int n = runs(5, 30), broken_in_glibc = 0;
	for (int i = 0; i < n; i++) {
		th_run_t r;
		th_log_t log;
		char why[800];
		int rc = th_run_one_log("jump", argv, NULL, 30, &r, &log, why, sizeof why);
		bool glibcs = r.timed_out || (r.signaled && (r.sig == SIGSEGV || r.sig == SIGABRT));
		if (glibcs && ++broken_in_glibc <= (n + 9) / 10) {
			th_log_free(&log);
			th_run_free(&r);
			continue;
		}
		cr_assert(r.exited && r.code == 0, "run %d: %s", i, th_run_desc(&r));
		cr_assert_eq(rc, 0, "%s", why);
		long e = th_log_find(&log, "exit");
		cr_assert_geq(e, 0, "no exit snapshot");
		uint64_t peak = log.snaps[e].e[TH_PEAK_HEAP];
		bool stuck = strstr(r.err, "no longer tracked") != NULL;
		cr_expect(peak >= 64ull << 20 || stuck, "run %d: peak %llu and nothing said: %s", i,
			  (unsigned long long)peak, r.err);
		cr_expect(strstr(r.err, "siglongjmp"), "run %d: the jump was not said: %s", i, r.err);
		th_log_free(&log);
		th_run_free(&r);
	}
}

/* Under a cap, a program aborts on the NULL the cap gave it (C: abort(); C++: an uncaught
 * bad_alloc): the refusal was missing from the log (7 of 10), or the log was empty.  The
 * refusal's snapshot is now on disk before the program sees the NULL. */
Test(safety, refusal_logged_before_the_program_aborts)
{
	const char *progs[] = { "examples/abort_on_null", "examples/cxx_abort_on_null" };
	const char *env[] = { "ALLOCGUARD_CAP=100M", NULL };
	for (int i = 0; i < runs(5, 20); i++) {
		for (int p = 0; p < 2; p++) {
			const char *argv[] = { th_build(progs[p]), NULL };
			th_run_t r;
			th_log_t log;
			char why[800];
			int rc = th_run_one_log("capabort", argv, env, 60, &r, &log, why, sizeof why);
			cr_expect(r.signaled && r.sig == 6, "%s: %s", progs[p], th_run_desc(&r));
			cr_expect_eq(rc, 0, "run %d: %s", i, why);
			if (rc == 0)
				cr_expect_geq(th_log_events(&log, "cap"), 1, "run %d %s: no refusal in "
					      "the log", i, progs[p]);
			th_log_free(&log);
			th_run_free(&r);
		}
	}
}
