/* test_churn.c: the churn view (preload/churn.c, report's allocation sections) against
 * heaptrack on the same program: report --json's allocations.calls and .temporary within
 * 2% of heaptrack_print's "calls to allocation functions" and "temporary memory
 * allocations", the site that frees at once first under "most temporary allocations" and
 * the site that keeps its blocks absent from it.  Several sizes of the run, so no figure
 * is fitted to one.  Skips only when heaptrack is not installed (make test installs it). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* The number after marker in s ("calls to allocation functions: 35003 (...)"). */
static long long number_after(const char *s, const char *marker)
{
	const char *p = s ? strstr(s, marker) : NULL;
	cr_assert_not_null(p, "no '%s' in:\n%s", marker, s ? s : "(nothing)");
	p += strlen(marker);
	while (*p && (*p < '0' || *p > '9'))
		p++;
	return strtoll(p, NULL, 10);
}

static th_run_t run(const char *const *argv, const char *const *env, int preload)
{
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, preload, 240), 0);
	cr_assert(r.exited && r.code == 0, "%s: %s\n%s", argv[0], th_run_desc(&r), r.err);
	return r;
}

static void heaptrack_figures(const char *dir, const char *rounds, long long *calls,
			      long long *temp)
{
	char out[600];
	snprintf(out, sizeof out, "%s/ht", dir);
	const char *ht[] = { "heaptrack", "-o", out, th_build("examples/churn_sites"), rounds,
			     NULL };
	th_run_t h = run(ht, NULL, 0);
	th_run_free(&h);
	char **files;
	size_t n = th_list(dir, "ht", &files);
	cr_assert_eq(n, 1, "heaptrack wrote %zu files", n);
	const char *pr[] = { "heaptrack_print", files[0], NULL };
	th_run_t p = run(pr, NULL, 0);
	*calls = number_after(p.out, "calls to allocation functions:");
	*temp = number_after(p.out, "temporary memory allocations:");
	th_run_free(&p);
	th_strv_free(files, n);
}

static void within_2pct(const char *what, long long ours, long long theirs)
{
	cr_assert(theirs > 0, "heaptrack counted no %s", what);
	double d = fabs((double)(ours - theirs)) / (double)theirs;
	cr_assert(d <= 0.02, "%s: allocguard %lld, heaptrack %lld (%.1f%% apart)", what, ours,
		  theirs, d * 100);
}

static void compare(const char *rounds)
{
	char *dir = strdup(th_tmpdir("churn")), env[700], log[600];
	snprintf(log, sizeof log, "%s/a.log", dir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	const char *prog[] = { th_build("examples/churn_sites"), rounds, NULL };
	const char *envs[] = { env, NULL };
	th_run_t p = run(prog, envs, 1);
	th_run_free(&p);
	const char *json[] = { th_build("allocguard"), "report", "--json", log, NULL };
	const char *human[] = { th_build("allocguard"), "report", "--no-color", log, NULL };
	th_run_t j = run(json, NULL, 0), h = run(human, NULL, 0);
	const char *allocs = strstr(j.out, "\"allocations\": {");
	cr_assert_not_null(allocs, "%s", j.out);
	long long calls = number_after(allocs, "\"calls\":");
	long long temp = number_after(allocs, "\"temporary\":");
	long long ht_calls, ht_temp;
	heaptrack_figures(dir, rounds, &ht_calls, &ht_temp);
	within_2pct("calls", calls, ht_calls);
	within_2pct("temporary allocations", temp, ht_temp);
	/* the first row of "most temporary allocations" is the site that frees at once; the
	 * site that keeps its blocks made none */
	const char *sec = strstr(h.out, "\nmost temporary allocations:\n");
	cr_assert_not_null(sec, "%s", h.out);
	const char *row = strchr(sec + 2, '\n');
	row = row ? strchr(row + 1, '\n') : NULL;   /* past the column heads */
	cr_assert_not_null(row, "%s", sec);
	const char *eol = strchr(row + 1, '\n');
	cr_assert(eol && memmem(row, (size_t)(eol - row), "scratch (churn_sites.c", 22),
		  "first temporary row is not the scratch site:\n%s", sec);
	cr_assert_null(strstr(sec, "keep (churn_sites.c"), "the keeping site has temporaries:\n%s",
		       sec);
	th_run_free(&j);
	th_run_free(&h);
	th_rmtree(dir);
	free(dir);
}

Test(churn, agrees_with_heaptrack, .timeout = 600)
{
	if (!th_have_cmd("heaptrack") || !th_have_cmd("heaptrack_print"))
		cr_skip_test("heaptrack is not installed");
	if (access(th_build("examples/churn_sites"), X_OK) != 0)
		cr_skip_test("examples not built");
	compare("20000");
	compare("3001");
}
