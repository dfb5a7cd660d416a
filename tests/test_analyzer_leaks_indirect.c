/* test_analyzer_leaks_indirect.c: the R line's optional indirect pair (preload/logfmt.h) as
 * the reader and `leaks` take it: a stack's lost blocks split into a direct and an indirect
 * site, logs written before the pair existed read as all direct, and an indirect figure
 * above the lost one is damage.  Also the frameless site of blocks older than the guard. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "model.h"
#include "reports.h"

#define HEAD "AGLOG 1\nP 10 1 5 /bin/x\nA x\nS 1 h 401000 402000\nS 2 h 403000\n"

static ag_log_t *parse(const char *text)
{
	ag_log_t *log;
	char msg[300];
	cr_assert_eq(log_parse("t.log", text, strlen(text), &log, msg, sizeof msg), 0, "%s", msg);
	return log;
}

static const leak_site_t *site(const leaks_t *l, uint32_t stack, int reachable, int indirect)
{
	for (size_t i = 0; i < l->nsites; i++)
		if (l->sites[i].stack == stack && l->sites[i].reachable == reachable &&
		    l->sites[i].indirect == indirect)
			return &l->sites[i];
	return NULL;
}

Test(leaks_indirect, lost_splits_into_direct_and_indirect_sites)
{
	ag_log_t *log = parse(HEAD "B 0 100 exit\nL 1 1000 10 1000 10\nL 2 64 1 64 1\n"
			      "R 1 600 6 400 4\nR 2 64 1 0 0\nE 0 1064 1064 0 0 1064 1064 0 4\n");
	cr_assert_eq(log->damage_line, 0, "%s", log->damage);
	leaks_t l;
	cr_assert_eq(leaks_collect(log, &l), 0);
	cr_assert_eq(l.lost_bytes, 664);
	cr_assert_eq(l.indirect_bytes, 400);
	cr_assert_eq(l.indirect_count, 4);
	const leak_site_t *d = site(&l, 0, 0, 0), *i = site(&l, 0, 0, 1), *r = site(&l, 0, 1, 0);
	cr_assert(d && i && r);
	cr_assert_eq(d->bytes, 200);
	cr_assert_eq(d->count, 2);
	cr_assert_eq(i->bytes, 400);
	cr_assert_eq(r->bytes, 400);
	cr_assert_not_null(site(&l, 1, 0, 0));
	cr_assert_null(site(&l, 1, 0, 1));
	leaks_free(&l);
	log_free(log);
}

Test(leaks_indirect, old_four_field_r_lines_are_all_direct)
{
	ag_log_t *log = parse(HEAD "B 0 100 exit\nL 1 1000 10 1000 10\nR 1 600 6\n"
			      "E 0 1000 1000 0 0 1000 1000 0 2\n");
	cr_assert_eq(log->damage_line, 0, "%s", log->damage);
	leaks_t l;
	cr_assert_eq(leaks_collect(log, &l), 0);
	cr_assert_eq(l.lost_bytes, 600);
	cr_assert_eq(l.indirect_bytes, 0);
	cr_assert_not_null(site(&l, 0, 0, 0));
	cr_assert_null(site(&l, 0, 0, 1));
	leaks_free(&l);
	log_free(log);
}

Test(leaks_indirect, more_indirect_than_lost_is_damage)
{
	ag_log_t *log;
	char msg[300];
	const char *text = HEAD "B 0 1 start\nL 1 8 1 8 1\nE 0 8 8 0 0 8 8 0 1\n"
			   "B 1 100 exit\nR 1 600 6 700 4\nE 1 1000 1000 0 0 1000 1000 0 1\n";
	cr_assert_eq(log_parse("t.log", text, strlen(text), &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_neq(log->damage_line, 0);
	cr_assert(strstr(log->damage, "indirect"), "%s", log->damage);
	cr_assert_eq(log->nsnaps, 1);
	log_free(log);
}

/* People read lost sites first, the direct ones (where the bug is) before the indirect
 * ones, and reachable ones last, whatever their sizes; JSON marks each lost site. */
Test(leaks_indirect, human_output_orders_direct_indirect_reachable)
{
	char *dir = strdup(th_tmpdir("indirect"));
	char path[600];
	snprintf(path, sizeof path, "%s/t.log", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(HEAD "S 3 h 404000\nB 0 100 exit\nL 1 100000 10 100000 10\nL 2 64 1 64 1\n"
	      "L 3 5000 5 5000 5\nR 2 64 1 0 0\nR 3 5000 5 5000 5\n"
	      "E 0 105064 105064 0 0 105064 105064 0 5\n", f);
	fclose(f);
	const char *argv[] = { th_build("allocguard"), "leaks", path, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	const char *d = strstr(r.out, " lost  "), *i = strstr(r.out, "lost (indirect)"),
		   *re = strstr(r.out, "reachable  ");
	cr_assert(d && i && re && d < i && i < re, "order:\n%s", r.out);
	th_run_free(&r);
	const char *jv[] = { th_build("allocguard"), "leaks", "--json", path, NULL };
	cr_assert_eq(th_run(&r, jv, NULL, 0, 60), 0);
	cr_assert(strstr(r.out, "\"indirect\": true") && strstr(r.out, "\"indirect\": false"),
		  "%s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

/* The stack of no frames holds the blocks allocated before the guard's constructor ran
 * (libstdc++'s emergency pool, a library constructor's blocks): it is named as such. */
Test(leaks_indirect, early_blocks_site_is_named)
{
	char *dir = strdup(th_tmpdir("early"));
	char path[600];
	snprintf(path, sizeof path, "%s/t.log", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("AGLOG 1\nP 10 1 5 /bin/x\nA x\nS 1 h\nB 0 100 exit\nL 1 76704 2 76704 2\n"
	      "R 1 4000 1 0 0\nE 0 76704 76704 0 0 76704 76704 0 2\n", f);
	fclose(f);
	const char *argv[] = { th_build("allocguard"), "leaks", path, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	cr_assert(strstr(r.out, "lost       (before allocguard started)") &&
		  strstr(r.out, "reachable  (before allocguard started)"), "%s", r.out);
	th_run_free(&r);
	const char *jv[] = { th_build("allocguard"), "leaks", "--json", path, NULL };
	cr_assert_eq(th_run(&r, jv, NULL, 0, 60), 0);
	cr_assert(strstr(r.out, "\"before_start\": true"), "%s", r.out);
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}
