/* test_analyzer_agree.c: E figures that disagree (analyzer/logread_snap.c agree()) are told from
 * damage: the snapshot and every later one are kept with the peaks raised to agree, the
 * log says so in one line, and a cut or corrupt log is still damage. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define HEAD "AGLOG 1\nP 10 1 5 /bin/x\nA x\nS 1 h 401000 402000\nB 0 1 start\nE 0 0 0 0 0 0 0 0 0\n"

static ag_log_t *parse(const char *tail)
{
	char text[4096], msg[300];
	snprintf(text, sizeof text, HEAD "%s", tail);
	ag_log_t *log;
	cr_assert_eq(log_parse("t.log", text, strlen(text), &log, msg, sizeof msg), 0, "%s", msg);
	return log;
}

static char *warnings(const ag_log_t *log, size_t *nlines)
{
	char *out;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	log_warn_damage(log, f);
	fclose(f);
	*nlines = 0;
	for (size_t i = 0; i < len; i++)
		*nlines += out[i] == '\n';
	return out;
}

Test(agree, a_peak_below_its_value_costs_no_snapshot)
{
	/* snapshot 1: heap 500 but peaks 400 (read while the peak was being raised) */
	ag_log_t *log = parse("B 1 2 interval\nE 1 500 500 0 0 400 400 0 0\n"
			      "B 2 3 interval\nE 2 300 300 0 0 450 450 0 0\n"
			      "B 3 4 exit\nE 3 200 100 100 0 600 500 100 0\n");
	cr_assert_eq(log->nsnaps, 4, "every snapshot is kept");
	cr_assert_eq(log->damage_line, 0, "not damage: %s", log->damage);
	cr_assert_eq(log->snaps[1].peak_tracked, 500);
	cr_assert_eq(log->snaps[1].peak_heap, 500);
	/* snapshot 2's peak of 450 would fall below snapshot 1's 500 */
	cr_assert_eq(log->snaps[2].peak_tracked, 500);
	cr_assert_eq(log->snaps[2].peak_heap, 500);
	cr_assert_eq(log->snaps[3].peak_tracked, 600, "figures that agree are kept as written");
	cr_assert_eq(log->nclamped, 2);
	cr_assert_eq(log->clamped_seq, 1);
	size_t n;
	char *out = warnings(log, &n);
	cr_assert_eq(n, 1, "one line for the whole log: %s", out);
	cr_assert(strstr(out, "t.log") && strstr(out, "2 snapshots") && strstr(out, "snapshot 1") &&
		  strstr(out, "peak is below"), "%s", out);
	free(out);
	log_free(log);
}

Test(agree, tracked_is_the_sum_of_the_kinds)
{
	ag_log_t *log = parse("B 1 2 interval\nE 1 999 100 50 25 999 100 50 0\n"
			      "B 2 3 interval\nE 2 10 100 50 25 180 100 60 0\n");
	cr_assert_eq(log->nsnaps, 3);
	cr_assert_eq(log->snaps[1].tracked, 175);
	cr_assert_eq(log->snaps[1].peak_tracked, 999, "a peak above its value is fine");
	cr_assert_eq(log->snaps[2].tracked, 175);
	cr_assert_eq(log->snaps[2].peak_tracked, 999, "peaks never fall");
	cr_assert_eq(log->nclamped, 2);
	cr_assert(strstr(log->clamped, "heap + mapped + swapped"), "%s", log->clamped);
	log_free(log);
}

Test(agree, the_tracked_peak_covers_each_kinds_peak)
{
	ag_log_t *log = parse("B 1 2 interval\nE 1 10 5 5 0 10 90 5 0\n");
	cr_assert_eq(log->snaps[1].peak_tracked, 90);
	cr_assert_eq(log->nclamped, 1);
	log_free(log);
}

Test(agree, a_log_that_agrees_says_nothing)
{
	ag_log_t *log = parse("B 1 2 interval\nE 1 10 5 5 0 10 5 5 0\n");
	cr_assert_eq(log->nclamped, 0);
	size_t n;
	char *out = warnings(log, &n);
	cr_assert_eq(n, 0, "%s", out);
	free(out);
	log_free(log);
}

Test(agree, a_cut_or_corrupt_log_is_still_damage)
{
	/* disagreeing figures, then a cut: both are said, each in its own line */
	ag_log_t *log = parse("B 1 2 interval\nE 1 500 500 0 0 400 400 0 0\nB 2 3 interval\nE 2 3");
	cr_assert_eq(log->nsnaps, 2);
	cr_assert_eq(log->damage_line, 10, "%s", log->damage);
	cr_assert(strstr(log->damage, "cut off"), "%s", log->damage);
	size_t n;
	char *out = warnings(log, &n);
	cr_assert_eq(n, 2, "%s", out);
	free(out);
	log_free(log);
	/* a figure that is not a number is damage, not a disagreement */
	log = parse("B 1 2 interval\nE 1 5 5 0 0 x 4 0 0\n");
	cr_assert_eq(log->nsnaps, 1);
	cr_assert_neq(log->damage_line, 0);
	cr_assert_eq(log->nclamped, 0);
	log_free(log);
}
