/* test_leaks_view.c: what `allocguard leaks` claims (analyzer/leaks.c): --lost-only shows
 * only lost sites, and a log without an exit snapshot never calls anything lost or still
 * reachable, only live. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static th_run_t ag(const char *const *argv)
{
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(!r.timed_out);
	return r;
}

Test(leaks_view, lost_only_keeps_the_lost_sites)
{
	if (access(th_build("examples/leaks"), X_OK) != 0)
		cr_skip_test("examples not built");
	char *dir = strdup(th_tmpdir("lostonly")), env[700], log[600];
	snprintf(log, sizeof log, "%s/l.log", dir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	const char *prog[] = { th_build("examples/leaks"), "none", NULL };
	const char *envs[] = { env, NULL };
	th_run_t p;
	cr_assert_eq(th_run(&p, prog, envs, 1, 60), 0);
	cr_assert_eq(p.code, 0, "%s", th_run_desc(&p));
	const char *all[] = { th_build("allocguard"), "leaks", "--top", "100", log, NULL };
	const char *lost[] = { th_build("allocguard"), "leaks", "--top", "100", "--lost-only", log,
			       NULL };
	const char *json[] = { th_build("allocguard"), "leaks", "--json", "--lost-only", log, NULL };
	th_run_t a = ag(all), l = ag(lost), j = ag(json);
	cr_assert_eq(a.code, 0, "%s", a.err);
	cr_assert_eq(l.code, 0, "%s", l.err);
	cr_assert(strstr(a.out, "reachable  keep_reachable"), "%s", a.out);
	cr_assert(strstr(l.out, "leak_malloc"), "%s", l.out);
	cr_assert_null(strstr(l.out, "reachable  "), "a reachable row under --lost-only:\n%s", l.out);
	cr_assert_null(strstr(j.out, "\"reachable\": true"), "%s", j.out);
	cr_assert(strstr(j.out, "\"reachable\": false"), "%s", j.out);
	/* in the full view, every lost row comes before the first reachable one */
	const char *first_reach = strstr(a.out, "  reachable  ");
	const char *last_lost = NULL;
	for (const char *s = a.out; (s = strstr(s, "  lost")); s++)
		last_lost = s;
	cr_assert(first_reach && last_lost && last_lost < first_reach, "%s", a.out);
	th_run_free(&p);
	th_run_free(&a);
	th_run_free(&l);
	th_run_free(&j);
	th_rmtree(dir);
	free(dir);
}

Test(leaks_view, a_killed_process_is_only_live)
{
	char *dir = strdup(th_tmpdir("killed")), cmd[1200], log[600];
	snprintf(log, sizeof log, "%s/k.log", dir);
	snprintf(cmd, sizeof cmd, "ALLOCGUARD_INTERVAL=20ms ALLOCGUARD_LOG=%s LD_PRELOAD=%s "
		 "sleep 30 & p=$!; sleep 0.5; kill -9 $p; wait $p; exit 0", log, th_preload());
	const char *sh[] = { "sh", "-c", cmd, NULL };
	th_run_t k = ag(sh);
	const char *argv[] = { th_build("allocguard"), "leaks", log, NULL };
	const char *lost[] = { th_build("allocguard"), "leaks", "--lost-only", log, NULL };
	th_run_t a = ag(argv), l = ag(lost);
	cr_assert_eq(a.code, 0, "%s", a.err);
	cr_assert(strstr(a.out, "lost or reachable: unknown"), "%s", a.out);
	cr_assert_null(strstr(a.out, "still reachable"), "claims reachability:\n%s", a.out);
	cr_assert(strstr(l.out, "no site can be called lost"), "%s", l.out);
	th_run_free(&k);
	th_run_free(&a);
	th_run_free(&l);
	th_rmtree(dir);
	free(dir);
}

/* An image replaced by exec ends its log with an exec snapshot: the view says so (not "did
 * not exit normally"), shows what was live then, and judges nothing. */
Test(leaks_view, an_exec_image_says_exec)
{
	char *dir = strdup(th_tmpdir("execimg")), cmd[1200], log[600];
	snprintf(log, sizeof log, "%s/x.%%e.%%p.log", dir);
	snprintf(cmd, sizeof cmd, "ALLOCGUARD_INTERVAL=20ms ALLOCGUARD_LOG=%s LD_PRELOAD=%s "
		 "bash -c 'x=$(echo hi); sleep 0.3; exec true'", log, th_preload());
	const char *sh[] = { "sh", "-c", cmd, NULL };
	th_run_t k = ag(sh);
	cr_assert_eq(k.code, 0, "%s", th_run_desc(&k));
	/* the subshell's bash exits; the one that ran exec ends in an exec snapshot */
	char **names;
	size_t n = th_list(dir, "x.bash.", &names), execs = 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(log, sizeof log, "%s", names[i]);   /* th_list gives whole paths */
		const char *argv[] = { th_build("allocguard"), "leaks", log, NULL };
		th_run_t a = ag(argv);
		cr_assert_eq(a.code, 0, "%s", a.err);
		cr_assert_null(strstr(a.out, "did not exit normally"), "%s", a.out);
		if (strstr(a.out, "(exec)")) {
			execs++;
			cr_assert(strstr(a.out, "replaced its image (exec)"), "%s", a.out);
			cr_assert(strstr(a.out, "lost or reachable: unknown"), "%s", a.out);
		}
		th_run_free(&a);
	}
	cr_assert_eq(execs, 1, "%zu logs of bash, %zu end in exec", n, execs);
	th_strv_free(names, n);
	th_run_free(&k);
	th_rmtree(dir);
	free(dir);
}
