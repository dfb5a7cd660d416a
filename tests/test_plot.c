/* test_plot.c: `allocguard plot` read back: the SVG's series (data-points on each path)
 * rise for a growing program and carry the cap line and the cap events of a capped run;
 * the HTML page renders in headless Chromium, self-contained, with its charts, tables and
 * the report, leaks and growth text (test_page.c uses it as a reader does). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "test_export.h"

#define MAXP 4096

static char *plot(const char *dir, const char *log, const char *name)
{
	char out[400];
	snprintf(out, sizeof out, "%s/%s", dir, name);
	const char *args[] = { "plot", log, "-o", out, NULL };
	free(xt_ag(args));
	char *s = th_slurp(out, NULL);
	cr_assert_not_null(s, "%s not written", out);
	return s;
}

/* Well-formed enough for any XML reader: one root, python's parser accepts it. */
static void check_xml(const char *path)
{
	if (!th_have_cmd("python3")) {
		cr_log_info("python3 missing: %s not parsed as XML", path);
		return;
	}
	const char *argv[] = { "python3", "-c",
			       "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
			       "r = d.documentElement; "
			       "assert r.tagName == 'svg', r.tagName; "
			       "assert r.getAttribute('xmlns') == 'http://www.w3.org/2000/svg'",
			       path, NULL };
	int code;
	free(xt_out(argv, &code));
	cr_expect_eq(code, 0, "%s is not well-formed SVG", path);
}

Test(plot, a_growing_program_rises, .timeout = 120)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("plotgrow"));
	const char *opts[] = { "--interval=50ms", NULL };
	const char *prog[] = { th_build("examples/grower"), NULL };
	char *log = xt_log(dir, "gr", opts, prog);
	char *svg = plot(dir, log, "grower.svg");
	char path[400];
	snprintf(path, sizeof path, "%s/grower.svg", dir);
	check_xml(path);
	cr_expect(!strstr(svg, "href"), "the SVG refers to something outside it");
	static double t[MAXP], v[MAXP];
	size_t n = xt_points(svg, "series-tracked", t, v, MAXP);
	cr_assert_geq(n, 10, "%zu points on the tracked series", n);
	size_t down = 0;
	for (size_t i = 1; i < n; i++) {
		cr_expect_geq(t[i], t[i - 1], "time goes backwards at point %zu", i);
		down += v[i] < v[i - 1];
	}
	/* grower keeps 64 KiB a tick and a 10 MiB pool: ~26 MiB at the end */
	cr_expect_gt(v[n - 1], 20.0 * 1024 * 1024, "ends at %.0f bytes", v[n - 1]);
	cr_expect_gt(v[n - 1], 4 * v[0], "from %.0f to %.0f: does not rise", v[0], v[n - 1]);
	cr_expect_leq(down, n / 10, "%zu of %zu steps go down", down, n);
	/* the top site is the steady grower, and its band rises too */
	const char *label = xt_attr(svg, "site-0", "data-label");
	cr_assert_not_null(label);
	cr_expect(strstr(label, "grow_steady"), "top site '%s'", label);
	size_t m = xt_points(svg, "site-0", t, v, MAXP);
	cr_assert_eq(m, n);
	cr_expect_gt(v[m - 1], 15.0 * 1024 * 1024, "grow_steady ends at %.0f", v[m - 1]);
	for (size_t i = 1; i < m; i++)
		cr_expect_geq(v[i], v[i - 1], "grow_steady falls at point %zu", i);
	/* no cap: no cap line */
	cr_expect_null(xt_attr(svg, "line-cap", "data-bytes"));
	free(svg);
	free(log);
	th_rmtree(dir);
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

