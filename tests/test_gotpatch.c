/* test_gotpatch.c: libraries opened with RTLD_DEEPBIND (preload/gotpatch.c and the dlopen
 * hook).  Such a library binds malloc and free to libc past the preload; blocks crossing
 * between it and the program must still be charged and released exactly, so rounds of
 * 50 MB under a 200 MiB cap never run out.  And dlopen through the hook still searches the
 * calling program's RUNPATH. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

static char *dir;
static char logpat[512];

static void setup(void)
{
	if (!th_have_preload())
		cr_skip_test("no preload built");
	dir = strdup(th_tmpdir("gotpatch"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(gotpatch, .init = setup, .fini = teardown);

static void compile(const char *text, const char *name, const char *const *flags)
{
	char src[600], out[600];
	snprintf(src, sizeof src, "%s/%s.c", dir, name);
	snprintf(out, sizeof out, "%s/%s", dir, name);
	FILE *f = fopen(src, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	const char *argv[16] = { "cc", "-o", out, src };
	int n = 4;
	for (int i = 0; flags && flags[i] && n < 15; i++)
		argv[n++] = flags[i];
	argv[n] = NULL;
	th_run_t c;
	cr_assert_eq(th_run(&c, argv, NULL, 0, 60), 0);
	cr_assert(c.exited && c.code == 0, "cc %s: %s\n%s", name, th_run_desc(&c), c.err);
	th_run_free(&c);
}

static const char deeplib[] =
	"#include <stdlib.h>\n"
	"void *lib_malloc(size_t n) { return malloc(n); }\n"
	"void lib_free(void *p) { free(p); }\n";

/* The library frees through a constant table of function pointers (an absolute
 * relocation in RELRO data, not a GOT slot). */
static const char deeplib_table[] =
	"#include <stdlib.h>\n"
	"static void *never(size_t n) { return 0; }\n"
	"static void ignore(void *p) { }\n"
	"/* two entries and a volatile index: a read the compiler cannot fold */\n"
	"static void *(*const allocs[])(size_t) = { malloc, never };\n"
	"static void (*const frees[])(void *) = { free, ignore };\n"
	"volatile int ix;\n"
	"void *lib_malloc(size_t n) { return allocs[ix](n); }\n"
	"void lib_free(void *p) { frees[ix](p); }\n";

static void rounds(const char *mode, const char *libtext)
{
	/* lazy binding unless the mode says otherwise: "rounds-lazy" must meet PLT stubs */
	const char *so[] = { "-shared", "-fPIC", "-Wl,-z,relro,-z,lazy", NULL };
	compile(libtext, "libdeep.so", so);
	char lib[600];
	snprintf(lib, sizeof lib, "%s/libdeep.so", dir);
	const char *argv[] = { th_build("examples/deepbind"), lib, mode, "10", "50", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=200M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_expect(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	cr_expect_str_eq(r.out, "rounds=10 enomem=0\n", "stderr: %s", r.err);
	cr_expect_null(strstr(r.err, "refused"), "%s", r.err);
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1, "one log expected, %zu found", n);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, v[0]), 0);
	th_strv_free(v, n);
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	/* every block freed, on either side: nothing stays charged */
	cr_expect_lt(log.snaps[ex].e[TH_HEAP], 1u << 20, "heap at exit: %llu",
		     (unsigned long long)log.snaps[ex].e[TH_HEAP]);
	/* the library's own blocks are seen too: ours and its, live together, at the peak */
	cr_expect_geq(log.snaps[ex].e[TH_PEAK_HEAP], 100u << 20, "peak heap: %llu",
		      (unsigned long long)log.snaps[ex].e[TH_PEAK_HEAP]);
	th_log_free(&log);
	th_run_free(&r);
}

Test(gotpatch, deepbind_rounds_never_reach_the_cap)
{
	rounds("rounds", deeplib);
}

Test(gotpatch, deepbind_lazy_rounds_never_reach_the_cap)
{
	rounds("rounds-lazy", deeplib);
}

Test(gotpatch, deepbind_function_pointer_tables_are_redirected)
{
	rounds("rounds", deeplib_table);
}

/* The pre-existing stress form: 20,000 small blocks crossing both ways stay intact. */
Test(gotpatch, deepbind_small_blocks_cross_intact)
{
	const char *so[] = { "-shared", "-fPIC", NULL };
	compile(deeplib, "libdeep.so", so);
	char lib[600];
	snprintf(lib, sizeof lib, "%s/libdeep.so", dir);
	const char *argv[] = { th_build("examples/deepbind"), lib, NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_expect(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	cr_expect_str_eq(r.out, "rounds=20000 ok\n");
	th_run_free(&r);
}

static const char plug[] = "int plug(void) { return 42; }\n";
static const char runp[] =
	"#include <dlfcn.h>\n"
	"#include <stdio.h>\n"
	"#include <string.h>\n"
	"int main(int argc, char **argv) {\n"
	"  int deep = argc > 1 && !strcmp(argv[1], \"deep\");\n"
	"  void *h = dlopen(\"libplug.so\", RTLD_NOW | (deep ? RTLD_DEEPBIND : 0));\n"
	"  if (!h) { printf(\"dlopen: %s\\n\", dlerror()); return 1; }\n"
	"  int (*f)(void) = (int (*)(void))dlsym(h, \"plug\");\n"
	"  printf(\"plug=%d\\n\", f ? f() : -1);\n"
	"  return 0;\n"
	"}\n";

/* A bare name found only through the program's RUNPATH ($ORIGIN/sub) opens under the guard
 * as it does bare, deep-bound or not. */
Test(gotpatch, dlopen_searches_the_callers_runpath)
{
	char sub[600];
	snprintf(sub, sizeof sub, "%s/sub", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	const char *so[] = { "-shared", "-fPIC", NULL };
	compile(plug, "sub/libplug.so", so);
	const char *ex[] = { "-Wl,--enable-new-dtags,-rpath,$ORIGIN/sub", "-ldl", NULL };
	compile(runp, "runp", ex);
	char exe[600];
	snprintf(exe, sizeof exe, "%s/runp", dir);
	for (int deep = 0; deep < 2; deep++) {
		for (int pre = 0; pre < 2; pre++) {
			const char *argv[] = { exe, deep ? "deep" : "now", NULL };
			const char *env[] = { logpat, NULL };
			th_run_t r;
			cr_assert_eq(th_run(&r, argv, env, pre, 30), 0);
			cr_expect(r.exited && r.code == 0 && strcmp(r.out, "plug=42\n") == 0,
				  "%s, %s: %s %s", deep ? "deep" : "now", pre ? "guarded" : "bare",
				  th_run_desc(&r), r.out);
			th_run_free(&r);
		}
	}
}
