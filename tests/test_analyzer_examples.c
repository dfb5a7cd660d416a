/* test_analyzer_examples.c: golden files for every report on logs the example programs
 * produce at test time (build/examples/leaks and grower under `allocguard run`).  Output is
 * normalized before comparing: addresses, pids, times and the scratch and build paths vary
 * from run to run; so do growth figures, whose numbers are masked (verdicts, order and sites
 * stay).  AG_UPDATE_GOLDEN=1 rewrites the golden files. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char dir[256];

static char *replace_all(char *s, const char *re, const char *with)
{
	regex_t rx;
	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED), 0, "%s", re);
	size_t cap = strlen(s) * 2 + 64, len = 0;
	char *out = malloc(cap);
	const char *p = s;
	regmatch_t m;
	while (regexec(&rx, p, 1, &m, p == s ? 0 : REG_NOTBOL) == 0 && m.rm_eo > 0) {
		size_t need = len + (size_t)m.rm_so + strlen(with) + 1;
		if (need > cap) {
			cap = need * 2;
			out = realloc(out, cap);
		}
		memcpy(out + len, p, (size_t)m.rm_so);
		len += (size_t)m.rm_so;
		memcpy(out + len, with, strlen(with));
		len += strlen(with);
		p += m.rm_eo;
	}
	size_t rest = strlen(p);
	if (len + rest + 1 > cap)
		out = realloc(out, len + rest + 1);
	memcpy(out + len, p, rest + 1);
	regfree(&rx);
	free(s);
	return out;
}

static char *literal_all(char *s, const char *what, const char *with)
{
	size_t n = strlen(what);
	if (!n)
		return s;
	char *out = malloc(strlen(s) * 2 + strlen(with) * 16 + 64);
	size_t len = 0;
	for (const char *p = s; *p;) {
		if (strncmp(p, what, n) == 0) {
			strcpy(out + len, with);
			len += strlen(with);
			p += n;
		} else {
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	free(s);
	return out;
}

static char *normalize(char *s, int mask_numbers)
{
	char build[4096];
	if (!realpath(th_build("."), build))
		snprintf(build, sizeof build, "%s", th_build(""));
	s = literal_all(s, dir, "DIR");
	s = literal_all(s, build, "BUILD");
	s = replace_all(s, "0x[0-9a-f]+", "0xADDR");
	s = replace_all(s, "ex\\.[0-9]+\\.log", "ex.PID.log");
	s = replace_all(s, "pid [0-9]+", "pid N");
	s = replace_all(s, "parent [0-9]+", "parent N");
	s = replace_all(s, "\"(pid|ppid|stack)\": [0-9]+", "\"ID\": N");
	s = replace_all(s, "[0-9]+\\.[0-9]{3} s", "T s");
	s = replace_all(s, "\"(t_s|duration_s)\": [0-9.]+", "\"TIME\": T");
	if (mask_numbers) {
		s = replace_all(s, "[-+]?[0-9]+(\\.[0-9]+)?", "N");
		s = replace_all(s, "N (B|KiB|MiB|GiB)", "N U");
		s = replace_all(s, " +", " ");
		s = replace_all(s, "\n ", "\n");
	}
	return s;
}

static void check(const char *golden, char *got)
{
	char rel[256];
	snprintf(rel, sizeof rel, "tests/golden/%s", golden);
	const char *path = th_root(rel);
	size_t len = strlen(got);
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
	size_t i = 0;
	while (i < len && i < wlen && want[i] == got[i])
		i++;
	size_t from = i > 80 ? i - 80 : 0;
	cr_assert(i == len && i == wlen, "%s differs at byte %zu:\n--- want ---\n%.300s\n--- got ---\n%.300s",
		  rel, i, want + from, got + from);
	free(want);
}

static char *example_log(const char *name, const char *const *extra)
{
	char out[400];
	snprintf(out, sizeof out, "--out=%s/ex.%%p.log", dir);
	const char *argv[16] = { th_build("allocguard"), "run", "-q", out };
	size_t n = 4;
	while (extra && *extra)
		argv[n++] = *extra++;
	argv[n++] = "--";
	argv[n++] = th_build(name);
	argv[n] = NULL;
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert_eq(r.code, 0, "%s: %s", th_run_desc(&r), r.err);
	th_run_free(&r);
	char **files;
	size_t nf = th_list(dir, "ex.", &files);
	cr_assert_eq(nf, 1);
	char *p = strdup(files[0]);
	th_strv_free(files, nf);
	return p;
}

static void report(const char *golden, int mask, const char *const *args)
{
	const char *argv[16] = { th_build("allocguard") };
	size_t n = 1;
	while (*args)
		argv[n++] = *args++;
	argv[n] = NULL;
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert_eq(r.code, 0, "%s: %s", th_run_desc(&r), r.err);
	char *out = normalize(strdup(r.out), mask);
	check(golden, out);
	free(out);
	th_run_free(&r);
}

static void setup(const char *name)
{
	if (access(th_build("liballocguard.so"), R_OK) || access(th_build(name), X_OK))
		cr_skip_test("%s or the preload not built", name);
	snprintf(dir, sizeof dir, "%s", th_tmpdir("exgold"));
}

Test(golden_examples, leaks_and_report_of_the_leaks_example, .timeout = 120)
{
	setup("examples/leaks");
	char *log = example_log("examples/leaks", NULL);
	report("ex_leaks.leaks.txt", 0, (const char *[]){ "leaks", "--top", "30", log, NULL });
	report("ex_leaks.leaks.json", 0, (const char *[]){ "leaks", "--json", log, NULL });
	report("ex_leaks.report.txt", 0, (const char *[]){ "report", log, NULL });
	report("ex_leaks.report.json", 0, (const char *[]){ "report", "--json", log, NULL });
	free(log);
	th_rmtree(dir);
}

Test(golden_examples, growth_and_diff_of_the_grower_example, .timeout = 120)
{
	setup("examples/grower");
	char *log = example_log("examples/grower", (const char *[]){ "--interval", "100ms", NULL });
	report("ex_grower.growth.txt", 1, (const char *[]){ "growth", "--top", "2", log, NULL });
	report("ex_grower.growth.json", 1,
	       (const char *[]){ "growth", "--json", "--top", "2", log, NULL });
	char at[300];
	snprintf(at, sizeof at, "%s@3", log);
	report("ex_grower.diff.txt", 1, (const char *[]){ "diff", "--top", "2", at, log, NULL });
	report("ex_grower.diff.json", 1,
	       (const char *[]){ "diff", "--json", "--top", "2", at, log, NULL });
	free(log);
	th_rmtree(dir);
}
