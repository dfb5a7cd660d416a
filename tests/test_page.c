/* test_page.c: the page of `plot -o FILE.html` (analyzer/page*.c, analyzer/page/): its
 * embedded data agrees with report --json and growth --json on the same log
 * (tests/page_data.py), and a reader's use of it in headless Chromium driven by
 * puppeteer-core works (tests/page_browser.js): a click on a site shows its series,
 * the flame graph views switch and add up, call paths open, nothing is fetched.  AG_KEEP=1
 * keeps the screenshots. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "test_export.h"

/* page_tour under a cap it comes near: every part of the page has something to show. */
static char *tour_log(const char *dir)
{
	const char *opts[] = { "--interval=25ms", "--cap=3M", NULL };
	const char *prog[] = { th_build("examples/page_tour"), "300", NULL };
	return xt_log(dir, "tour", opts, prog);
}

/* One malloc line reached through via_a and via_b at several depths. */
static char *paths_log(const char *dir)
{
	const char *opts[] = { "--interval=20ms", NULL };
	const char *prog[] = { th_build("examples/chain_paths"), "3000", NULL };
	return xt_log(dir, "paths", opts, prog);
}

static char *page_of(const char *dir, const char *log, const char *name)
{
	static char out[8][400];
	static unsigned next;
	char *o = out[next++ % 8];
	snprintf(o, sizeof out[0], "%s/%s", dir, name);
	const char *args[] = { "plot", log, "-o", o, NULL };
	free(xt_ag(args));
	return o;
}

/* `allocguard CMD --json LOG` into dir/name. */
static const char *json_of(const char *dir, const char *cmd, const char *log, const char *name)
{
	static char path[4][400];
	static unsigned next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", dir, name);
	const char *args[] = { cmd, "--json", log, NULL };
	char *out = xt_ag(args);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(out, f);
	fclose(f);
	free(out);
	return p;
}

static void data_agrees(const char *dir, const char *log, const char *name)
{
	const char *page = page_of(dir, log, name);
	const char *argv[] = { "python3", th_root("tests/page_data.py"), page,
			       json_of(dir, "report", log, "report.json"),
			       json_of(dir, "growth", log, "growth.json"), NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 120), 0);
	cr_expect(r.exited && r.code == 0, "%s: the page's data disagrees (%s):\n%s%s", log,
		  th_run_desc(&r), r.out, r.err);
	cr_log_info("%s: %s", name, r.out);
	th_run_free(&r);
}

Test(page, its_data_agrees_with_report_and_growth, .timeout = 300)
{
	if (!th_have_cmd("python3"))
		cr_skip_test("python3 missing: the page's data not read back");
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("pagedata"));
	char *tour = tour_log(dir), *paths = paths_log(dir), *cap = xt_cap_log(dir);
	data_agrees(dir, tour, "tour.html");
	data_agrees(dir, paths, "paths.html");
	data_agrees(dir, cap, "cap.html");
	/* one file: styles and scripts inline, the data as JSON that cannot close its element */
	char *html = th_slurp(page_of(dir, tour, "tour.html"), NULL);
	cr_assert_not_null(html);
	cr_expect(strstr(html, "<style>") && strstr(html, "<script>") &&
		  strstr(html, "<script type=\"application/json\" id=\"ag-data\">"));
	cr_expect(!strstr(html, "<script src") && !strstr(html, "<link"), "the page loads files");
	const char *data = strstr(html, "id=\"ag-data\">");
	cr_assert_not_null(data);
	const char *end = strstr(data, "</script>");
	cr_assert_not_null(end);
	cr_expect(!memchr(data + 13, '<', (size_t)(end - data - 13)), "a '<' inside the data");
	free(html);
	free(tour);
	free(paths);
	free(cap);
	th_rmtree(dir);
}

/* Runs page_browser.js on page; its output into *out.  77 when it cannot run. */
static int browse(const char *page, const char *shots, char **out)
{
	const char *mods = th_build("puppeteer");
	char ready[400];
	snprintf(ready, sizeof ready, "%s/node_modules/puppeteer-core/package.json", mods);
	if (access(ready, R_OK) || !th_have_cmd("node") || !th_have_cmd("chromium"))
		return 77;
	const char *argv[] = { "node", th_root("tests/page_browser.js"), mods, page, shots, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 240), 0);
	int code = r.exited ? r.code : 1;
	*out = strdup(r.out);
	if (code)
		cr_log_error("page_browser.js %s: %s\n%s%s", page, th_run_desc(&r), r.out, r.err);
	th_run_free(&r);
	return code;
}