Test(plot, a_capped_run_shows_the_cap_line_and_its_events, .timeout = 200)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("plotcap"));
	char *log = xt_cap_log(dir);
	char *svg = plot(dir, log, "cap.svg");
	char path[400];
	snprintf(path, sizeof path, "%s/cap.svg", dir);
	check_xml(path);
	const unsigned long long cap = 48ull << 20;
	const char *b = xt_attr(svg, "line-cap", "data-bytes");
	cr_assert_not_null(b, "no cap line");
	cr_expect_eq(strtoull(b, NULL, 10), cap);
	b = xt_attr(svg, "line-critical", "data-bytes");
	cr_assert_not_null(b, "no critical line");
	cr_expect_eq(strtoull(b, NULL, 10), cap / 100 * 90);
	b = xt_attr(svg, "line-warn", "data-bytes");
	cr_assert_not_null(b, "no warn line");
	cr_expect_eq(strtoull(b, NULL, 10), cap / 100 * 80);
	/* as many event marks of each kind as report lists */
	const char *args[] = { "report", "--json", log, NULL };
	char *rep = xt_ag(args);
	size_t rcap = count(rep, "\"kind\": \"cap\""), rwarn = count(rep, "\"kind\": \"warn\"");
	cr_expect_geq(rcap, 2, "cap_hit climbed twice into the cap:\n%s", rep);
	cr_expect_eq(count(svg, "data-kind=\"cap\""), rcap);
	cr_expect_eq(count(svg, "data-kind=\"warn\""), rwarn);
	cr_expect_eq(count(svg, "data-kind=\"critical\""), count(rep, "\"kind\": \"critical\""));
	/* each cap event is drawn at the cap, within the recovery headroom (cap/16) */
	for (const char *p = svg; (p = strstr(p, "data-kind=\"cap\"")); p++) {
		const char *q = strstr(p, "data-bytes=\"");
		cr_assert_not_null(q);
		unsigned long long at = strtoull(q + 12, NULL, 10);
		cr_expect(at >= cap - cap / 16 && at <= cap + cap / 16, "cap event at %llu", at);
	}
	/* the highest point drawn is report's peak */
	static double t[MAXP], v[MAXP];
	size_t n = xt_points(svg, "series-peak", t, v, MAXP);
	cr_assert_geq(n, 1);
	const char *pk = strstr(rep, "\"peak\": {");
	cr_assert_not_null(pk);
	pk = strstr(pk, "\"bytes\": ");
	cr_expect_eq((unsigned long long)v[n - 1], strtoull(pk + 9, NULL, 10));
	free(rep);
	free(svg);
	free(log);
	th_rmtree(dir);
}

Test(plot, the_html_page_renders_in_headless_chromium, .timeout = 400)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("plothtml"));
	const char *opts[] = { "--interval=40ms", NULL };
	const char *prog[] = { th_build("examples/leak_loop"), "120", NULL };
	char *log = xt_log(dir, "ll", opts, prog);
	char *html = plot(dir, log, "page.html");
	/* self-contained: nothing to fetch (the SVG namespace is a name, not a fetch), and a
	 * content security policy that forbids fetching */
	cr_expect(strstr(html, "Content-Security-Policy\" content=\"default-src 'none'"),
		  "no content security policy");
	cr_expect(!strstr(html, "<link") && !strstr(html, "src=") && !strstr(html, "url("),
		  "the page refers outside itself");
	size_t http = count(html, "http://") + count(html, "https://");
	size_t ns = count(html, "http://www.w3.org/2000/svg");
	cr_expect_eq(http, ns, "the page names %zu addresses besides the SVG namespace", http - ns);
	if (!th_have_cmd("chromium"))
		cr_skip_test("chromium is not installed: the page was written, its rendering not "
			     "checked");
	char page[400], out[400];
	snprintf(page, sizeof page, "%s/page.html", dir);
	snprintf(out, sizeof out, "%s/page", dir);
	char *dom = NULL;
	int rc = xt_browser("-", page, out, &dom);
	if (rc == 77)
		cr_skip_test("chromium missing: the page's rendering not checked");
	cr_assert_eq(rc, 0, "chromium did not render %s", page);
	/* what a reader sees once the scripts ran: the leak named in the site table, the
	 * charts, the flame graph, the growth verdict, the text reports */
	cr_expect(strstr(dom, "data-ready=\"1\""), "the scripts did not finish:\n%.3000s", dom);
	cr_expect(strstr(dom, "handle_request (leak_loop.c:"), "leak not shown:\n%.3000s", dom);
	cr_expect(strstr(dom, "id=\"series-tracked\"") && strstr(dom, "class=\"band") &&
		  strstr(dom, "id=\"flame-svg\""), "charts missing");
	cr_expect(strstr(dom, "class=\"verdict growing\""), "growth verdict not shown");
	cr_expect(strstr(dom, "report (as text)") && strstr(dom, "leaks (as text)") &&
		  strstr(dom, "growth (as text)"), "text reports missing");
	size_t plen = 0;
	char png[420];
	snprintf(png, sizeof png, "%s.png", out);
	free(th_slurp(png, &plen));
	cr_expect_gt(plen, 20000, "screenshot %s is %zu bytes", png, plen);
	free(dom);
	free(html);
	free(log);
	th_rmtree(dir);
}

