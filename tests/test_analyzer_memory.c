/* test_analyzer_memory.c: the analyzer's memory follows the log's stacks and records, not
 * anything larger (issue 13).  A generated log of many stacks, each live in every
 * snapshot, is analyzed by every command in a child whose peak RSS (wait4's ru_maxrss)
 * must stay under the RSS of the same command on a tiny log plus a fixed allowance per
 * stack.  The allowance (3 KB) is several times what a stack costs today (about 0.8 KB:
 * the log's text while parsed, its records, its frames), and below what one stack's key
 * buffer alone cost before (3.3 KB), so the test fails on a per-stack blow-up and not on
 * noise. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define PER_STACK_KB 3

/* n stacks of four frames in a module that is not on disk (no symbols: the cost measured
 * is the analyzer's own), nsnap interval snapshots and an exit one, every stack listed in
 * each with a changing size. */
static void gen_log(const char *path, unsigned n, unsigned nsnap)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "AGLOG 1\nP 4242 1 1700000000000000000 /opt/an_fixture/big\nA ./big\n"
		"O sample 0\nO interval_ms 100\nM 400000 400000 4000000 - /opt/an_fixture/big\n");
	for (unsigned s = 0; s < n; s++) {
		unsigned a = 0x400000 + (s * 7919u) % 0x3000000;
		fprintf(f, "S %u h %x %x %x 401000\n", s + 1, a, a + 0x10, 0x400000 + s % 4096);
	}
	for (unsigned k = 0; k <= nsnap; k++) {
		unsigned long long tot = 0;
		fprintf(f, "B %u %u %s\n", k, k * 100000000u + 1000,
			k == 0 ? "start" : k == nsnap ? "exit" : "interval");
		for (unsigned s = 0; s < n; s++) {
			unsigned b = 64 * (1 + (s + k) % 50);
			tot += b;
			fprintf(f, "L %u %u 1 %u %u\n", s + 1, b, b * (k + 1), k + 1);
		}
		fprintf(f, "E %u %llu %llu 0 0 %llu %llu 0 %u\n", k, tot, tot, tot, tot, n);
	}
	cr_assert_eq(fclose(f), 0);
}

/* Peak RSS in KiB of `allocguard CMD LOG [LOG@0]`. */
static long peak_kb(const char *cmd, const char *log)
{
	char at0[600];
	snprintf(at0, sizeof at0, "%s@0", log);
	const char *argv[] = { th_build("allocguard"), cmd, strcmp(cmd, "diff") == 0 ? at0 : log,
			       strcmp(cmd, "diff") == 0 ? log : NULL, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 300), 0);
	cr_assert(r.exited && r.code == 0, "allocguard %s %s: %s", cmd, log, th_run_desc(&r));
	long kb = r.ru.ru_maxrss;
	th_run_free(&r);
	return kb;
}

Test(analyzer_memory, bounded_by_stacks, .timeout = 600)
{
	const unsigned n = 60000;
	char *dir = strdup(th_tmpdir("agmem"));
	char big[512], tiny[512];
	snprintf(big, sizeof big, "%s/big.log", dir);
	snprintf(tiny, sizeof tiny, "%s/tiny.log", dir);
	gen_log(big, n, 3);
	gen_log(tiny, 10, 3);
	static const char *const cmds[] = { "report", "leaks", "growth", "diff" };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		long base = peak_kb(cmds[i], tiny), kb = peak_kb(cmds[i], big);
		cr_log_info("allocguard %s: %ld KiB on %u stacks, %ld KiB on 10\n", cmds[i], kb, n,
			    base);
		cr_expect_lt(kb, base + (long)n * PER_STACK_KB,
			     "allocguard %s used %ld KiB on a log of %u stacks (%ld KiB on 10 "
			     "stacks; allowed %d KiB a stack)", cmds[i], kb, n, base, PER_STACK_KB);
	}
	th_rmtree(dir);
	free(dir);
}
