/* test_api.c: the in-process API (include/allocguard.h, preload/api.c) as programs use it:
 * built with only -I to the header, bare and under the guard; pressure listeners on every
 * level change up and down, the cap set at run time, labeled snapshots read back by diff
 * and export, the mid-run leak check, Python through ctypes, and make install. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "shrun.h"

/* Compile an example with nothing but -I to include/: no -l flag of any kind. */
static void header_only_build(const char *dir, const char *example, const char *out)
{
	th_run_t r = sh_in(dir, 120, "cc -std=gnu11 -O1 -g -I'%s' -o '%s' '%s'", th_root("include"),
			   out, th_root(example));
	cr_assert_eq(r.code, 0, "cc %s: %s", example, r.err);
	th_run_free(&r);
}

static long long value(const char *out, const char *key)
{
	char marker[128];
	snprintf(marker, sizeof marker, "%s ", key);
	const char *l = th_line_from(out, marker);
	return l ? strtoll(l + strlen(marker), NULL, 10) : -1;
}

Test(api, header_only_program_runs_bare_as_if_the_guard_were_absent)
{
	char *dir = strdup(th_tmpdir("apibare"));
	header_only_build(dir, "examples/api_service.c", "svc");
	header_only_build(dir, "examples/api_probe.c", "probe");
	th_run_t r = sh_in(dir, 120, "./svc 300");
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "mode bare\n"), "%s", r.out);
	cr_assert_eq(value(r.out, "refused"), 0, "%s", r.out);
	cr_assert_eq(value(r.out, "served"), 300, "%s", r.out);
	cr_assert(strstr(r.out, "leak-check unavailable"), "%s", r.out);
	cr_assert(strstr(r.out, "levels\n"), "no listener may be called bare: %s", r.out);
	cr_assert_eq(r.errlen, 0, "%s", r.err);
	th_run_free(&r);
	r = sh_in(dir, 60, "./probe");
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "active 0\n"), "%s", r.out);
	cr_assert(strstr(r.out, "get_usage -1 errno Function not implemented"), "%s", r.out);
	cr_assert(strstr(r.out, "others -1 -1 -1 -1\n"), "%s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

/* The service sheds on the listener's calls and is never refused under --cap 64M; its
 * mid-run leak check finds the planted 777-byte block; LOG@warm works in diff and export. */
Test(api, service_sheds_under_a_cap_checks_leaks_mid_run_and_labels_a_snapshot, .timeout = 300)
{
	char *dir = strdup(th_tmpdir("apisvc"));
	header_only_build(dir, "examples/api_service.c", "svc");
	th_run_t r = sh_in(dir, 240, "%s run --cap 64M --out '%s/svc.%%p.log' -- ./svc 3000",
		 th_build("allocguard"), dir);
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "mode guarded\n"), "%s", r.out);
	cr_assert_eq(value(r.out, "refused"), 0, "%s", r.out);
	cr_assert(!strstr(r.err, "refused with ENOMEM"), "%s", r.err);
	cr_assert_geq(value(r.out, "sheds"), 1, "%s", r.out);
	const char *levels = th_line_from(r.out, "levels ");
	cr_assert(levels && strstr(levels, " 1"), "no warn was heard: %s", r.out);
	cr_assert(strstr(levels, " 1 0") || strstr(levels, " 2 1 0") || strstr(levels, " 2 0"),
		  "no crossing back down was heard: %s", levels);
	cr_assert_eq(value(r.out, "planted-lost"), 777, "%s", r.out);
	cr_assert_eq(value(r.out, "planted-blocks"), 1, "%s", r.out);
	cr_assert(strstr(r.out, "snapshot warm\n"), "%s", r.out);
	/* the exit scan agrees with the mid-run one */
	cr_assert(strstr(r.err, "lost at exit: 777 B in 1 block"), "%s", r.err);
	th_run_free(&r);

	char **logs;
	cr_assert_eq(th_list(dir, "svc.", &logs), 1);
	r = sh_in(dir, 120, "%s diff '%s@warm' '%s'", th_build("allocguard"), logs[0],
		 logs[0]);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "(warm, "), "%s", r.out);
	cr_assert(strstr(r.out, "plant_leak"), "the planted block is new since warm: %s", r.out);
	th_run_free(&r);
	r = sh_in(dir, 120, "%s diff --json '%s@warm' '%s@0'", th_build("allocguard"),
		 logs[0], logs[0]);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"label\": \"warm\""), "%s", r.out);
	th_run_free(&r);
	r = sh_in(dir, 120, "%s export --format collapsed --snapshot warm '%s'",
		 th_build("allocguard"), logs[0]);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.out, ";serve "), "%s", r.out);
	th_run_free(&r);
	r = sh_in(dir, 120, "%s diff '%s@cold' '%s'", th_build("allocguard"), logs[0],
		 logs[0]);
	cr_assert_eq(r.code, 2, "%s", r.err);
	cr_assert_eq(th_nlines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "no snapshot labeled cold"), "%s", r.err);
	th_run_free(&r);
	th_strv_free(logs, 1);
	th_rmtree(dir);
	free(dir);
}

