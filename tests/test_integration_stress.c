/* test_integration_stress.c: the preload under pressure from real programs: libc semantics
 * kept (examples/semantics), exact per-call-site totals from racing threads (mtbench),
 * threads racing to the cap never push tracked memory past it (cap_race), a storm of
 * SIGUSR2 during allocation neither deadlocks nor damages the log (signal_storm), and
 * snapshots every few milliseconds of threads allocating hard are all whole and coherent
 * (snap_stress).  STRESS=1 in the environment runs the long forms. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "model.h"

#define MiB (1024ull * 1024)

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("stress"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_stress, .init = setup, .fini = teardown, .timeout = 240);

static void load_only_log(th_log_t *log)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1, "expected exactly one log in %s, found %zu", dir, n);
	cr_assert_eq(th_log_load(log, v[0]), 0, "%s: no usable header: %s", v[0], log->damage);
	cr_expect_not(log->damaged, "%s is damaged: %s", v[0], log->damage);
	th_strv_free(v, n);
}

static uint64_t max_peak(const th_log_t *log, int field)
{
	uint64_t m = 0;
	for (size_t i = 0; i < log->nsnaps; i++)
		if (log->snaps[i].e[field] > m)
			m = log->snaps[i].e[field];
	return m;
}

Test(integration_stress, libc_semantics_kept)
{
	const char *argv[] = { th_build("examples/semantics"), NULL };
	const char *env[] = { logpat, NULL };
	th_run_t bare, r;
	cr_assert_eq(th_run(&bare, argv, env, 0, 30), 0);
	cr_assert(bare.exited && bare.code == 0, "bare: %s\n%s", th_run_desc(&bare), bare.out);
	cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
	cr_expect(r.exited && r.code == 0, "guarded: %s\n%s", th_run_desc(&r), r.out);
	cr_expect_str_eq(r.out, bare.out, "libc semantics differ under the guard");
	th_log_t log;
	load_only_log(&log);
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	/* The program never holds more than ~9 MiB; failed huge requests must not count. */
	cr_expect_lt(log.snaps[ex].e[TH_PEAK_TRACKED], 32 * MiB,
		     "peak tracked %llu bytes (peak heap %llu) for a program that never held more "
		     "than ~9 MiB: refused or failed requests were counted",
		     (unsigned long long)log.snaps[ex].e[TH_PEAK_TRACKED],
		     (unsigned long long)log.snaps[ex].e[TH_PEAK_HEAP]);
	/* Everything was given back, mappings included (partial munmap, mremap, madvise). */
	cr_expect_eq(log.snaps[ex].e[TH_MAPPED], 0, "%llu mapped bytes still counted at exit",
		     (unsigned long long)log.snaps[ex].e[TH_MAPPED]);
	cr_expect_lt(log.snaps[ex].e[TH_HEAP], 64 * 1024, "%llu heap bytes counted at exit",
		     (unsigned long long)log.snaps[ex].e[TH_HEAP]);
	th_log_free(&log);
	th_run_free(&bare);
	th_run_free(&r);
}

/* 4 threads, 400k mixed operations: the log's totals at bench_malloc's stacks are exactly
 * the calls the program counted, and nothing is left live at its call sites. */
