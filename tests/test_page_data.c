/* test_page_data.c: the page's model (analyzer/page_data.c, page_json.c) on synthetic logs
 * too big to show whole: the bounds hold (sites, stacks, points), what is left out is
 * summed so every flame graph view still adds up to the log's figures, and the points
 * keep the last snapshot and the one holding the most. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"

static ag_log_t *parse(char *text, size_t len)
{
	ag_log_t *log;
	char msg[300];
	cr_assert_eq(log_parse("synthetic.log", text, len, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->damage_line, 0, "%s", log->damage);
	return log;
}

/* nstacks stacks of distinct first frames in a symbol-less module (so as many sites),
 * live at every one of nsnaps snapshots with sizes that change. */
static ag_log_t *many_sites(size_t nstacks, size_t nsnaps)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "AGLOG 1\nP 77 1 1700000000000000000 /opt/page_fixture/big\nA ./big\n"
		"O sample 0\nM 400000 400000 4000000 - /opt/page_fixture/big\n");
	for (size_t s = 0; s < nstacks; s++)
		fprintf(f, "S %zu h %zx 401000\n", s + 1, 0x400000 + s * 16);
	for (size_t k = 0; k < nsnaps; k++) {
		fprintf(f, "B %zu %zu %s\n", k, k * 100000000 + 1000,
			k + 1 == nsnaps ? "exit" : k ? "interval" : "start");
		unsigned long long tot = 0;
		for (size_t s = 0; s < nstacks; s++) {
			unsigned long long b = 64 * (1 + (s * 7 + k) % 50);
			tot += b;
			fprintf(f, "L %zu %llu 1 %llu %zu\n", s + 1, b, b * (k + 1), (s % 9 + 1) * (k + 1));
		}
		fprintf(f, "E %zu %llu %llu 0 0 %llu %llu 0 %zu\n", k, tot, tot, tot, tot, nstacks);
	}
	fclose(f);
	ag_log_t *log = parse(text, len);
	free(text);
	return log;
}

static uint64_t view(const page_val_t *v, int k)
{
	const uint64_t by[] = { v->peak, v->last, v->calls, v->temporary };
	return by[k];
}

Test(page_data, a_log_too_big_to_show_whole_keeps_its_sums, .timeout = 120)
{
	const size_t n = 3 * PAGE_MAX_STACKS;
	ag_log_t *log = many_sites(n, 3);
	symbols_t *sym = symbols_open(log, NULL);
	cr_assert_not_null(sym);
	page_t p;
	cr_assert_eq(page_collect(log, sym, &p), 0);
	cr_expect_eq(p.nsites, n, "%zu sites of %zu stacks", p.nsites, n);
	size_t kept = 0, stacks = 0, series = 0;
	for (size_t i = 0; i < p.nsites; i++) {
		kept += p.sites[i].keep;
		series += p.sites[i].series != NULL;
	}
	for (size_t i = 0; i < log->nstacks; i++)
		stacks += p.keep[i];
	cr_expect_gt(kept, 0);
	cr_expect_leq(kept, 5 * PAGE_MAX_SITES, "%zu sites kept", kept);
	cr_expect_leq(stacks, 5 * PAGE_MAX_STACKS, "%zu stacks kept", stacks);
	cr_expect_leq(series, PAGE_SERIES_SITES);
	cr_expect(p.sites[0].keep, "the first row (most at the peak) was left out");
	/* each view: the kept stacks and "other" add up to every stack's figures */
	for (int k = 0; k < 4; k++) {
		uint64_t all = 0, shown = view(&p.other, k);
		for (size_t i = 0; i < log->nstacks; i++) {
			all += view(&p.val[i], k);
			if (p.keep[i])
				shown += view(&p.val[i], k);
		}
		cr_expect_eq(shown, all, "view %d: %llu shown of %llu", k,
			     (unsigned long long)shown, (unsigned long long)all);
	}
	cr_expect_gt(p.other.last, 0, "nothing left out of %zu stacks", n);
	/* rows in report's order: most at the peak first */
	for (size_t i = 1; i < p.nsites; i++)
		cr_assert_geq(p.sites[i - 1].v.peak, p.sites[i].v.peak, "row %zu", i);
	char *json = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&json, &len);
	cr_assert_eq(page_json(&p, f), 0);
	fclose(f);
	cr_expect(strstr(json, "\"other\":{\"peak\":"), "no \"other\" in the data");
	cr_expect_lt(len, 40u << 20, "%zu bytes of data", len);
	free(json);
	page_free(&p);
	symbols_close(sym);
	log_free(log);
}

Test(page_data, long_runs_are_picked_evenly_with_the_most_and_the_last, .timeout = 120)
{
	const size_t nsnaps = 3 * PAGE_MAX_POINTS + 17, high = 1234;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "AGLOG 1\nP 78 1 1700000000000000000 /opt/page_fixture/long\nA ./long\n"
		"O sample 0\nM 400000 400000 4000000 - /opt/page_fixture/long\nS 1 h 400010 401000\n");
	for (size_t k = 0; k < nsnaps; k++) {
		unsigned long long b = k == high ? 1 << 20 : 4096 + k;
		fprintf(f, "B %zu %zu %s\nL 1 %llu 1 %llu %zu\nE %zu %llu %llu 0 0 %llu %llu 0 1\n", k,
			k * 1000000 + 1000, k + 1 == nsnaps ? "exit" : k ? "interval" : "start", b,
			b, k + 1, k, b, b, b, b);
	}
	fclose(f);
	ag_log_t *log = parse(text, len);
	free(text);
	symbols_t *sym = symbols_open(log, NULL);
	page_t p;
	cr_assert_eq(page_collect(log, sym, &p), 0);
	cr_expect_leq(p.npts, PAGE_MAX_POINTS + 1, "%zu points", p.npts);
	cr_expect_geq(p.npts, PAGE_MAX_POINTS - 1, "%zu points", p.npts);
	int has_high = 0;
	for (size_t i = 0; i < p.npts; i++) {
		if (i)
			cr_assert_gt(p.pick[i], p.pick[i - 1], "point %zu", i);
		has_high |= p.pick[i] == high;
	}
	cr_expect(has_high, "the snapshot holding the most is not among the points");
	cr_expect_eq(p.pick[0], 0);
	cr_expect_eq(p.pick[p.npts - 1], nsnaps - 1);
	cr_assert_not_null(p.sites[0].series);
	cr_expect_eq(p.sites[0].v.most, 1u << 20);
	page_free(&p);
	symbols_close(sym);
	log_free(log);
}
