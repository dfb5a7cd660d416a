/* test_sites.c: the site model (analyzer/sites.c, siteset.c, siteview.c) on real runs: a
 * site reached by several call paths is one site, first in report --json's peak_sites
 * and first in the human view when its paths add up to the most; a leak hidden in a
 * churning cache at the same line is reported as a growing path under its site, in every
 * run, at a slope within 35% of the rate the program measured. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "reports.h"

static th_run_t run(const char *const *argv, const char *const *env, int preload)
{
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, preload, 120), 0);
	cr_assert(r.exited && r.code == 0, "%s: %s\n%s", argv[0], th_run_desc(&r), r.err);
	return r;
}

/* The "function" of the first "site" object after marker in the JSON text. */
static void first_site_function(const char *json, const char *marker, char *out, size_t len)
{
	const char *p = strstr(json, marker);
	cr_assert_not_null(p, "no %s", marker);
	p = strstr(p, "\"site\": {");
	cr_assert_not_null(p, "no site after %s", marker);
	p = strstr(p, "\"function\": \"");
	cr_assert_not_null(p);
	p += 13;
	size_t n = strcspn(p, "\"");
	snprintf(out, len, "%.*s", (int)n, p);
}

Test(sites, paths_of_one_site_add_up_to_the_first_row, .timeout = 120)
{
	if (!th_have_preload() || access(th_build("examples/split_paths"), X_OK))
		cr_skip_test("split_paths or the preload not built");
	char *dir = strdup(th_tmpdir("sites")), env[700], log[600];
	snprintf(log, sizeof log, "%s/a.log", dir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	th_run_t p = run((const char *[]){ th_build("examples/split_paths"), NULL },
			 (const char *[]){ env, NULL }, 1);
	th_run_t j = run((const char *[]){ th_build("allocguard"), "report", "--json", log, NULL },
			 NULL, 0);
	th_run_t h = run((const char *[]){ th_build("allocguard"), "report", "--no-color",
					   "--paths", "5", log, NULL }, NULL, 0);
	char fn[200];
	first_site_function(j.out, "\"peak_sites\": [", fn, sizeof fn);
	cr_assert_str_eq(fn, "handler", "first peak site: %s", fn);
	const char *peak = strstr(j.out, "\"peak_sites\": [");
	const char *stacks = strstr(peak, "\"stacks\": ");
	cr_assert(stacks && atoi(stacks + 10) == 5, "the handler's paths: %.20s", stacks);
	/* the human view's first row is the same site, with its five paths beneath */
	const char *sec = strstr(h.out, "live at the peak, by site:\n");
	cr_assert_not_null(sec, "%s", h.out);
	const char *row = strchr(strchr(sec, '\n') + 1, '\n') + 1;
	const char *eol = strchr(row, '\n');
	cr_assert(eol && memmem(row, (size_t)(eol - row), "handler (split_paths.c:", 23),
		  "first row: %.200s", row);
	const char *routes[] = { "route_users", "route_items", "route_cart", "route_search",
				 "route_login" };
	const char *next = strstr(row, "big_single");
	for (size_t i = 0; i < 5; i++) {
		const char *r = strstr(row, routes[i]);
		cr_assert(r && next && r < next, "%s not under the handler:\n%s", routes[i], sec);
	}
	th_run_free(&p);
	th_run_free(&j);
	th_run_free(&h);
	th_rmtree(dir);
	free(dir);
}

/* One run of hidden_leak: the slope of the growing path under session_cache's site (NAN
 * when none) and the rate the program measured. */
static void hidden_once(double *slope, double *rate, verdict_t *site_verdict)
{
	char *dir = strdup(th_tmpdir("hidden")), env[700], log[600];
	snprintf(log, sizeof log, "%s/a.log", dir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	th_run_t p = run((const char *[]){ th_build("examples/hidden_leak"), "4", "10240", NULL },
			 (const char *[]){ env, "ALLOCGUARD_INTERVAL=100ms", NULL }, 1);
	const char *r = strstr(p.out, "rate=");
	cr_assert_not_null(r, "%s", p.out);
	*rate = strtod(r + 5, NULL);
	ag_log_t *lg;
	char msg[300];
	cr_assert_eq(log_load(log, &lg, msg, sizeof msg), 0, "%s", msg);
	symbols_t *sym = symbols_open(lg, NULL);
	growth_t g;
	cr_assert_eq(growth_collect(lg, sym, &g), 0);
	*slope = NAN;
	for (size_t i = 0; i < g.nsites; i++) {
		const ag_stack_t *st = &lg->stacks[g.sites[i].stack];
		const ag_frame_t *f = st->nframes ? symbols_lookup(sym, st->frames[0]) : NULL;
		if (!f || !f->function || strcmp(f->function, "session_cache") != 0)
			continue;
		cr_assert_eq(g.sites[i].nstacks, 2, "session_cache's paths");
		*site_verdict = g.sites[i].verdict;
		for (size_t k = 0; k < g.sites[i].npaths; k++)
			if (g.sites[i].paths[k].verdict == VERDICT_GROWING)
				*slope = g.sites[i].paths[k].slope;
		cr_assert_eq(i, 0, "the site with the leak is not ranked first");
	}
	growth_free(&g);
	symbols_close(sym);
	log_free(lg);
	th_run_free(&p);
	th_rmtree(dir);
	free(dir);
}

Test(sites, leak_hidden_in_a_churning_site_is_a_growing_path, .timeout = 300)
{
	if (!th_have_preload() || access(th_build("examples/hidden_leak"), X_OK))
		cr_skip_test("hidden_leak or the preload not built");
	for (int i = 0; i < 3; i++) {
		double slope, rate;
		verdict_t v = VERDICT_FLAT;
		hidden_once(&slope, &rate, &v);
		cr_assert(!isnan(slope), "run %d: no growing path (site %s)", i, verdict_name(v));
		cr_assert(fabs(slope - rate) <= 0.35 * rate, "run %d: slope %.0f, rate %.0f", i,
			  slope, rate);
	}
}