Test(integration_stress, racing_threads_exact_totals)
{
	const char *exe = th_build("examples/mtbench");
	const char *argv[] = { exe, "4", "100000", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	long long mallocs = th_kv(r.out, "mallocs"), bytes = th_kv(r.out, "malloc_bytes");
	cr_assert_gt(mallocs, 0, "%s", r.out);
	th_log_t log;
	load_only_log(&log);
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0);
	uint64_t n = 0, b = 0, live_m = 0, live_r = 0;
	size_t sites = 0;
	for (size_t i = 0; i < log.nstacks; i++) {
		if (log.stacks[i].kind != 'h')
			continue;
		const char *fn = th_stack_func(&log, &log.stacks[i], &syms, exe);
		if (fn && !strcmp(fn, "bench_malloc")) {
			n += log.val[i].total_count;
			b += log.val[i].total_bytes;
			live_m += log.val[i].live_bytes;
			sites++;
		} else if (fn && !strcmp(fn, "bench_realloc")) {
			live_r += log.val[i].live_bytes;
		}
	}
	cr_expect_gt(sites, 0, "no stack maps to bench_malloc");
	cr_expect_eq(n, (uint64_t)mallocs, "bench_malloc: %llu allocations logged, %lld made",
		     (unsigned long long)n, mallocs);
	cr_expect_eq(b, (uint64_t)bytes, "bench_malloc: %llu bytes logged, %lld allocated",
		     (unsigned long long)b, bytes);
	cr_expect_eq(live_m + live_r, 0, "%llu bytes still live at the bench sites at exit",
		     (unsigned long long)(live_m + live_r));
	cr_expect_lt(log.snaps[ex].e[TH_HEAP], 64 * 1024, "E heap %llu at exit, all was freed",
		     (unsigned long long)log.snaps[ex].e[TH_HEAP]);
	th_syms_free(&syms);
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_stress, racing_threads_never_pass_the_cap)
{
	const char *argv[] = { th_build("examples/cap_race"), "4", "20", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", "ALLOCGUARD_INTERVAL=50ms", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.out);
	cr_expect(strstr(r.out, "refusals=80 wrong_errno=0"), "every racer should be refused once "
		  "per round, with ENOMEM: %s", r.out);
	th_log_t log;
	load_only_log(&log);
	uint64_t peak = max_peak(&log, TH_PEAK_TRACKED);
	/* racers' small requests after the first refusal near the cap may use the recovery
	 * headroom (cap/16, README "The cap"), never more */
	cr_expect_leq(peak, 64 * MiB + 64 * MiB / 16, "peak tracked %llu bytes (%.2f MiB) over the "
		      "64 MiB cap + headroom in fail mode", (unsigned long long)peak, (double)peak / MiB);
	cr_expect_gt(peak, 60 * MiB, "peak tracked %llu: the racers never got near the cap",
		     (unsigned long long)peak);
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_stress, sigusr2_storm)
{
	const char *argv[] = { th_build("examples/signal_storm"), "200", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert_not(r.timed_out, "signal_storm hung: %s", th_run_desc(&r));
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	cr_expect_str_eq(r.out, "signals=200 allocations=many\n");
	th_log_t log;
	load_only_log(&log);
	cr_expect_geq(th_log_find(&log, "signal"), 0, "no signal snapshot");
	cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1, "no final exit snapshot");
	th_log_free(&log);
	th_run_free(&r);
}

/* Constructors, atexit handlers and destructors allocate around the exit snapshot while
 * detached threads are still allocating; ten runs, each must match the bare output. */
Test(integration_stress, lifecycle_edges)
{
	const char *argv[] = { th_build("examples/lifecycle"), "8", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t bare;
	cr_assert_eq(th_run(&bare, argv, env, 0, 30), 0);
	cr_assert(bare.exited && bare.code == 0, "bare: %s", th_run_desc(&bare));
	for (int i = 0; i < 10; i++) {
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
		cr_assert(r.exited && r.code == 0, "run %d: %s\nstdout: %s", i, th_run_desc(&r), r.out);
		cr_assert_str_eq(r.out, bare.out, "run %d differs", i);
		th_run_free(&r);
	}
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_expect_eq(n, 10, "expected 10 logs, found %zu", n);
	for (size_t i = 0; i < n; i++) {
		th_log_t log;
		cr_expect_eq(th_log_load(&log, v[i]), 0, "%s", v[i]);
		cr_expect_not(log.damaged, "%s: %s", v[i], log.damage);
		cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1, "%s: no final exit snapshot",
			     v[i]);
		th_log_free(&log);
	}
	th_strv_free(v, n);
	th_run_free(&bare);
}

static const char deeplib[] =
	"#include <stdlib.h>\n"
	"void *lib_malloc(size_t n) { return malloc(n); }\n"
	"void lib_free(void *p) { free(p); }\n";

/* Blocks cross between the guard and a RTLD_DEEPBIND library that uses libc directly. */
Test(integration_stress, deepbind_library_frees_our_blocks)
{
	char src[600], lib[600];
	snprintf(src, sizeof src, "%s/deeplib.c", dir);
	snprintf(lib, sizeof lib, "%s/libdeep.so", dir);
	FILE *f = fopen(src, "w");
	cr_assert(f);
	fputs(deeplib, f);
	fclose(f);
	const char *cc[] = { "cc", "-shared", "-fPIC", "-o", lib, src, NULL };
	th_run_t c;
	cr_assert_eq(th_run(&c, cc, NULL, 0, 60), 0);
	cr_assert(c.exited && c.code == 0, "cc: %s", th_run_desc(&c));
	th_run_free(&c);
	const char *argv[] = { th_build("examples/deepbind"), lib, NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_expect(r.exited && r.code == 0, "%s\nstdout: %s", th_run_desc(&r), r.out);
	cr_expect_str_eq(r.out, "rounds=20000 ok\n");
	th_log_t log;
	load_only_log(&log);
	cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1, "no final exit snapshot");
	th_log_free(&log);
	th_run_free(&r);
}

/* Sampling under racing threads: the estimated total at bench_malloc is within 10% of the
 * bytes the program allocated there (~1.2 GB, ~2,400 expected samples). */
Test(integration_stress, racing_threads_sampled_totals)
{
	const char *exe = th_build("examples/mtbench");
	const char *argv[] = { exe, "4", "100000", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_SAMPLE=512K", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	long long bytes = th_kv(r.out, "malloc_bytes");
	cr_assert_gt(bytes, 0, "%s", r.out);
	th_log_t log;
	load_only_log(&log);
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0);
	uint64_t est = 0;
	for (size_t i = 0; i < log.nstacks; i++) {
		const char *fn = th_stack_func(&log, &log.stacks[i], &syms, exe);
		if (log.stacks[i].kind == 'h' && fn && !strcmp(fn, "bench_malloc"))
			est += log.val[i].total_bytes;
	}
	double rel = ((double)est - (double)bytes) / (double)bytes;
	cr_expect(rel >= -0.10 && rel <= 0.10, "estimated %llu bytes at bench_malloc, %lld "
		  "allocated: %+.1f%%", (unsigned long long)est, bytes, rel * 100);
	th_syms_free(&syms);
	th_log_free(&log);
	th_run_free(&r);
}

/* 600 short-lived threads allocate at one call site: what each did survives its exit. */
Test(integration_stress, dead_threads_counted_exactly)
{
	const char *exe = th_build("examples/thread_churn");
	const char *argv[] = { exe, "600", "8", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	th_log_t log;
	load_only_log(&log);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "no exit snapshot");
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0);
	th_val_t sum = { 0 };
	for (size_t i = 0; i < log.nstacks; i++) {
		const char *fn = th_stack_func(&log, &log.stacks[i], &syms, exe);
		if (log.stacks[i].kind != 'h' || !fn || strcmp(fn, "churn_thread_alloc"))
			continue;
		sum.total_count += log.val[i].total_count;
		sum.total_bytes += log.val[i].total_bytes;
		sum.live_count += log.val[i].live_count;
		sum.live_bytes += log.val[i].live_bytes;
		sum.lost_bytes += log.val[i].lost_bytes;
	}
	cr_expect_eq(sum.total_count, (uint64_t)th_kv(r.out, "allocations"), "total count %llu",
		     (unsigned long long)sum.total_count);
	cr_expect_eq(sum.total_bytes, (uint64_t)th_kv(r.out, "allocations") * 48, "total bytes %llu",
		     (unsigned long long)sum.total_bytes);
	cr_expect_eq(sum.live_count, (uint64_t)th_kv(r.out, "live_count"), "live count %llu",
		     (unsigned long long)sum.live_count);
	cr_expect_eq(sum.live_bytes, (uint64_t)th_kv(r.out, "live_bytes"), "live bytes %llu",
		     (unsigned long long)sum.live_bytes);
	cr_expect_eq(sum.lost_bytes, 0, "%llu bytes called lost, all are in a global table",
		     (unsigned long long)sum.lost_bytes);
	th_syms_free(&syms);
	th_log_free(&log);
	th_run_free(&r);
}

