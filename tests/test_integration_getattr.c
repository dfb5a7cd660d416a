/* test_integration_getattr.c: a thread whose first call is pthread_getattr_np on itself
 * (the JVM's threads do) must not deadlock on the thread lock glibc holds while it reallocs
 * inside it (preload/stacks.c asks for its own stack bounds from an allocation hook). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

Test(integration_getattr, pthread_getattr_np_first_never_deadlocks)
{
	if (access(th_build("examples/getattr_first"), X_OK) != 0)
		cr_skip_test("examples not built");
	char *dir = strdup(th_tmpdir("getattr")), env[600];
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	const char *argv[] = { th_build("examples/getattr_first"), "32", NULL };
	const char *envs[] = { env, NULL };
	for (int i = 0; i < 3; i++) {
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, envs, 1, 30), 0);
		cr_assert(!r.timed_out, "deadlocked (run %d)", i);
		cr_assert_eq(r.code, 0, "%s %s", th_run_desc(&r), r.err);
		cr_assert(strstr(r.out, "threads=32 ok"), "%s", r.out);
		th_run_free(&r);
	}
	th_rmtree(dir);
	free(dir);
}
