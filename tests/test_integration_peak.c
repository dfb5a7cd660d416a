/* test_integration_peak.c: what was live at the peak (K/T log lines, `report`'s peak_sites)
 * for programs whose peak is mid-run and gone by exit: exact to the byte per function,
 * single-threaded and with threads held still at the peak; the K line splits the peak by
 * kind; `report --json` puts the largest site first with the same bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("peak"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_peak, .init = setup, .fini = teardown, .timeout = 120);

typedef struct {
	char fn[64];
	uint64_t bytes, count, got_bytes, got_count;
} want_t;

static size_t read_wants(const char *out, want_t *w, size_t max)
{
	size_t n = 0;
	for (const char *l = out; l && *l && n < max;) {
		unsigned long long b, c;
		if (sscanf(l, "expect %63s bytes=%llu count=%llu", w[n].fn, &b, &c) == 3) {
			w[n].bytes = b;
			w[n].count = c;
			w[n].got_bytes = w[n].got_count = 0;
			n++;
		}
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

/* The first peak_sites entry of `report --json`: its bytes and innermost function. */
static void first_peak_site(const char *log, unsigned long long *bytes, char *fn, size_t fnlen)
{
	th_run_t r;
	const char *argv[] = { th_build("allocguard"), "report", "--json", log, NULL };
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(r.exited && r.code == 0, "report: %s\n%s", th_run_desc(&r), r.err);
	const char *p = strstr(r.out, "\"peak_sites\": [");
	cr_assert_not_null(p, "no peak_sites in:\n%s", r.out);
	const char *b = strstr(p, "\"bytes\": ");
	const char *f = strstr(p, "\"function\": \"");
	cr_assert(b && f, "peak_sites is empty:\n%s", p);
	*bytes = strtoull(b + 9, NULL, 10);
	f += 13;
	size_t n = strcspn(f, "\"");
	snprintf(fn, fnlen, "%.*s", (int)(n < fnlen ? n : fnlen - 1), f);
	th_run_free(&r);
}

static void check_mode(const char *mode)
{
	const char *exe = th_build("examples/peak_mid");
	const char *argv[] = { exe, mode, NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s %s: %s", exe, mode, th_run_desc(&r));
	want_t w[16];
	size_t nw = read_wants(r.out, w, 16);
	cr_assert_geq(nw, 2, "no expect lines:\n%s", r.out);

	char **logs;
	size_t nl = th_list(dir, "ag.", &logs);
	cr_assert_eq(nl, 1, "expected one log in %s, found %zu", dir, nl);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, logs[0]), 0, "%s: %s", logs[0], log.damage);
	cr_assert_not(log.damaged, "%s is damaged: %s", logs[0], log.damage);
	cr_assert_gt(log.nsnaps, 0);
	const th_snap_t *last = &log.snaps[log.nsnaps - 1];
	cr_assert_str_eq(last->reason, "exit");
	/* K: the peak of the E line, split by kind */
	cr_expect_eq(log.at_peak[0], last->e[TH_PEAK_TRACKED], "K peak %llu, E peak %llu",
		     (unsigned long long)log.at_peak[0],
		     (unsigned long long)last->e[TH_PEAK_TRACKED]);
	cr_expect_eq(log.at_peak[1] + log.at_peak[2] + log.at_peak[3], log.at_peak[0],
		     "the K split does not add up to the peak");
	cr_expect_lt(last->e[TH_TRACKED], last->e[TH_PEAK_TRACKED] / 4,
		     "the peak should be gone by exit");

	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0, "nm %s failed", exe);
	uint64_t sum = 0;
	for (size_t i = 0; i < log.nstacks; i++) {
		const th_val_t *v = &log.val[i];
		sum += v->peak_bytes;
		const char *fn = th_stack_func(&log, &log.stacks[i], &syms, exe);
		for (size_t k = 0; fn && k < nw; k++) {
			if (strcmp(fn, w[k].fn) == 0) {
				w[k].got_bytes += v->peak_bytes;
				w[k].got_count += v->peak_count;
			}
		}
	}
	for (size_t k = 0; k < nw; k++)
		cr_expect(w[k].got_bytes == w[k].bytes && w[k].got_count == w[k].count,
			  "%s %s: live at the peak %llu bytes in %llu blocks, expected %llu in %llu",
			  mode, w[k].fn, (unsigned long long)w[k].got_bytes,
			  (unsigned long long)w[k].got_count, (unsigned long long)w[k].bytes,
			  (unsigned long long)w[k].count);
	/* every tracked byte at the peak is on some stack, but for what was allocated before
	 * the guard could take stacks */
	uint64_t peak = last->e[TH_PEAK_TRACKED];
	cr_expect(sum <= peak && peak - sum <= 64 * 1024,
		  "%s: stacks hold %llu bytes at the peak, which was %llu", mode,
		  (unsigned long long)sum, (unsigned long long)peak);

	/* the analyzer: largest site first, with the same bytes */
	size_t big = 0;
	for (size_t k = 1; k < nw; k++)
		if (w[k].bytes > w[big].bytes)
			big = k;
	unsigned long long bytes;
	char fn[64];
	first_peak_site(logs[0], &bytes, fn, sizeof fn);
	cr_expect_str_eq(fn, w[big].fn, "%s: report's first peak site", mode);
	cr_expect_eq(bytes, w[big].bytes, "%s: report's first peak site has %llu bytes", mode,
		     bytes);
	th_syms_free(&syms);
	th_log_free(&log);
	th_strv_free(logs, nl);
	th_run_free(&r);
}