/* main returns through pthread_exit: the process ends when its last own thread does. */
Test(integration_stress, pthread_exit_from_main)
{
	const char *argv[] = { th_build("examples/main_exit"), NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 10), 0);
	cr_assert_not(r.timed_out, "the process never ended after its last thread returned (killed "
		      "after 10 s); stdout so far: %s", r.out);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	cr_expect_str_eq(r.out, "worker done\natexit ran\n");
	th_log_t log;
	load_only_log(&log);
	cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1, "no final exit snapshot");
	th_log_free(&log);
	th_run_free(&r);
}

/* A program that takes its signals with sigwait keeps getting them: the guard's own thread
 * must block every signal, or process-directed ones land there (SIGTERM would kill). */
Test(integration_stress, sigwait_program_gets_its_signals)
{
	const char *argv[] = { th_build("examples/sigwaiter"), NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 20), 0);
	cr_assert(r.exited && r.code == 0, "%s\nstdout: %s", th_run_desc(&r), r.out);
	cr_expect_str_eq(r.out, "got SIGUSR1\ngot SIGCHLD\ngot SIGINT\ngot SIGTERM\n");
	th_run_free(&r);
}

/* Allocation in pthread key destructors at thread exit is still seen, exactly. */
Test(integration_stress, thread_exit_destructors_counted)
{
	const char *exe = th_build("examples/tls_dtor");
	const char *argv[] = { exe, "300", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	th_log_t log;
	load_only_log(&log);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "no exit snapshot");
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0);
	uint64_t live_n = 0, live_b = 0, tot_n = 0, body_live = 0;
	for (size_t i = 0; i < log.nstacks; i++) {
		const char *fn = th_stack_func(&log, &log.stacks[i], &syms, exe);
		if (log.stacks[i].kind != 'h' || !fn)
			continue;
		if (!strcmp(fn, "dtor_alloc")) {
			live_n += log.val[i].live_count;
			live_b += log.val[i].live_bytes;
			tot_n += log.val[i].total_count;
		} else if (!strcmp(fn, "body")) {
			body_live += log.val[i].live_bytes;
		}
	}
	cr_expect_eq(tot_n, 300, "dtor_alloc: %llu allocations logged, 300 made",
		     (unsigned long long)tot_n);
	cr_expect(live_n == 300 && live_b == 300 * 72, "dtor_alloc: %llu bytes in %llu blocks live "
		  "at exit, expected 21600 in 300", (unsigned long long)live_b,
		  (unsigned long long)live_n);
	cr_expect_eq(body_live, 0, "%llu bytes of body's blocks still live: frees in thread-exit "
		     "destructors were missed", (unsigned long long)body_live);
	th_syms_free(&syms);
	th_log_free(&log);
	th_run_free(&r);
}

