/* test_scanchild.c: the exit scan in a copy-on-write child (preload/scanchild.c) and `run`
 * waiting for it (analyzer/reap.c).  Under `run` the scan runs in another process, named on
 * the X line, with the verdicts the scan gives in the process (node's too, whose V8 keeps
 * its heap out of forks); under a bare preload it stays in the process unless asked; a
 * refused clone falls back to the process; a scanner that is killed leaves a log that
 * reads, one line from `run`, and a gate that does not pass.  The filters of
 * examples/scan_child.c go in by a raw syscall instruction, unseen by the guard. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

typedef struct {
	uint64_t lost_b, lost_n, ind_b, ind_n, scanner, pid, stopped;
	uint64_t map_lost_b;        /* lost mappings' bytes (V8's pages, for one) */
	char verdict[16];
} fig_t;

static void figures(const th_log_t *log, fig_t *f)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < log->nstacks; i++) {
		if (log->stacks[i].kind != 'h') {
			f->map_lost_b += log->val[i].lost_bytes;
			continue;
		}
		f->lost_b += log->val[i].lost_bytes;
		f->lost_n += log->val[i].lost_count;
		f->ind_b += log->val[i].indirect_bytes;
		f->ind_n += log->val[i].indirect_count;
	}
	f->scanner = log->scanner;
	f->pid = log->pid;
	f->stopped = log->threads_stopped;
	snprintf(f->verdict, sizeof f->verdict, "%s", log->verdict);
}

/* argv once under `run` (via_run) or a bare preload (env_add), its exit snapshot's figures. */
static void one(const char *const *argv, const char *const *env_add, int via_run, fig_t *f)
{
	th_run_t r;
	th_log_t log;
	char why[400];
	int rc = via_run ? th_run_one_log_run("scanchild", argv, env_add, 120, &r, &log, why,
					      sizeof why)
			 : th_run_one_log("scanchild", argv, env_add, 120, &r, &log, why, sizeof why);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert(r.exited && r.code == 0, "%s: %s\n%s", argv[0], th_run_desc(&r), r.err);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "%s: no exit snapshot\n%s", argv[0], r.err);
	figures(&log, f);
	th_log_free(&log);
	th_run_free(&r);
}

/* Direct and indirect losses (lostkinds chain), a block held only in a register at exit
 * (lostkinds reg), other threads' registers (lsan_threads r15), threads' leaks (leaks): the
 * same in a child as in the process. */
Test(scanchild, run_scans_in_a_child_with_the_same_verdicts, .timeout = 600)
{
	const char *progs[][2] = { { "examples/leaks", NULL }, { "examples/lostkinds", "chain" },
				   { "examples/lostkinds", "reg" }, { "examples/lsan_threads", "r15" } };
	for (size_t k = 0; k < sizeof progs / sizeof progs[0]; k++) {
		const char *argv[] = { th_build(progs[k][0]), progs[k][1], NULL };
		fig_t here, child;
		one(argv, NULL, 0, &here);
		cr_expect_str_eq(here.verdict, "judged", "%s bare", argv[0]);
		cr_expect_eq(here.scanner, 0, "%s: a bare preload scanned in a child", argv[0]);
		int children = 0;
		for (int i = 0; i < 2; i++) {
			one(argv, NULL, 1, &child);
			cr_expect_str_eq(child.verdict, "judged", "%s under run", argv[0]);
			cr_expect(child.lost_b == here.lost_b && child.lost_n == here.lost_n &&
				  child.ind_b == here.ind_b && child.ind_n == here.ind_n,
				  "%s: lost %llu B in %llu (indirect %llu in %llu) in the child, %llu B "
				  "in %llu (%llu in %llu) in the process", argv[0],
				  (unsigned long long)child.lost_b, (unsigned long long)child.lost_n,
				  (unsigned long long)child.ind_b, (unsigned long long)child.ind_n,
				  (unsigned long long)here.lost_b, (unsigned long long)here.lost_n,
				  (unsigned long long)here.ind_b, (unsigned long long)here.ind_n);
			cr_expect_neq(child.scanner, child.pid, "%s: the scanner is the program",
				      argv[0]);
			children += child.scanner != 0;
		}
		/* a busy lock at the fork falls back to the process: not twice in a row here */
		cr_expect_geq(children, 1, "%s: run never scanned in a child", argv[0]);
	}
}