/* Threads racing at the peak: the per-site figures add up to the peak within the
 * documented bound (one block per other thread in flight). */
Test(integration_peak, racing_threads_within_the_bound)
{
	const char *exe = th_build("examples/peak_mid");
	const char *argv[] = { exe, "racing", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s racing: %s", exe, th_run_desc(&r));
	long long bound = th_kv(r.out, "bytes");
	cr_assert_gt(bound, 0, "%s", r.out);
	char **logs;
	size_t nl = th_list(dir, "ag.", &logs);
	cr_assert_eq(nl, 1);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, logs[0]), 0);
	cr_assert_not(log.damaged, "%s", log.damage);
	uint64_t sum = 0, peak = log.at_peak[0];
	for (size_t i = 0; i < log.nstacks; i++)
		sum += log.val[i].peak_bytes;
	/* below: allocations made before the guard could take stacks (64 KiB at most) */
	cr_expect(sum <= peak + (uint64_t)bound && sum + 64 * 1024 + (uint64_t)bound >= peak,
		  "stacks hold %llu bytes at the peak of %llu (bound %lld)",
		  (unsigned long long)sum, (unsigned long long)peak, bound);
	th_log_free(&log);
	th_strv_free(logs, nl);
	th_run_free(&r);
}

Test(integration_peak, phases_exact_per_function) { check_mode("phases"); }
Test(integration_peak, sawtooth_only_the_highest_rise) { check_mode("sawtooth"); }
Test(integration_peak, threads_held_still_exact) { check_mode("threads"); }

/* A swapped model file is part of the peak: the K split names it, its site holds it. */
Test(integration_peak, swapped_bytes_in_the_peak_split)
{
	char model[600];
	snprintf(model, sizeof model, "%s/m.gguf", dir);
	FILE *f = fopen(model, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 3 * 1024 * 1024; i++)
		fputc(i * 7 & 0xff, f);
	fclose(f);
	const char *argv[] = { th_build("examples/swap_loader"), model, NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	char **logs;
	size_t nl = th_list(dir, "ag.", &logs);
	cr_assert_eq(nl, 1);
	th_log_t log;
	cr_assert_eq(th_log_load(&log, logs[0]), 0);
	cr_assert_not(log.damaged, "%s", log.damage);
	cr_expect_eq(log.at_peak[3], 3u << 20, "K: %llu swapped at the peak",
		     (unsigned long long)log.at_peak[3]);
	uint64_t swap_at_peak = 0;
	for (size_t i = 0; i < log.nstacks; i++)
		if (log.stacks[i].kind == 's')
			swap_at_peak += log.val[i].peak_bytes;
	cr_expect_eq(swap_at_peak, 3u << 20);
	th_log_free(&log);
	th_strv_free(logs, nl);
	th_run_free(&r);
}