/* What one log of snap_stress must show: read whole by the analyzer (no damage, no figure
 * that had to be made to agree), ending in its exit snapshot, every snapshot coherent, and
 * the peaks at least every figure seen before them, the final ones included. */
static void check_snapshot_log(const char *path, long long held)
{
	ag_log_t *log;
	char msg[600];
	cr_assert_eq(log_load(path, &log, msg, sizeof msg), 0, "%s", msg);
	cr_expect_eq(log->damage_line, 0, "%s:%zu: %s (after %zu snapshots)", path,
		     log->damage_line, log->damage, log->nsnaps);
	cr_expect_eq(log->nclamped, 0, "%s: %zu snapshots with disagreeing figures, first %llu: %s",
		     path, log->nclamped, (unsigned long long)log->clamped_seq, log->clamped);
	cr_assert_gt(log->nsnaps, 0, "%s: no snapshot", path);
	const ag_snap_t *last = &log->snaps[log->nsnaps - 1];
	cr_expect_str_eq(last->reason, "exit", "%s: the last of %zu snapshots is '%s', not the "
			 "exit snapshot", path, log->nsnaps, last->reason);
	uint64_t most = 0, most_heap = 0, most_mapped = 0;
	for (size_t i = 0; i < log->nsnaps; i++) {
		const ag_snap_t *s = &log->snaps[i];
		cr_expect_eq(s->tracked, s->heap + s->mapped + s->swapped, "%s: snapshot %llu", path,
			     (unsigned long long)s->seq);
		most = s->tracked > most ? s->tracked : most;
		most_heap = s->heap > most_heap ? s->heap : most_heap;
		most_mapped = s->mapped > most_mapped ? s->mapped : most_mapped;
		cr_expect(s->peak_tracked >= most && s->peak_heap >= most_heap &&
			  s->peak_mapped >= most_mapped,
			  "%s: snapshot %llu: peaks %llu/%llu/%llu below figures seen by then "
			  "%llu/%llu/%llu", path, (unsigned long long)s->seq,
			  (unsigned long long)s->peak_tracked, (unsigned long long)s->peak_heap,
			  (unsigned long long)s->peak_mapped, (unsigned long long)most,
			  (unsigned long long)most_heap, (unsigned long long)most_mapped);
	}
	/* the blocks the program still held at exit are in the exit snapshot's figures */
	cr_expect_geq(last->tracked, (uint64_t)held, "%s: exit snapshot tracks %llu bytes, the "
		      "program held %lld", path, (unsigned long long)last->tracked, held);
	log_free(log);
}

