/* test_gate.c: `run --fail-on-leak` never passes what it did not see (analyzer/run.c,
 * summary.c), and suppressions (analyzer/suppress.c) take vendors' and shells' leaks out of
 * the verdict of run and leaks alike, never the program's own. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "shrun.h"

static void need(const char *example)
{
	if (access(th_build(example), X_OK) != 0)
		cr_skip_test("%s not built", example);
}

static const char *ag(void)
{
	return th_build("allocguard");
}

Test(gate, out_into_a_missing_or_unusable_directory_is_refused_before_the_command)
{
	char *dir = strdup(th_tmpdir("gateout"));
	write_in(dir, "plainfile", "x\n", 0644);
	const char *outs[] = { "missing/x.%p.log", "/nonexistent-allocguard/x.log",
			       "plainfile/x.log" };
	for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
		th_run_t r = sh_in(dir, 60, "%s run --fail-on-leak 0 --out '%s' -- touch ran",
			 ag(), outs[i]);
		cr_assert_eq(r.code, 2, "%s: %s", outs[i], r.err);
		cr_assert_eq(th_nlines(r.err), 1, "%s", r.err);
		cr_assert(strstr(r.err, "allocguard: --out "), "%s", r.err);
		cr_assert(strstr(r.err, "not started"), "%s", r.err);
		char marker[1024];
		snprintf(marker, sizeof marker, "%s/ran", dir);
		cr_assert_neq(access(marker, F_OK), 0, "the command ran: %s", outs[i]);
		th_run_free(&r);
	}
	th_rmtree(dir);
	free(dir);
}

/* A static binary cannot be preloaded: with the gate it is "not judged", whether started
 * directly or exec'd by a wrapper; without the gate its status passes through. */
