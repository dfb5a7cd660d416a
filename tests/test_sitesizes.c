/* test_sitesizes.c: requested sizes by site (preload/logsizes.c, analyzer/sitesizes.c):
 * a program with three sites of distinct size profiles (a fixed 24 bytes, 4-8 KiB, a
 * growing realloc) counts its own calls per bucket; with every allocation recorded the
 * report's histogram of each site and of its path is exactly that, and with sampling an
 * estimate of it.  Several run lengths, so no figure is fitted to one.  And the human
 * summary and bucket names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "sites.h"

static void run_and_check(const char *rounds, const char *sample, const char *mode)
{
	char *dir = strdup(th_tmpdir("sitesizes")), env[700], smp[64], log[600], json[600],
	     counts[600];
	snprintf(log, sizeof log, "%s/s.log", dir);
	snprintf(json, sizeof json, "%s/r.json", dir);
	snprintf(counts, sizeof counts, "%s/counts.txt", dir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	snprintf(smp, sizeof smp, "ALLOCGUARD_SAMPLE=%s", sample);
	const char *prog[] = { th_build("examples/size_sites"), rounds, NULL };
	const char *envs[] = { env, smp, NULL };
	th_run_t p, r, c;
	cr_assert_eq(th_run(&p, prog, envs, 1, 120), 0);
	cr_assert(p.exited && p.code == 0, "size_sites: %s\n%s", th_run_desc(&p), p.err);
	const char *rep[] = { th_build("allocguard"), "report", "--json", log, NULL };
	cr_assert_eq(th_run(&r, rep, NULL, 0, 60), 0);
	cr_assert(r.exited && r.code == 0, "report: %s\n%s", th_run_desc(&r), r.err);
	FILE *f = fopen(json, "w");
	cr_assert_not_null(f);
	fputs(r.out, f);
	fclose(f);
	f = fopen(counts, "w");
	cr_assert_not_null(f);
	fputs(p.out, f);
	fclose(f);
	const char *chk[] = { "python3", th_root("tests/sitesizes_check.py"), json, counts, mode,
			      NULL };
	cr_assert_eq(th_run(&c, chk, NULL, 0, 60), 0);
	cr_assert(c.exited && c.code == 0, "%s mode, %s rounds, sample %s: %s%s", mode, rounds,
		  sample, c.out, c.err);
	th_run_free(&c);
	th_run_free(&r);
	th_run_free(&p);
	th_rmtree(dir);
	free(dir);
}

Test(sitesizes, every_allocation_is_counted_exactly, .timeout = 240)
{
	run_and_check("3000", "0", "exact");
	run_and_check("40000", "0", "exact");
}

Test(sitesizes, sampled_sites_are_estimates, .timeout = 240)
{
	/* the fixed site's estimate rests on rounds * 24 / SAMPLE samples: some 300 here, so
	 * its spread (about 6%) is far inside the check's 35% */
	run_and_check("60000", "4K", "sampled");
	run_and_check("200000", "16K", "sampled");
}

/* The report's human view: each site of "most allocation calls" with its summary. */
Test(sitesizes, human_summary_under_most_allocation_calls, .timeout = 120)
{
	char *dir = strdup(th_tmpdir("sitesizes_h")), env[700], log[600];
	snprintf(log, sizeof log, "%s/s.log", dir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	const char *prog[] = { th_build("examples/size_sites"), "5000", NULL };
	const char *envs[] = { env, NULL };
	th_run_t p, r;
	cr_assert_eq(th_run(&p, prog, envs, 1, 120), 0);
	const char *rep[] = { th_build("allocguard"), "report", "--no-color", log, NULL };
	cr_assert_eq(th_run(&r, rep, NULL, 0, 60), 0);
	const char *calls = strstr(r.out, "most allocation calls:");
	cr_assert_not_null(calls, "%s", r.out);
	const char *fixed = strstr(calls, "fixed_24 (size_sites.c:");
	const char *page = strstr(calls, "page_buffer (size_sites.c:");
	const char *grow = strstr(calls, "grow_buffer (size_sites.c:");
	cr_assert(fixed && page && grow, "%s", calls);
	cr_assert(strstr(fixed, "sizes: all 16-31 B") == strstr(fixed, "sizes:"), "%s", calls);
	cr_assert(strstr(page, "sizes: all 4-8 KiB") == strstr(page, "sizes:"), "%s", calls);
	cr_assert(strstr(grow, "sizes: ") == strstr(grow, "sizes:") &&
		  strstr(grow, "other sizes ("), "%s", calls);
	const char *temp = strstr(r.out, "most temporary allocations:");
	cr_assert(temp && !strstr(temp, "sizes:"), "the summary belongs to the calls view:\n%s",
		  r.out);
	th_run_free(&r);
	th_run_free(&p);
	th_rmtree(dir);
	free(dir);
}

Test(sitesizes, bucket_names)
{
	char b[48];
	const struct { unsigned k; const char *want; } cases[] = {
		{ 0, "0 B" }, { 1, "1 B" }, { 2, "2-3 B" }, { 6, "32-63 B" }, { 10, "512-1023 B" },
		{ 11, "1-2 KiB" }, { 13, "4-8 KiB" }, { 20, "512 KiB-1 MiB" }, { 21, "1-2 MiB" },
		{ 64, "8-16 EiB" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_bucket_str(cases[i].k, b, sizeof b);
		cr_expect_str_eq(b, cases[i].want, "bucket %u", cases[i].k);
	}
}

Test(sitesizes, summary_names_the_dominant_buckets)
{
	char s[200];
	ag_sizebin_t one[] = { { 7, 5 } };
	sizes_summary(one, 1, s, sizeof s);
	cr_assert_str_eq(s, "sizes: all 16-31 B");
	ag_sizebin_t mostly[] = { { 90, 6 }, { 9, 7 }, { 1, 20 } };
	sizes_summary(mostly, 3, s, sizeof s);
	cr_assert_str_eq(s, "sizes: mostly 32-63 B (90%), 64-127 B (9%), 512 KiB-1 MiB (1%)");
	ag_sizebin_t spread[] = { { 30, 3 }, { 25, 4 }, { 20, 5 }, { 15, 6 }, { 10, 7 } };
	sizes_summary(spread, 5, s, sizeof s);
	cr_assert_str_eq(s, "sizes: 4-7 B (30%), 8-15 B (25%), 16-31 B (20%), other sizes (25%)");
	sizes_summary(NULL, 0, s, sizeof s);
	cr_assert_str_eq(s, "");
	char small[20];
	sizes_summary(spread, 5, small, sizeof small);   /* cut, never overrun */
	cr_assert_eq(strlen(small), sizeof small - 1);
}