/* node: V8 keeps its heap out of forks (MADV_DONTFORK), and its pages' headers hold the only
 * pointers to their free-list categories and slot sets (malloc'd): a child that scans without
 * the heap calls some 8,000 of those blocks lost.  The child's verdict is the process's:
 * nothing lost in either (the program's leaks are JS objects, all reachable). */
/* node under `run` (the scan where run puts it, or in the process), its exit snapshot's
 * figures: node leaves a side file (.jsmap) next to its log. */
static void node_one(const char *script, const char *ticks, bool in_child, fig_t *f)
{
	char *dir = strdup(th_tmpdir("scanchild-node"));
	char out[600];
	snprintf(out, sizeof out, "--out=%s/ag.%%p.log", dir);
	const char *argv[] = { th_build("allocguard"), "run", "-q", out, "--", "node", script,
			       ticks, NULL };
	const char *no[] = { "ALLOCGUARD_SCAN_CHILD=no", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, in_child ? NULL : no, 0, 300), 0);
	cr_assert(r.exited && r.code == 0, "node: %s\n%s", th_run_desc(&r), r.err);
	th_run_free(&r);
	char **names;
	size_t n = th_list(dir, "ag.", &names), logs = 0;
	th_log_t log;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len < 4 || strcmp(names[i] + len - 4, ".log") != 0)
			continue;
		logs++;
		cr_assert_eq(th_log_load(&log, names[i]), 0, "%s", log.damage);
	}
	th_strv_free(names, n);
	cr_assert_eq(logs, 1, "node: %zu logs", logs);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "node: no exit snapshot");
	figures(&log, f);
	th_log_free(&log);
	th_rmtree(dir);
	free(dir);
}

Test(scanchild, node_scans_in_a_child_with_the_same_verdicts, .timeout = 600)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	const char *script = th_root("examples/node/js_leak.js");
	fig_t here, child;
	node_one(script, "40", false, &here);
	cr_assert_str_eq(here.verdict, "judged", "node in the process");
	cr_expect_eq(here.scanner, 0, "node: scanned in a child when told not to");
	int children = 0;
	for (int i = 0; i < 2; i++) {
		node_one(script, "40", true, &child);
		cr_expect_str_eq(child.verdict, "judged", "node in a child");
		children += child.scanner != 0;
		cr_expect(child.lost_b == here.lost_b && child.lost_n == here.lost_n &&
			  child.ind_b == here.ind_b && child.map_lost_b == here.map_lost_b,
			  "node: lost %llu B in %llu blocks (%llu B indirect, %llu B of mappings) in "
			  "the child, %llu B in %llu (%llu B, %llu B) in the process",
			  (unsigned long long)child.lost_b, (unsigned long long)child.lost_n,
			  (unsigned long long)child.ind_b, (unsigned long long)child.map_lost_b,
			  (unsigned long long)here.lost_b, (unsigned long long)here.lost_n,
			  (unsigned long long)here.ind_b, (unsigned long long)here.map_lost_b);
	}
	cr_expect_geq(children, 1, "node: run never scanned in a child");
}

Test(scanchild, chosen_by_hand_or_refused)
{
	const char *argv[] = { th_build("examples/scan_child"), "plain", NULL };
	fig_t f;
	const char *no[] = { "ALLOCGUARD_SCAN_CHILD=no", NULL };
	one(argv, no, 1, &f);
	cr_expect_eq(f.scanner, 0, "run with ALLOCGUARD_SCAN_CHILD=no scanned in a child");
	cr_expect(f.lost_b == 4096 && f.lost_n == 1, "lost %llu B in %llu",
		  (unsigned long long)f.lost_b, (unsigned long long)f.lost_n);
	/* asked by hand under a bare preload: nobody waits for the child, but a reader of the
	 * log (`allocguard leaks`) waits for the scanner still writing it */
	char *dir = strdup(th_tmpdir("scanchild-bare"));
	char pat[600];
	snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	const char *env[] = { pat, "ALLOCGUARD_SCAN_CHILD=yes", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_expect(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	th_run_free(&r);
	char **logs;
	size_t n = th_list(dir, "ag.", &logs);
	cr_assert_eq(n, 1, "%zu logs", n);
	const char *leaks[] = { th_build("allocguard"), "leaks", "--json", logs[0], NULL };
	cr_assert_eq(th_run(&r, leaks, NULL, 0, 400), 0);
	cr_expect(r.exited && r.code == 0, "leaks: %s\n%s", th_run_desc(&r), r.err);
	cr_expect(strstr(r.out, "\"at_exit\": true") && strstr(r.out, "\"verdict\": \"judged\""),
		  "leaks did not wait for the scan:\n%s\n%s", r.out, r.err);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, logs[0]), 0, "%s", log.damage);
	th_strv_free(logs, n);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "no exit snapshot by hand");
	figures(&log, &f);
	cr_expect(f.scanner != 0 && f.scanner != f.pid, "by hand: scanner %llu, pid %llu",
		  (unsigned long long)f.scanner, (unsigned long long)f.pid);
	cr_expect(f.lost_b == 4096 && f.lost_n == 1, "by hand: lost %llu B in %llu",
		  (unsigned long long)f.lost_b, (unsigned long long)f.lost_n);
	th_log_free(&log);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

