/* test_run_tree.c: `allocguard run` judges only the process tree it started (analyzer/
 * runlogs.c), names the command by what it finally exec'd, ends an exec'ing image's log
 * with an "exec" snapshot (preload/exec.c), and leaves only the logs worth reading
 * (analyzer/summary.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

/* `cd dir && script` under sh, not preloaded itself (run preloads what it starts). */
static th_run_t in_dir(const char *dir, const char *script)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "cd '%s' || exit 9; %s", dir, script);
	const char *argv[] = { "sh", "-c", cmd, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(!r.timed_out, "timed out: %s", script);
	return r;
}

static void need_examples(void)
{
	if (access(th_build("examples/leaks"), X_OK) != 0)
		cr_skip_test("examples not built");
}

Test(run_tree, back_to_back_runs_judge_only_their_own_tree)
{
	need_examples();
	char *dir = strdup(th_tmpdir("b2b"));
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "%s run -- %s none", th_build("allocguard"),
		 th_build("examples/leaks"));
	th_run_t a = in_dir(dir, cmd);
	cr_assert_eq(a.code, 0, "%s", a.err);
	cr_assert(strstr(a.err, "lost at exit"), "%s", a.err);
	/* Right after, in the same directory (the first log is seconds-fresh): only /bin/true
	 * is judged, and it lost nothing. */
	snprintf(cmd, sizeof cmd, "%s run --fail-on-leak 0 -- /bin/true", th_build("allocguard"));
	th_run_t b = in_dir(dir, cmd);
	cr_assert_eq(b.code, 0, "second run judged the first run's log:\n%s", b.err);
	cr_assert(strstr(b.err, "(true)"), "%s", b.err);
	cr_assert(!strstr(b.err, "(leaks"), "second run names the first run's process:\n%s", b.err);
	th_run_free(&a);
	th_run_free(&b);
	th_rmtree(dir);
	free(dir);
}

Test(run_tree, unrelated_process_writing_beside_the_run_is_not_judged)
{
	need_examples();
	char *dir = strdup(th_tmpdir("beside"));
	char cmd[4096];
	/* A leaking program outside the run's tree writes its log into the same directory
	 * while the run is going on. */
	snprintf(cmd, sizeof cmd,
		 "ALLOCGUARD_LOG=%s/allocguard.%%e.%%p.log LD_PRELOAD=%s %s none >/dev/null & "
		 "%s run --fail-on-leak 0 -- sh -c 'sleep 1'; st=$?; wait; exit $st", dir,
		 th_preload(), th_build("examples/leaks"), th_build("allocguard"));
	th_run_t r = in_dir(dir, cmd);
	cr_assert_eq(r.code, 0, "the run judged a process it did not start:\n%s", r.err);
	cr_assert(!strstr(r.err, "(leaks"), "%s", r.err);
	char **names;
	size_t n = th_list(dir, "allocguard.leaks.", &names);
	cr_assert_eq(n, 1, "the unrelated process's log must stay where it is");
	th_strv_free(names, n);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

/* dir holds one log, examples/leaks's (err: run's summary, for the message). */
static void only_the_programs_log(const char *dir, const char *err)
{
	char **names;
	size_t n = th_list(dir, "allocguard.", &names);
	cr_assert_eq(n, 1, "%zu logs left (want the program's only):\n%s", n, err);
	cr_assert(strstr(names[0], "allocguard.leaks."), "%s", names[0]);
	th_strv_free(names, n);
}

Test(run_tree, exec_wrapper_is_named_by_what_it_execd_and_leaves_few_logs)
{
	need_examples();
	char *dir = strdup(th_tmpdir("wrap"));
	char script[1024], cmd[2048];
	snprintf(script, sizeof script, "%s/wrap.sh", dir);
	FILE *f = fopen(script, "w");
	cr_assert(f);
	/* A pyenv-style wrapper: subshells and pipelines, then exec of the real program. */
	fprintf(f, "#!/bin/sh\nv=$(echo 1.2.3 | cut -d. -f1)\nw=$(uname -s)\n"
		"for i in 1 2 3; do x=$(echo $i | sed s/1/one/); done\nexec %s none\n",
		th_build("examples/leaks"));
	fclose(f);
	chmod(script, 0755);
	snprintf(cmd, sizeof cmd, "%s run -- ./wrap.sh", th_build("allocguard"));
	th_run_t r = in_dir(dir, cmd);
	cr_assert_eq(r.code, 0, "%s", r.err);
	const char *first = th_line_from(r.err, "allocguard: pid ");
	cr_assert(first && strstr(first, "(leaks"), "the summary must lead with the exec'd "
		  "program:\n%s", r.err);
	cr_assert(strstr(r.err, "lost at exit"), "%s", r.err);
	cr_assert(!strstr(r.err, "killed"), "nothing was killed:\n%s", r.err);
	/* the program's log, and none for the wrapper's small children */
	only_the_programs_log(dir, r.err);
	th_run_free(&r);
	/* --keep-logs keeps them all */
	char **names;
	size_t n;
	snprintf(cmd, sizeof cmd, "rm -f allocguard.*; %s run --keep-logs -- ./wrap.sh",
		 th_build("allocguard"));
	r = in_dir(dir, cmd);
	n = th_list(dir, "allocguard.", &names);
	cr_assert_gt(n, 3, "--keep-logs left %zu logs", n);
	th_strv_free(names, n);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(run_tree, an_image_with_a_log_ends_it_with_an_exec_snapshot)
{
	need_examples();
	char *dir = strdup(th_tmpdir("execsnap"));
	char cmd[2048];
	/* The shell lives long enough for interval snapshots, so it has a log to end. */
	snprintf(cmd, sizeof cmd, "%s run --interval 20ms --keep-logs -- sh -c 'sleep 0.3; "
		 "exec %s none'", th_build("allocguard"), th_build("examples/leaks"));
	th_run_t r = in_dir(dir, cmd);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "exec'd by"), "%s", r.err);
	char **names;
	size_t n = th_list(dir, "allocguard.dash.", &names);
	if (!n)
		n = th_list(dir, "allocguard.sh.", &names);
	cr_assert_eq(n, 1, "the shell's log\n%s", r.err);
	char path[2048];
	snprintf(path, sizeof path, "%s", names[0]);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, path), 0);
	cr_assert_gt(log.nsnaps, 1);
	cr_assert_str_eq(log.snaps[log.nsnaps - 1].reason, "exec");
	th_log_free(&log);
	th_strv_free(names, n);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