/* Threads allocating and freeing hard (malloc, calloc, realloc, mmap) with snapshots every
 * 1 to 10 ms, many runs: every log is whole, with its exit snapshot, and `report` reads it
 * without a word on stderr.  (Before the figures were read coherently, most such logs
 * were cut at "a peak is below its current value".) */
Test(integration_stress, snapshots_under_racing_threads_are_whole)
{
	static const char *const intervals[] = { "1ms", "2ms", "5ms", "10ms" };
	static const char *const threads[] = { "4", "1", "3", "8" };
	int runs = getenv("STRESS") ? 100 : 16;
	for (int i = 0; i < runs; i++) {
		char interval[64];
		snprintf(interval, sizeof interval, "ALLOCGUARD_INTERVAL=%s", intervals[i % 4]);
		const char *argv[] = { th_build("examples/snap_stress"), threads[i / 4 % 4], "250",
				       "8192", NULL };
		const char *env[] = { logpat, interval, NULL };
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
		cr_assert(r.exited && r.code == 0, "run %d: %s\n%s", i, th_run_desc(&r), r.err);
		long long held = th_kv(r.out, "held");
		cr_assert_geq(held, 0, "run %d: %s", i, r.out);
		char **v;
		size_t n = th_list(dir, "ag.", &v);
		cr_assert_eq(n, 1, "run %d: expected one log, found %zu", i, n);
		check_snapshot_log(v[0], held);
		const char *rep[] = { th_build("allocguard"), "report", v[0], NULL };
		th_run_t a;
		cr_assert_eq(th_run(&a, rep, NULL, 0, 60), 0);
		cr_expect(a.exited && a.code == 0 && a.errlen == 0, "run %d (%s): report: %s", i,
			  intervals[i % 4], th_run_desc(&a));
		th_run_free(&a);
		remove(v[0]);
		th_strv_free(v, n);
		th_run_free(&r);
	}
}

/* One thread keeps asking for 8 GiB under a 1 GiB cap while three others allocate 64 bytes
 * at a time: a refusal is invisible to them (none of their calls fails) and to the peak.
 * (Charging first and taking the charge back made a small malloc fail in most runs and put
 * 8 GiB in the peak.) */
Test(integration_stress, a_refusal_is_invisible_to_other_threads)
{
	int runs = getenv("STRESS") ? 20 : 3;
	for (int i = 0; i < runs; i++) {
		const char *argv[] = { th_build("examples/refusal_race"), "3", "300", "8192", NULL };
		const char *env[] = { logpat, "ALLOCGUARD_CAP=1G", "ALLOCGUARD_INTERVAL=5ms", NULL };
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
		cr_assert(r.exited && r.code == 0, "run %d: %s", i, th_run_desc(&r));
		cr_assert_gt(th_kv(r.out, "huge_refused"), 0, "run %d: %s", i, r.out);
		cr_expect_eq(th_kv(r.out, "huge_granted"), 0, "run %d: %s", i, r.out);
		cr_expect_eq(th_kv(r.out, "small_failed"), 0, "run %d: small mallocs failed beside a "
			     "refused one: %s", i, r.out);
		th_log_t log;
		load_only_log(&log);
		uint64_t peak = max_peak(&log, TH_PEAK_TRACKED);
		cr_expect_lt(peak, 16 * MiB, "run %d: peak %llu: the refused 8 GiB showed in it", i,
			     (unsigned long long)peak);
		cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1, "no final exit snapshot");
		th_log_free(&log);
		char **v;
		size_t n = th_list(dir, "ag.", &v);
		for (size_t j = 0; j < n; j++)
			remove(v[j]);
		th_strv_free(v, n);
		th_run_free(&r);
	}
}

/* malloc(SIZE_MAX) under a cap: the message names the size asked for, not the clamped size
 * the block table counts (it said "1023.9 GiB"). */
Test(integration_stress, the_cap_message_names_the_size_asked_for)
{
	const char *argv[] = { th_build("examples/cap_hit"), "malloc", "1M", "4M", "1",
			       "18446744073709551615", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.out);
	cr_expect(strstr(r.err, "malloc of 16383.9 PiB"), "%s", r.err);
	cr_expect_not(strstr(r.err, "1023.9 GiB"), "%s", r.err);
	th_run_free(&r);
}