/* Several logs of one process tree: one clock, the sum on top, the processes stacked. */
Test(plot, several_logs_of_a_process_tree, .timeout = 200)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("plottree"));
	char **logs;
	size_t nlogs = xt_tree_logs(dir, 150, &logs);
	char svgpath[400], htmlpath[400];
	snprintf(svgpath, sizeof svgpath, "%s/tree.svg", dir);
	snprintf(htmlpath, sizeof htmlpath, "%s/tree.html", dir);
	xt_plot_many(svgpath, logs, nlogs);
	xt_plot_many(htmlpath, logs, nlogs);
	check_xml(svgpath);
	char *svg = th_slurp(svgpath, NULL);
	cr_assert_not_null(svg);
	/* each process is a band; the bands add up to the total at every point */
	static double t[MAXP], v[MAXP], b[MAXP], sum[MAXP];
	size_t n = xt_points(svg, "series-tracked", t, v, MAXP);
	cr_assert_geq(n, 10);
	int leak = 0, grow = 0;
	for (size_t k = 0; k <= 5; k++) {
		char id[32];
		snprintf(id, sizeof id, "site-%zu", k);
		const char *label = xt_attr(svg, id, "data-label");
		if (!label)
			break;
		leak |= strstr(label, "leak_loop (pid") != NULL;
		grow |= strstr(label, "grower (pid") != NULL;
		cr_assert_eq(xt_points(svg, id, t, b, MAXP), n);
		for (size_t i = 0; i < n; i++)
			sum[i] += b[i];
	}
	cr_expect(leak && grow, "the processes are not named as bands");
	for (size_t i = 0; i < n; i++)
		cr_expect(sum[i] > v[i] - 1 && sum[i] < v[i] + 1, "point %zu: bands %.0f, total %.0f",
			  i, sum[i], v[i]);
	/* grower's 150 ticks keep ~9 MiB + a 10 MiB pool; leak_loop 2.3 MiB */
	double most = 0;
	for (size_t i = 0; i < n; i++)
		most = v[i] > most ? v[i] : most;
	cr_expect_gt(most, 15.0 * 1024 * 1024, "the sum peaks at %.0f", most);
	char *html = th_slurp(htmlpath, NULL);
	cr_assert_not_null(html);
	cr_expect(strstr(html, "id=\"tree\""), "no tree plot on the page");
	for (size_t i = 0; i < nlogs; i++) {
		const char *dot = strrchr(logs[i], '.');
		const char *p = dot;
		while (p > logs[i] && p[-1] != '.')
			p--;
		char id[64];
		snprintf(id, sizeof id, "id=\"summary-%.*s\"", (int)(dot - p), p);
		cr_expect(strstr(html, id), "no report for %s", id);
	}
	free(html);
	free(svg);
	th_strv_free(logs, nlogs);
	th_rmtree(dir);
}