/* A wrapper that lived long enough for a snapshot before it exec'd the program: its image's
 * log is small (nothing lost, no cap event) and goes like a small child's; the summary
 * still names it. */
Test(run_tree, a_small_wrappers_exec_image_log_is_removed)
{
	need_examples();
	char *dir = strdup(th_tmpdir("execrm"));
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "%s run --interval 20ms -- sh -c 'sleep 0.3; exec %s none'",
		 th_build("allocguard"), th_build("examples/leaks"));
	th_run_t r = in_dir(dir, cmd);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "exec'd by"), "the summary names the wrapper:\n%s", r.err);
	cr_assert(strstr(r.err, "removed the logs of "), "%s", r.err);
	only_the_programs_log(dir, r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(run_tree, on_cap_abort_is_summarised_as_an_abort_with_its_final_snapshot)
{
	if (access(th_build("examples/cap_hit"), X_OK) != 0)
		cr_skip_test("examples not built");
	char *dir = strdup(th_tmpdir("abort")), cmd[2048];
	snprintf(cmd, sizeof cmd, "%s run --cap 10M --on-cap abort -- %s malloc 1M",
		 th_build("allocguard"), th_build("examples/cap_hit"));
	th_run_t r = in_dir(dir, cmd);
	cr_assert_eq(r.code, 128 + 6, "SIGABRT's status passes through: %s", th_run_desc(&r));
	cr_assert(strstr(r.err, "aborted at the cap"), "%s", r.err);
	cr_assert_null(strstr(r.err, "killed"), "%s", r.err);
	cr_assert_null(strstr(r.err, "no exit snapshot"), "%s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(run_tree, on_cap_warn_says_the_thresholds_before_the_cap)
{
	if (access(th_build("examples/cap_hit"), X_OK) != 0)
		cr_skip_test("examples not built");
	char *dir = strdup(th_tmpdir("warnorder")), cmd[2048];
	/* one request jumps from nothing to three times the cap */
	snprintf(cmd, sizeof cmd, "%s run -q --cap 10M --on-cap warn -- %s malloc 30M 30M",
		 th_build("allocguard"), th_build("examples/cap_hit"));
	th_run_t r = in_dir(dir, cmd);
	cr_assert_eq(r.code, 0, "%s", r.err);
	const char *w = strstr(r.err, "allocguard: warning:"), *c = strstr(r.err, "allocguard: cap:");
	const char *k = strstr(r.err, "allocguard: critical:");
	cr_assert(w && k && c && w < k && k < c, "want warning, critical, cap in order:\n%s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(run_tree, an_exec_chain_takes_the_next_log_name_quietly)
{
	char *dir = strdup(th_tmpdir("chain")), env[700], env2[64];
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	snprintf(env2, sizeof env2, "ALLOCGUARD_INTERVAL=20ms");
	const char *argv[] = { "sh", "-c", "sleep 0.3; exec sh -c 'exit 0'", NULL };
	const char *envs[] = { env, env2, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, envs, 1, 60), 0);
	cr_assert_eq(r.code, 0, "%s", th_run_desc(&r));
	/* the shell's log and sleep's; the image the shell exec'd ends in _exit (dash), so it
	 * leaves a log only when it lived to its first snapshot (a loaded machine): then under
	 * the next free name of the same pattern; no message about the name either way */
	char **names;
	size_t n = th_list(dir, "ag.", &names);
	cr_assert(n == 2 || n == 3, "%zu logs", n);
	th_strv_free(names, n);
	cr_assert_null(strstr(r.err, "exists"), "%s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(run_tree, the_summary_merges_stacks_that_fold_to_one_site)
{
	if (access(th_build("examples/deep_twice"), X_OK) != 0)
		cr_skip_test("examples not built");
	char *dir = strdup(th_tmpdir("merge")), cmd[2048];
	snprintf(cmd, sizeof cmd, "%s run -- %s", th_build("allocguard"),
		 th_build("examples/deep_twice"));
	th_run_t r = in_dir(dir, cmd);
	cr_assert_eq(r.code, 0, "%s", r.err);
	const char *row = strstr(r.err, "leak (deep_twice.c:");
	const char *bol = row;
	while (bol && bol > r.err && bol[-1] != '\n')
		bol--;
	cr_assert(row && strstr(bol, "1000 B in") && strstr(bol, "10 blocks") &&
		  strstr(bol, "1000 B in") < row, "one row of 10 blocks for the leak's two "
		  "stacks:\n%s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}
