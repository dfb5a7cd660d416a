/* test_analyzer_frames.c: --frames N and --all-frames on the human views (analyzer/fold.c
 * through sites.c and commands.c), on a real log of examples/leaks: program entry frames
 * fold away by default and come back with --all-frames; --frames bounds the frames shown;
 * a bad value is refused with status 2. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static char *dir, *log_path;

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("frames"));
	char env0[600];
	snprintf(env0, sizeof env0, "ALLOCGUARD_LOG=%s/ag.log", dir);
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { env0, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	th_run_free(&r);
	log_path = malloc(strlen(dir) + 16);
	sprintf(log_path, "%s/ag.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
	free(log_path);
}

TestSuite(analyzer_frames, .init = setup, .fini = teardown, .timeout = 120);

/* `allocguard leaks LOG --no-color ARGS...`: its stdout (caller frees) and status. */
static char *leaks(const char *a1, const char *a2, int *code)
{
	th_run_t r;
	const char *argv[] = { th_build("allocguard"), "leaks", log_path, "--no-color", "--top=50", a1, a2,
			       NULL };
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(r.exited, "%s", th_run_desc(&r));
	*code = r.code;
	char *out = strdup(r.out);
	th_run_free(&r);
	return out;
}

/* The site row naming fn and its "from" lines, as one string. */
static const char *site_block(const char *out, const char *fn)
{
	static char buf[4096];
	const char *p = strstr(out, fn);
	cr_assert_not_null(p, "%s not in:\n%s", fn, out);
	size_t n = 0;
	const char *e = strchr(p, '\n');
	while (e && strncmp(e + 1 + strspn(e + 1, " "), "from ", 5) == 0)
		e = strchr(e + 1, '\n');
	n = e ? (size_t)(e - p) : strlen(p);
	snprintf(buf, sizeof buf, "%.*s", (int)n, p);
	return buf;
}

static size_t froms(const char *s)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, "from ")); p += 5)
		n++;
	return n;
}

Test(analyzer_frames, entry_frames_fold_and_come_back)
{
	int code;
	char *def = leaks(NULL, NULL, &code);
	cr_assert_eq(code, 0);
	const char *b = site_block(def, "leak_malloc (leaks.c:");
	cr_expect_eq(froms(b), 1, "default: leak_malloc from main only:\n%s", b);
	cr_expect_null(strstr(def, "__libc_start_call_main"), "entry frames not folded:\n%s", def);
	cr_expect(strstr(def, "leak_strdup (leaks.c:") && strstr(def, "via __strdup"),
		  "the wrapper is named after the site:\n%s", def);
	free(def);

	char *all = leaks("--all-frames", NULL, &code);
	cr_assert_eq(code, 0);
	b = site_block(all, "leak_malloc (leaks.c:");
	cr_expect_eq(froms(b), 2, "--all-frames shows 3 frames as recorded:\n%s", b);
	cr_expect(strstr(b, "__libc_start_call_main"), "%s", b);
	free(all);

	char *more = leaks("--all-frames", "--frames=6", &code);
	cr_assert_eq(code, 0);
	b = site_block(more, "leak_malloc (leaks.c:");
	cr_expect_geq(froms(b), 3, "--frames 6 --all-frames shows the entry frames:\n%s", b);
	free(more);

	char *one = leaks("--frames", "1", &code);
	cr_assert_eq(code, 0);
	cr_expect_null(strstr(one, "from "), "--frames 1 shows no callers:\n%s", one);
	free(one);
}

Test(analyzer_frames, bad_values_refused)
{
	int code;
	free(leaks("--frames", "0", &code));
	cr_expect_eq(code, 2);
	free(leaks("--frames", "x", &code));
	cr_expect_eq(code, 2);
	free(leaks("--frames", NULL, &code));
	cr_expect_eq(code, 2);
}
