/* test_integration_valgrind.c: the exit scan's verdicts against memcheck's on the same
 * programs: our lost bytes and blocks equal valgrind's definitely + indirectly lost.  Skips
 * when valgrind is not installed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* "==123==    definitely lost: 31,612 bytes in 28 blocks" -> bytes, blocks */
static void memcheck_figure(const char *err, const char *what, uint64_t *bytes, uint64_t *blocks)
{
	const char *p = strstr(err, what);
	cr_assert_not_null(p, "no '%s' in valgrind's summary:\n%s", what, err);
	p += strlen(what);
	uint64_t v[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		while (*p && (*p < '0' || *p > '9'))
			p++;
		while ((*p >= '0' && *p <= '9') || *p == ',') {
			if (*p != ',')
				v[k] = v[k] * 10 + (uint64_t)(*p - '0');
			p++;
		}
	}
	*bytes = v[0];
	*blocks = v[1];
}

static void compare(const char *example)
{
	if (!th_have_cmd("valgrind"))
		cr_skip_test("valgrind is not installed");
	const char *prog = th_build(example);
	const char *vg[] = { "valgrind", "--leak-check=full", "--errors-for-leak-kinds=none", prog,
			     NULL };
	th_run_t v;
	cr_assert_eq(th_run(&v, vg, NULL, 0, 120), 0);
	cr_assert(v.exited, "valgrind: %s", th_run_desc(&v));
	uint64_t def_b, def_n, ind_b, ind_n;
	memcheck_figure(v.err, "definitely lost:", &def_b, &def_n);
	memcheck_figure(v.err, "indirectly lost:", &ind_b, &ind_n);

	char *dir = strdup(th_tmpdir("vg"));
	char pat[600];
	snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	const char *env[] = { pat, NULL };
	const char *argv[] = { prog, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == v.code, "under the guard: %s", th_run_desc(&r));
	char **logs;
	size_t n = th_list(dir, "ag.", &logs);
	cr_assert_eq(n, 1);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, logs[0]), 0);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "no exit snapshot");
	uint64_t lost_b = 0, lost_n = 0;
	for (size_t i = 0; i < log.nstacks; i++) {
		lost_b += log.val[i].lost_bytes;
		lost_n += log.val[i].lost_count;
	}
	cr_expect_eq(lost_b, def_b + ind_b, "%s: allocguard lost %llu bytes, memcheck %llu "
		     "definitely + %llu indirectly", example, (unsigned long long)lost_b,
		     (unsigned long long)def_b, (unsigned long long)ind_b);
	cr_expect_eq(lost_n, def_n + ind_n, "%s: allocguard lost %llu blocks, memcheck %llu + %llu",
		     example, (unsigned long long)lost_n, (unsigned long long)def_n,
		     (unsigned long long)ind_n);
	th_log_free(&log);
	th_strv_free(logs, n);
	th_rmtree(dir);
	free(dir);
	th_run_free(&r);
	th_run_free(&v);
}

Test(integration_valgrind, planted_leaks_match_memcheck, .timeout = 180)
{
	compare("examples/leaks");
}

Test(integration_valgrind, reachability_cases_match_memcheck, .timeout = 180)
{
	compare("examples/reach");
}