/* clone refused (EPERM, a filter the guard does not see): the scan runs in the process. */
Test(scanchild, a_refused_clone_scans_in_the_process)
{
	const char *argv[] = { th_build("examples/scan_child"), "noclone", NULL };
	fig_t f;
	one(argv, NULL, 1, &f);
	cr_expect_str_eq(f.verdict, "judged");
	cr_expect_eq(f.scanner, 0, "a scanner %llu despite the filter",
		     (unsigned long long)f.scanner);
	cr_expect(f.lost_b == 4096 && f.lost_n == 1, "lost %llu B in %llu",
		  (unsigned long long)f.lost_b, (unsigned long long)f.lost_n);
	/* with a thread to stop: it is let go while the block table is copied, then stopped
	 * again, and its register still keeps its block */
	const char *r15[] = { th_build("examples/scan_child"), "noclone-r15", NULL };
	one(r15, NULL, 1, &f);
	cr_expect_str_eq(f.verdict, "judged");
	cr_expect_eq(f.scanner, 0, "a scanner despite the filter");
	cr_expect_eq(f.stopped, 1, "%llu threads stopped", (unsigned long long)f.stopped);
	cr_expect(f.lost_b == 4096 && f.lost_n == 1, "lost %llu B in %llu (the block in r15 "
		  "is 1337 B)", (unsigned long long)f.lost_b, (unsigned long long)f.lost_n);
}

/* The scanner is killed (a filter that kills on reading another process's memory): the
 * program ends well, run says so in one line, the gate does not pass, the log reads. */
Test(scanchild, a_killed_scan_is_said_and_never_passes_the_gate)
{
	char *dir = strdup(th_tmpdir("scanchild-killed"));
	char out[600];
	snprintf(out, sizeof out, "--out=%s/ag.%%p.log", dir);
	const char *argv[] = { th_build("allocguard"), "run", "-q", "--fail-on-leak", "0", out, "--",
			       th_build("examples/scan_child"), "killscan", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_expect(strstr(r.out, "exiting "), "the program did not finish: %s", r.out);
	cr_expect(r.exited && r.code == 2, "run --fail-on-leak 0 gave %s\n%s", th_run_desc(&r),
		  r.err);
	cr_expect_eq(th_count_lines(r.err, "allocguard: the exit scan of pid"), 1, "%s", r.err);
	cr_expect(strstr(r.err, "did not finish (killed by signal"), "%s", r.err);
	th_run_free(&r);
	char **logs;
	size_t n = th_list(dir, "ag.", &logs);
	cr_assert_eq(n, 1, "%zu logs", n);
	th_log_t log;
	cr_expect_eq(th_log_load(&log, logs[0]), 0, "the log does not read: %s", log.damage);
	cr_expect_lt(th_log_find(&log, "exit"), 0, "an exit snapshot from a killed scanner");
	th_log_free(&log);
	const char *report[] = { th_build("allocguard"), "report", logs[0], NULL };
	cr_assert_eq(th_run(&r, report, NULL, 0, 60), 0);
	cr_expect(r.exited && (r.code == 0 || r.code == 2), "report: %s\n%s", th_run_desc(&r),
		  r.err);
	th_run_free(&r);
	th_strv_free(logs, n);
	th_rmtree(dir);
	free(dir);
}