Test(gate, a_static_program_does_not_pass_the_gate)
{
	char *dir = strdup(th_tmpdir("gatestatic"));
	write_in(dir, "leaky.c", "#include <stdlib.h>\nvoid *volatile p;\nint main(void) "
		   "{ p = malloc(500); p = 0; return 0; }\n", 0644);
	th_run_t r = sh_in(dir, 120, "cc -static -o leaky_static leaky.c");
	if (r.code != 0)
		cr_skip_test("no static libc to link with: %s", r.err);
	th_run_free(&r);
	const char *forms[] = { "./leaky_static", "bash -c 'exec ./leaky_static'" };
	for (size_t i = 0; i < 2; i++) {
		r = sh_in(dir, 60, "%s run -q --fail-on-leak 0 -- %s", ag(), forms[i]);
		cr_assert_eq(r.code, 2, "%s: %s", forms[i], r.err);
		cr_assert_eq(th_nlines(r.err), 1, "%s", r.err);
		cr_assert(strstr(r.err, "not judged"), "%s", r.err);
		cr_assert(strstr(r.err, "static"), "%s", r.err);
		th_run_free(&r);
	}
	r = sh_in(dir, 60, "%s run -q -- ./leaky_static", ag());
	cr_assert_eq(r.code, 0, "without a gate nothing is judged: %s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

/* run with suppressions: status, and what stderr says. */
static th_run_t run_vendor(const char *dir, const char *flags)
{
	return sh_in(dir, 60, "%s run --fail-on-leak 0 --out '%s/v.%%p.log' %s -- %s own", ag(),
		     dir, flags, th_build("examples/vendor_leak"));
}

static th_run_t leaks_of(const char *dir, const char *flags)
{
	return sh_in(dir, 60, "%s leaks %s v.*.log", ag(), flags);
}

Test(gate, a_suppressed_vendor_leak_leaves_the_programs_own_leak_judged)
{
	need("examples/vendor_leak");
	char *dir = strdup(th_tmpdir("gatevendor"));
	write_in(dir, "vendor.supp", "# the vendor's start-up cache\n\nleak:vendor_cache_init\n",
		   0644);
	write_in(dir, "own.supp", "# ours, for now\nleak:own_forgotten_*\n", 0644);
	th_run_t r = run_vendor(dir, "--suppressions vendor.supp");
	cr_assert_eq(r.code, 1, "%s", r.err);
	cr_assert(strstr(r.err, "own_forgotten_buffer"), "the own leak is named: %s", r.err);
	cr_assert(strstr(r.err, "300 B lost at exit"), "%s", r.err);
	cr_assert(strstr(r.err, "suppressed 4.0 KiB in 1 block by vendor.supp:3 "
			 "leak:vendor_cache_init"), "%s", r.err);
	th_run_free(&r);
	r = leaks_of(dir, "--suppressions vendor.supp --fail-on 0");
	cr_assert_eq(r.code, 1, "leaks agrees with run: %s%s", r.out, r.err);
	cr_assert(strstr(r.out, "suppressed 4.0 KiB in 1 block by vendor.supp:3"), "%s", r.out);
	cr_assert(!strstr(r.out, "vendor_cache_init ("), "a suppressed site is not listed: %s",
		  r.out);
	th_run_free(&r);
	r = leaks_of(dir, "--json --suppressions vendor.supp");
	cr_assert(strstr(r.out, "\"pattern\": \"vendor_cache_init\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"bytes\": 4096"), "%s", r.out);
	th_run_free(&r);
	r = leaks_of(dir, "--suppressions vendor.supp --suppressions=own.supp --fail-on 0");
	cr_assert_eq(r.code, 0, "both suppressed: %s%s", r.out, r.err);
	th_run_free(&r);
	r = sh_in(dir, 10, "rm -f v.*.log");
	th_run_free(&r);
	r = run_vendor(dir, "--suppressions vendor.supp --suppressions own.supp");
	cr_assert_eq(r.code, 0, "both suppressed: %s", r.err);
	cr_assert(strstr(r.err, "by own.supp:2 leak:own_forgotten_*"), "%s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(gate, suppressions_from_the_environment_by_source_file_and_module)
{
	need("examples/vendor_leak");
	char *dir = strdup(th_tmpdir("gateenv"));
	write_in(dir, "a.supp", "leak:vendor_cache_init\n", 0644);
	write_in(dir, "b.supp", "leak:own_forgotten_buffer\n", 0644);
	write_in(dir, "file.supp", "leak:^*/vendor_leak.c$\n", 0644);
	write_in(dir, "module.supp", "leak:examples/vendor_leak$\n", 0644);
	write_in(dir, "other.supp", "leak:^endor_leak\nleak:cache_ini$\nleak:own_forgotten_buffer$x\n", 0644);
	const char *env_ok[] = { "ALLOCGUARD_SUPPRESSIONS=a.supp:b.supp",
				 "ALLOCGUARD_SUPPRESSIONS=file.supp",
				 "ALLOCGUARD_SUPPRESSIONS=module.supp" };
	for (size_t i = 0; i < 3; i++) {
		th_run_t r = sh_in(dir, 60, "%s %s run -q --fail-on-leak 0 -- %s own", env_ok[i],
				   ag(), th_build("examples/vendor_leak"));
		cr_assert_eq(r.code, 0, "%s: %s", env_ok[i], r.err);
		th_run_free(&r);
	}
	/* anchors hold: neither rule matches a name only partly */
	th_run_t r = sh_in(dir, 60, "ALLOCGUARD_SUPPRESSIONS=other.supp %s run -q --fail-on-leak 0 "
		 "-- %s own", ag(), th_build("examples/vendor_leak"));
	cr_assert_eq(r.code, 1, "%s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(gate, print_suppressions_writes_entries_that_suppress_what_they_name)
{
	need("examples/vendor_leak");
	char *dir = strdup(th_tmpdir("gateprint"));
	th_run_t r = run_vendor(dir, "");
	cr_assert_eq(r.code, 1, "%s", r.err);
	th_run_free(&r);
	r = leaks_of(dir, "--print-suppressions");
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\nleak:own_forgotten_buffer\n"), "%s", r.out);
	cr_assert(strstr(r.out, "\nleak:vendor_cache_init\n"), "%s", r.out);
	cr_assert(strstr(r.out, "# 300 B in 1 block lost at own_forgotten_buffer"), "%s", r.out);
	const char *from = strstr(r.out, "suppressions for the lost sites");
	cr_assert(from);
	write_in(dir, "gen.supp", strchr(from, '\n') + 1, 0644);
	th_run_free(&r);
	r = leaks_of(dir, "--suppressions gen.supp --fail-on 0");
	cr_assert_eq(r.code, 0, "the printed entries suppress every lost site: %s%s", r.out, r.err);
	th_run_free(&r);
	r = leaks_of(dir, "--json --print-suppressions");
	cr_assert(strstr(r.out, "\"suppression\": \"leak:own_forgotten_buffer\""), "%s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(gate, a_bad_suppression_file_stops_with_one_line)
{
	char *dir = strdup(th_tmpdir("gatebad"));
	write_in(dir, "race.supp", "leak:fine\nrace:foo\n", 0644);
	write_in(dir, "empty.supp", "leak:\n", 0644);
	const char *cases[][2] = { { "--suppressions race.supp", "race.supp:2: expected" },
				   { "--suppressions empty.supp", "empty.supp:1: 'leak:' needs" },
				   { "--suppressions missing.supp", "missing.supp: No such file" },
				   { "--suppressions", "needs a file" } };
	for (size_t i = 0; i < 4; i++) {
		th_run_t r = sh_in(dir, 60, "%s run %s -- touch ran", ag(), cases[i][0]);
		cr_assert_eq(r.code, 2, "%s: %s", cases[i][0], r.err);
		cr_assert_eq(th_nlines(r.err), 1, "%s", r.err);
		cr_assert(strstr(r.err, cases[i][1]), "%s", r.err);
		th_run_free(&r);
		r = sh_in(dir, 60, "%s leaks %s nolog.log", ag(), cases[i][0]);
		cr_assert_eq(r.code, 2, "%s: %s", cases[i][0], r.err);
		th_run_free(&r);
	}
	char marker[1024];
	snprintf(marker, sizeof marker, "%s/ran", dir);
	cr_assert_neq(access(marker, F_OK), 0, "the command ran with bad suppressions");
	th_rmtree(dir);
	free(dir);
}

/* A pyenv-style shim: bash functions, conditionals and subshells (whose parsed commands
 * bash leaves allocated), then exec of the real program. */
static void write_shim(const char *dir)
{
	write_in(dir, "shim", "#!/bin/bash\nset -e\n"
		   "find_version() { if [ -n \"$1\" ]; then v=$(echo \"$1\" | cut -d. -f1); "
		   "else v=0; fi; case $v in 3) echo three;; *) echo other;; esac; }\n"
		   "for i in 1 2 3; do w=$(find_version 3.$i); [ \"$w\" = three ] || exit 5; done\n"
		   "r=$(basename \"$1\"); [ -n \"$r\" ]\nexec \"$@\"\n", 0755);
	write_in(dir, "wrap", "#!/bin/bash\nfor i in 1 2; do x=$(echo $i); done\n\"$@\"\n"
		   "st=$?\nif [ $st -ne 0 ]; then exit $st; fi\necho wrapped\n", 0755);
}

Test(gate, shell_wrappers_never_fail_the_gate_but_what_they_run_is_judged, .timeout = 300)
{
	need("examples/vendor_leak");
	if (!th_have_cmd("bash") || !th_have_cmd("python3"))
		cr_skip_test("needs bash and python3");
	char *dir = strdup(th_tmpdir("gateshim"));
	write_shim(dir);
	th_run_t r = sh_in(dir, 120, "%s run --fail-on-leak 0 -- ./shim python3 -c pass", ag());
	cr_assert_eq(r.code, 0, "a shim around a clean program: %s", r.err);
	th_run_free(&r);
	r = sh_in(dir, 120, "%s run --fail-on-leak 0 --no-default-suppressions -- ./wrap "
		 "python3 -c pass", ag());
	cr_assert_eq(r.code, 1, "without the defaults bash's own leaks show: %s", r.err);
	cr_assert(strstr(r.err, "(bash"), "%s", r.err);
	th_run_free(&r);
	r = sh_in(dir, 120, "%s run --fail-on-leak 0 -- ./wrap %s own", ag(),
		 th_build("examples/vendor_leak"));
	cr_assert_eq(r.code, 1, "a leaky program behind a wrapper: %s", r.err);
	cr_assert(strstr(r.err, "(vendor_leak)"), "the leaky child is named: %s", r.err);
	th_run_free(&r);
	r = sh_in(dir, 120, "%s run --fail-on-leak 0 -- ./shim %s own", ag(),
		 th_build("examples/vendor_leak"));
	cr_assert_eq(r.code, 1, "a leaky program exec'd by a shim: %s", r.err);
	cr_assert(strstr(r.err, "own_forgotten_buffer"), "%s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(gate, the_pyenv_shim_of_this_machine_passes_around_a_clean_program)
{
	const char *shim = "/root/.pyenv/shims/python3";
	if (access(shim, X_OK) != 0)
		cr_skip_test("no pyenv shim at %s", shim);
	char *dir = strdup(th_tmpdir("gatepyenv"));
	th_run_t r = sh_in(dir, 120, "%s run --fail-on-leak 0 -- %s -c pass", ag(), shim);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert(strstr(r.err, "default.supp"), "the defaults took bash's leaks: %s", r.err);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}