/* The checks' output (the caller frees), once every line in want is in it. */
static char *explored(const char *page, const char *shots, const char *const *want)
{
	char *out = NULL;
	int rc = browse(page, shots, &out);
	if (rc == 77)
		cr_skip_test("puppeteer-core (make test installs it into build/puppeteer from npm, "
			     "best effort), node or chromium missing: the page was not explored");
	cr_expect_eq(rc, 0, "the page failed a reader's check:\n%s", out);
	for (; *want; want++)
		cr_expect(strstr(out, *want), "'%s' not checked:\n%s", *want, out);
	char png[600];
	snprintf(png, sizeof png, "%s/page.png", shots);
	size_t len = 0;
	free(th_slurp(png, &len));
	cr_expect_gt(len, 30000, "screenshot %s is %zu bytes", png, len);
	cr_log_info("%s\nscreenshots in %s (AG_KEEP=1 keeps them)", out, shots);
	return out;
}

Test(page, explored_in_headless_chromium, .timeout = 400)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("pagebrowse"));
	char *tour = tour_log(dir);
	const char *page = page_of(dir, tour, "tour.html");
	static const char *const want[] = {
		"ok series by row", "ok series by band", "ok flame view peak", "ok flame view last",
		"ok flame view calls", "ok flame zoom", "ok call paths", "ok bands match rows", "ok sort",
		"ok legend chart-tracked", "ok growth picks its site", "ok no network",
		"ok no script errors", "cache_put", NULL };
	char *out = explored(page, dir, want);
	/* the leak through session_open: the site grows, or a path of it does */
	const char *g = strstr(out, "ok growth: ");
	cr_assert_not_null(g);
	const char *eol = strchr(g, '\n');
	const char *grow = strstr(g, "growing"), *path = strstr(g, "a path grows");
	cr_expect((grow && grow < eol) || (path && path < eol), "nothing grows: %.300s", g);
	free(out);
	free(tour);
	th_rmtree(dir);
}

/* One site reached through several call paths (one malloc line, via_a and via_b at
 * several depths): one row, one band, its paths beneath it. */
Test(page, a_site_of_several_call_paths, .timeout = 400)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("pagepaths"));
	char *paths = paths_log(dir);
	const char *page = page_of(dir, paths, "paths.html");
	static const char *const want[] = {
		"ok legend chart-bands: helper (chain_paths.c:13) |", "ok bands match rows",
		"ok series by band", "ok call paths: ", "helper (chain_paths.c:13) <- via_", "ok no network",
		NULL };
	char *out = explored(page, dir, want);
	const char *cp = strstr(out, "ok call paths: ");
	cr_assert_not_null(cp);
	cr_expect_geq(atoi(cp + 15), 2, "one path shown: %.200s", cp);
	free(out);
	free(paths);
	th_rmtree(dir);
}

/* A page of a process tree: the process that held the most first, another on request. */
Test(page, a_process_tree_one_process_at_a_time, .timeout = 400)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("pagetree"));
	char **logs, page[400];
	size_t nlogs = xt_tree_logs(dir, 100, &logs);
	snprintf(page, sizeof page, "%s/tree.html", dir);
	xt_plot_many(page, logs, nlogs);
	static const char *const want[] = { "ok legend chart-bands: ", "ok processes: ",
					    "ok no network", NULL };
	char *res = explored(page, dir, want);
	/* grower held the most: its sites come first */
	const char *bands = strstr(res, "ok legend chart-bands: ");
	cr_assert_not_null(bands);
	const char *eol = strchr(bands, '\n');
	cr_expect(strstr(bands, "(grower.c:") && strstr(bands, "(grower.c:") < eol,
		  "the first process shown is not grower: %.300s", bands);
	free(res);
	th_strv_free(logs, nlogs);
	th_rmtree(dir);
}