Test(api, cap_set_at_run_time_moves_the_thresholds_and_listeners_hear_each_crossing)
{
	char *dir = strdup(th_tmpdir("apiprobe"));
	th_run_t r = sh_in(dir, 120, "%s run -q -- %s", th_build("allocguard"),
		 th_build("examples/api_probe"));
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "active 1\n"), "%s", r.out);
	cr_assert(strstr(r.out, "on_pressure 0\n"), "%s", r.out);
	cr_assert(strstr(r.out, "cap 8388608 level 0\n"), "%s", r.out);
	cr_assert(strstr(r.out, "level 2\n"), "critical not reached: %s", r.out);
	cr_assert(strstr(r.out, "over-cap malloc refused\n"), "%s", r.out);
	const char *heard = th_line_from(r.out, "heard ");
	cr_assert(heard && strcmp(heard, "heard 1 2 1 0") == 0,
		  "every crossing after registering, up and down, in order: %s", r.out);
	cr_assert(strstr(r.out, "listener-ok 1\n"), "%s", r.out);
	cr_assert(strstr(r.out, "late-heard 0\n"), "a late listener hears no history: %s", r.out);
	cr_assert(strstr(r.out, "after-uncap malloc allowed\n"), "%s", r.out);
	cr_assert(strstr(r.out, "bad-labels -1 -1 -1 -1 -1\n"), "%s", r.out);
	cr_assert(strstr(r.out, "snapshot 0\n"), "%s", r.out);
	cr_assert(strstr(r.out, "leak_check 0 lost 0 "), "%s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(api, a_test_suite_names_the_test_that_leaked)
{
	char *dir = strdup(th_tmpdir("apisuite"));
	th_run_t r = sh_in(dir, 120, "%s run -q -- %s", th_build("allocguard"),
		 th_build("examples/api_testsuite"));
	cr_assert_eq(r.code, 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "FAIL test_split_leaks: leaked 33 bytes in 4 blocks\n"), "%s",
		  r.out);
	cr_assert_eq(th_count_lines(r.out, "FAIL"), 1, "only the leaking test fails: %s", r.out);
	cr_assert(strstr(r.out, "ok   test_keeps_cache\n"), "reachable is not lost: %s", r.out);
	th_run_free(&r);
	r = sh_in(dir, 60, "%s", th_build("examples/api_testsuite"));
	cr_assert_eq(r.code, 0, "bare, the checks are skipped: %s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(api, python_reads_the_usage_through_ctypes)
{
	if (!th_have_cmd("python3"))
		cr_skip_test("no python3");
	char *dir = strdup(th_tmpdir("apipy"));
	th_run_t r = sh_in(dir, 120, "%s run -q --cap 1G -- python3 '%s'", th_build("allocguard"),
		 th_root("examples/api_usage.py"));
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert_gt(value(r.out, "tracked before"), 0, "%s", r.out);
	cr_assert_geq(value(r.out, "grew"), 8 * 1024 * 1024, "%s", r.out);
	cr_assert(strstr(r.out, "cap 1073741824 level ok"), "%s", r.out);
	th_run_free(&r);
	r = sh_in(dir, 60, "python3 '%s'", th_root("examples/api_usage.py"));
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "allocguard: not active"), "%s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(api, make_install_puts_the_header_and_default_suppressions_beside_the_tool)
{
	char *dir = strdup(th_tmpdir("apiinst"));
	th_run_t r = sh_in(dir, 240, "make -s -C '%s' install PREFIX='%s/p' >/dev/null",
		 th_root(""), dir);
	cr_assert_eq(r.code, 0, "%s", r.err);
	th_run_free(&r);
	struct stat st;
	char p[1024];
	snprintf(p, sizeof p, "%s/p/include/allocguard.h", dir);
	cr_assert_eq(stat(p, &st), 0, "%s", p);
	snprintf(p, sizeof p, "%s/p/share/allocguard/default.supp", dir);
	cr_assert_eq(stat(p, &st), 0, "%s", p);
	/* the installed header builds a program; the installed CLI reads its own defaults */
	r = sh_in(dir, 120, "cc -I p/include -o probe '%s' && p/bin/allocguard run -q "
		 "--fail-on-leak 0 -- bash -c 'f() { if true; then x=$(echo 1); fi; }; f; ./probe'",
		 th_root("examples/api_probe.c"));
	cr_assert_eq(r.code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "active 1\n"), "%s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}
