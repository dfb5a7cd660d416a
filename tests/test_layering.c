/* test_layering.c: the preload's and the analyzer's files call each other downhill only:
 * no circle among them (tests/callgraph.py reads who calls whom from the objects' symbol
 * tables, nothing filtered), and the built library has no relocation against a name it
 * exports itself (its own code never calls back up into its hooks: readelf -r).  And the
 * checkers still see a circle and a call back up when there is one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

/* tests/callgraph.py with up to four arguments (a NULL ends them early). */
static void callgraph(th_run_t *r, const char *a1, const char *a2, const char *a3,
		      const char *a4)
{
	const char *argv[] = { "python3", th_root("tests/callgraph.py"), a1, a2, a3, a4, NULL };
	cr_assert_eq(th_run(r, argv, NULL, 0, 60), 0, "cannot run tests/callgraph.py");
}

static void check(const char *objdir, const char *srcdir, th_run_t *r)
{
	callgraph(r, "--check", "--src", srcdir, objdir);
}

static void self_calls(const char *lib, th_run_t *r)
{
	callgraph(r, "--self-calls", lib, NULL, NULL);
}

static void no_circle_in(const char *dir)
{
	th_run_t r;
	check(th_build(dir), th_root(dir), &r);
	cr_assert(r.exited && r.code == 0, "the files of %s/ call each other in a circle "
		  "(%s):\n%s%s", dir, th_run_desc(&r), r.out ? r.out : "", r.err ? r.err : "");
	th_run_free(&r);
}

Test(layering, no_circle_among_preload_files)
{
	no_circle_in("preload");
}

Test(layering, no_circle_among_analyzer_files)
{
	no_circle_in("analyzer");
}

Test(layering, library_never_calls_its_own_hooks)
{
	th_run_t r;
	self_calls(th_build("liballocguard.so"), &r);
	cr_assert(r.exited && r.code == 0, "liballocguard.so calls names it exports itself, "
		  "which bind back to its own hooks at run time (use sys_*, libc's own name "
		  "or a local alias) "
		  "(%s):\n%s%s", th_run_desc(&r), r.out ? r.out : "", r.err ? r.err : "");
	th_run_free(&r);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void compile(const char *dir, const char *name)
{
	char src[512], obj[512];
	snprintf(src, sizeof src, "%s/%s.c", dir, name);
	snprintf(obj, sizeof obj, "%s/%s.o", dir, name);
	const char *argv[] = { "cc", "-c", src, "-o", obj, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(r.exited && r.code == 0, "cc %s: %s", src, r.err ? r.err : "");
	th_run_free(&r);
}

Test(layering, the_checker_finds_a_circle)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("layering"));
	char path[512];
	snprintf(path, sizeof path, "%s/low.c", dir);
	write_file(path, "int high_f(void);\nint low_f(void) { return high_f(); }\n");
	snprintf(path, sizeof path, "%s/high.c", dir);
	write_file(path, "int low_f(void);\nint high_f(void) { return 1; }\n"
			 "int high_g(void) { return low_f(); }\n");
	compile(dir, "low");
	compile(dir, "high");
	th_run_t r;
	check(dir, dir, &r);
	cr_assert(r.exited && r.code == 1, "a circle was not reported (%s)", th_run_desc(&r));
	cr_assert(r.out && strstr(r.out, "circle among: high.c low.c"), "%s", r.out ? r.out : "");
	th_run_free(&r);
	th_rmtree(dir);
}

Test(layering, the_checker_finds_a_call_back_up)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("layering"));
	char src[512], lib[512];
	snprintf(src, sizeof src, "%s/hooky.c", dir);
	snprintf(lib, sizeof lib, "%s/libhooky.so", dir);
	write_file(src, "int close(int fd) { return fd; }\n"
			"int helper(void) { return close(3); }\n");
	const char *argv[] = { "cc", "-shared", "-fPIC", "-fno-builtin", "-o", lib, src, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(r.exited && r.code == 0, "cc %s: %s", src, r.err ? r.err : "");
	th_run_free(&r);
	self_calls(lib, &r);
	cr_assert(r.exited && r.code == 1, "a call back up was not reported (%s)",
		  th_run_desc(&r));
	cr_assert(r.out && strstr(r.out, "calls its own export: close"), "%s",
		  r.out ? r.out : "");
	th_run_free(&r);
	th_rmtree(dir);
}
