/* test_integration_limits.c: a fixed limit of the preload that drops something says so,
 * once, on stderr ("allocguard: ..."), and the program runs as it would bare. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

Test(integration_limits, mapping_with_too_many_pieces_is_said_once)
{
	char *dir = strdup(th_tmpdir("limits"));
	char logpat[512];
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	const char *argv[] = { th_build("examples/manypieces"), NULL };
	const char *env[] = { logpat, NULL };
	th_run_t bare, r;
	cr_assert_eq(th_run(&bare, argv, NULL, 0, 30), 0);
	cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
	cr_expect(r.exited && r.code == 0, "%s", th_run_desc(&r));
	cr_expect_str_eq(r.out, bare.out);
	cr_expect_eq(th_count_lines(r.err, "allocguard: a moved or copied mapping has more than "
				    "64 pieces"), 1, "stderr: %s", r.err);
	th_run_free(&bare);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}
