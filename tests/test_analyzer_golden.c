/* test_analyzer_golden.c: golden files for every report (leaks, growth, report, diff), human
 * and JSON, on the fixture logs under tests/data.  The fixtures name modules that do not
 * exist, so frames are module+offset and the output is the same on every machine.
 * AG_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "model.h"
#include "reports.h"

static ag_log_t *load(const char *name)
{
	char rel[256], msg[400];
	size_t len;
	snprintf(rel, sizeof rel, "tests/data/%s", name);
	char *buf = th_slurp(th_root(rel), &len);
	cr_assert_not_null(buf, "%s missing", rel);
	ag_log_t *log;
	cr_assert_eq(log_parse(rel, buf, len, &log, msg, sizeof msg), 0, "%s", msg);
	free(buf);
	return log;
}

static void check(const char *golden, const char *got, size_t len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "tests/golden/%s", golden);
	const char *path = th_root(rel);
	if (getenv("AG_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fwrite(got, 1, len, f);
		fclose(f);
		return;
	}
	size_t wlen;
	char *want = th_slurp(path, &wlen);
	cr_assert_not_null(want, "golden file %s missing (AG_UPDATE_GOLDEN=1 writes it)", rel);
	if (wlen != len || memcmp(want, got, len) != 0) {
		size_t i = 0;
		while (i < len && i < wlen && want[i] == got[i])
			i++;
		size_t from = i > 60 ? i - 60 : 0;
		cr_assert_fail("%s differs at byte %zu:\n--- want ---\n%.200s\n--- got ---\n%.200s",
			       rel, i, want + from, got + from);
	}
	free(want);
}

typedef int (*report_fn)(const ag_log_t *, symbols_t *, const report_opts_t *, FILE *);

static int leaks_fn(const ag_log_t *l, symbols_t *s, const report_opts_t *o, FILE *f)
{
	return leaks_print(l, s, o, f, NULL);
}

static void golden(const char *logname, const char *report, report_fn fn, size_t top)
{
	ag_log_t *log = load(logname);
	symbols_t *sym = symbols_open(log, NULL);
	for (int json = 0; json < 2; json++) {
		char *out, name[200];
		size_t len;
		FILE *f = open_memstream(&out, &len);
		report_opts_t o = { .json = json, .top = top };
		cr_assert_eq(fn(log, sym, &o, f), 0);
		fclose(f);
		snprintf(name, sizeof name, "%.*s.%s.%s", (int)(strlen(logname) - 4), logname, report,
			 json ? "json" : "txt");
		check(name, out, len);
		free(out);
	}
	symbols_close(sym);
	log_free(log);
}

Test(golden, leaks) { golden("leaks_basic.log", "leaks", leaks_fn, 0); }
Test(golden, leaks_growth_log) { golden("growth_three.log", "leaks", leaks_fn, 0); }
Test(golden, growth) { golden("growth_three.log", "growth", growth_print, 0); }
Test(golden, growth_few_snapshots) { golden("leaks_basic.log", "growth", growth_print, 0); }
Test(golden, report) { golden("leaks_basic.log", "report", report_print, 0); }
Test(golden, report_cap_and_swap) { golden("cap_swap.log", "report", report_print, 0); }
Test(golden, report_sizes_by_site) { golden("size_sites.log", "report", report_print, 0); }
Test(golden, leaks_sampled_top2) { golden("cap_swap.log", "leaks", leaks_fn, 2); }

Test(golden, diff)
{
	ag_log_t *a = load("leaks_basic.log"), *b = load("growth_three.log");
	symbols_t *sa = symbols_open(a, NULL), *sb = symbols_open(b, NULL);
	for (int json = 0; json < 2; json++) {
		char *out;
		size_t len;
		FILE *f = open_memstream(&out, &len);
		report_opts_t o = { .json = json };
		cr_assert_eq(diff_print(a, 1, sa, a, 2, sa, &o, f), 0);
		cr_assert_eq(diff_print(b, 10, sb, b, 40, sb, &o, f), 0);
		fclose(f);
		check(json ? "diff.json" : "diff.txt", out, len);
		free(out);
	}
	symbols_close(sa);
	symbols_close(sb);
	log_free(a);
	log_free(b);
}

/* Two runs of one program under ASLR: same sites, different addresses, must line up. */
Test(golden, diff_matches_sites_across_runs_not_addresses)
{
	ag_log_t *a = load("leaks_basic.log"), *b = load("aslr_rerun.log");
	symbols_t *sa = symbols_open(a, NULL), *sb = symbols_open(b, NULL);
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	report_opts_t o = { .json = 1 };
	cr_assert_eq(diff_print(a, 2, sa, b, 2, sb, &o, f), 0);
	fclose(f);
	check("diff_aslr.json", out, len);
	/* only the one site whose figures changed shows, not every site twice */
	cr_assert(strstr(out, "\"delta_bytes\": 1024,"), "%s", out);
	cr_assert_null(strstr(out, "\"delta_bytes\": -"), "%s", out);
	free(out);
	symbols_close(sa);
	symbols_close(sb);
	log_free(a);
	log_free(b);
}

/* The collected structs are what exports and run's summary read: the figures the printers
 * show are there without printing, and the figures need no symbols. */
Test(golden, report_and_diff_collect_without_printing)
{
	ag_log_t *log = load("cap_swap.log");
	report_t r;
	cr_assert_eq(report_collect(log, NULL, &r), 0);
	cr_assert_eq(r.peak.bytes, 200ull << 20);
	cr_assert_eq(r.peak.split, 0);
	cr_assert_eq(r.final.bytes, 200ull << 20);
	cr_assert_str_eq(r.final.reason, "abort");
	cr_assert_eq(r.cap.bytes, 200ull << 20);
	cr_assert_eq(r.cap.warn_pct, 75);
	cr_assert_eq(r.cap.critical_pct, 95);
	cr_assert_str_eq(r.cap.on_cap, "abort");
	cr_assert_eq(r.nevents, 3);
	cr_assert_eq(r.nswaps, 2);
	cr_assert(r.sampled);
	cr_assert_eq(r.snapshots, 4);
	cr_assert_eq(r.sites.nsites, 0, "no symbols, no site lists");
	report_free(&r);
	symbols_t *sym = symbols_open(log, NULL);
	cr_assert_eq(report_collect(log, sym, &r), 0);
	cr_assert_eq(r.sites.nsites, 3);
	cr_assert_eq(r.sites.sites[0].fig.bytes, 100ull << 20, "largest first");
	cr_assert_eq(r.peak_sites.nsites, 0, "the log predates K/T lines");
	cr_assert_eq(r.peak_by_site, 0);
	report_free(&r);
	symbols_close(sym);
	log_free(log);

	ag_log_t *b = load("growth_three.log");
	symbols_t *sb = symbols_open(b, NULL);
	diff_t d;
	cr_assert_eq(diff_collect(b, 10, sb, b, 40, sb, &d), 0);
	cr_assert_gt(d.nsites, 0);
	int64_t sum = 0;
	for (size_t i = 0; i < d.nsites; i++) {
		sum += d.sites[i].dbytes;
		cr_assert_eq(d.sites[i].dbytes,
			     (int64_t)d.sites[i].b_bytes - (int64_t)d.sites[i].a_bytes);
	}
	cr_assert_eq(d.delta_bytes, sum);
	cr_assert_eq(d.a.snap, 10);
	cr_assert_eq(d.b.snap, 40);
	diff_free(&d);
	symbols_close(sb);
	log_free(b);
}
