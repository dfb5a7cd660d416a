/* test_scan_seccomp.c: the exit path under a seccomp filter (preload/sandbox.c and its uses):
 * a filter that kills, refuses (EPERM) or traps process_vm_readv, and an OpenSSH-style
 * allowlist, each installed through prctl and through syscall(SYS_seccomp)
 * (examples/seccomp_exit.c).  The program must end as it would bare (status 0, its
 * SIGSYS handler never run by us), its log must say the scan did not judge, and neither
 * `leaks --fail-on` nor `run --fail-on-leak` may pass on it (a lost 4 KiB block stays
 * unknown, never "reachable").  Several runs each. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static void one(const char *mode, const char *how)
{
	const char *exe = th_build("examples/seccomp_exit");
	const char *argv[] = { exe, mode, how, NULL };
	int n = getenv("STRESS") ? 20 : 2;
	for (int i = 0; i < n; i++) {
		th_run_t r;
		th_log_t log;
		char why[300];
		cr_assert_eq(th_run_one_log("seccomp", argv, NULL, 60, &r, &log, why, sizeof why), 0,
			     "%s %s: %s", mode, how, why);
		cr_assert(r.exited && r.code == 0, "%s %s: %s\n%s", mode, how, th_run_desc(&r), r.err);
		cr_expect(strstr(r.out, "filtered"), "%s %s: the filter did not go in: %s", mode, how,
			  r.err);
		cr_expect(!strstr(r.err, "SIGSYS"), "%s %s: the program's SIGSYS handler ran:\n%s",
			  mode, how, r.err);
		cr_expect_geq(th_log_find(&log, "exit"), 0, "%s %s: no exit snapshot", mode, how);
		cr_expect_str_eq(log.verdict, "seccomp", "%s %s: the exit scan's verdict", mode, how);
		th_log_free(&log);
		th_run_free(&r);
	}
	/* the gate: unknown is not a pass */
	char *dir = th_tmpdir("seccomp-run");
	cr_assert_not_null(dir);
	char out[400];
	snprintf(out, sizeof out, "--out=%s/%%e.%%p.log", dir);
	const char *run[] = { th_build("allocguard"), "run", "-q", "--fail-on-leak", "0", out, "--",
			      exe, mode, how, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, run, NULL, 0, 60), 0);
	cr_expect(r.exited && r.code == 2, "%s %s: run --fail-on-leak 0 gave %s\n%s", mode, how,
		  th_run_desc(&r), r.err);
	cr_expect(strstr(r.err, "without a leak verdict"), "%s %s: %s", mode, how, r.err);
	th_run_free(&r);
	char **logs;
	size_t nlogs = th_list(dir, "seccomp_exit.", &logs);
	cr_assert_eq(nlogs, 1, "%s %s: %zu logs", mode, how, nlogs);
	const char *path = logs[0];
	const char *leaks[] = { th_build("allocguard"), "leaks", "--fail-on", "0", path, NULL };
	cr_assert_eq(th_run(&r, leaks, NULL, 0, 60), 0);
	cr_expect(r.exited && r.code == 2, "%s %s: leaks --fail-on 0 gave %s\n%s", mode, how,
		  th_run_desc(&r), r.err);
	cr_expect(strstr(r.out, "did not judge"), "%s %s: leaks says:\n%s", mode, how, r.out);
	th_run_free(&r);
	const char *json[] = { th_build("allocguard"), "leaks", "--json", path, NULL };
	cr_assert_eq(th_run(&r, json, NULL, 0, 60), 0);
	cr_expect(strstr(r.out, "\"reachability_known\": false") &&
		  strstr(r.out, "\"reachable\": null") && !strstr(r.out, "\"reachable\": true"),
		  "%s %s: leaks --json says:\n%s", mode, how, r.out);
	th_run_free(&r);
	th_strv_free(logs, nlogs);
	th_rmtree(dir);
}

/* Through prctl(PR_SET_SECCOMP) and through syscall(SYS_seccomp), as libseccomp does. */
static void both(const char *mode)
{
	one(mode, "prctl");
	one(mode, "raw");
}

Test(seccomp, kill_on_process_vm_readv, .timeout = 300)
{
	both("kill");
}

Test(seccomp, eperm_on_process_vm_readv, .timeout = 300)
{
	both("eperm");
}

Test(seccomp, trap_runs_no_handler_of_the_program, .timeout = 300)
{
	both("trap");
}

Test(seccomp, allowlist_sandbox_on_the_main_thread, .timeout = 300)
{
	both("allowlist");
}
