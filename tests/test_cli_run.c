/* test_cli_run.c: build/allocguard as users drive it: `run` (exit status pass-through,
 * signals, option validation, the summary and --fail-on-leak), help texts, and the reports
 * on logs of the example programs: planted leaks exact to the byte, growth verdicts, and
 * damaged logs refused with one line. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "model.h"
#include "options.h"
#include "reports.h"

static const char *ag(void)
{
	return th_build("allocguard");
}

static void need(const char *rel)
{
	if (access(th_build(rel), X_OK) != 0)
		cr_skip_test("%s not built", rel);
}

static th_run_t run(const char *const *argv)
{
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0, "cannot start %s", argv[0]);
	cr_assert(!r.timed_out, "%s timed out", argv[1]);
	return r;
}

static void one_line(const th_run_t *r)
{
	cr_assert_eq(th_nlines(r->err), 1, "want one stderr line, got: %s", r->err);
	cr_assert(strncmp(r->err, "allocguard: ", 12) == 0, "%s", r->err);
}

Test(cli, version_help_and_unknown_command)
{
	const char *v[] = { ag(), "--version", NULL };
	th_run_t r = run(v);
	cr_assert_eq(r.code, 0);
	cr_assert(strstr(r.out, "allocguard "), "%s", r.out);
	th_run_free(&r);
	const char *h[] = { ag(), "--help", NULL };
	r = run(h);
	cr_assert_eq(r.code, 0);
	for (const char *w = "run\0report\0leaks\0growth\0diff\0EXIT STATUS\0"; *w; w += strlen(w) + 1)
		cr_assert(strstr(r.out, w), "help lacks %s", w);
	th_run_free(&r);
	const char *sub[] = { "leaks", "growth", "diff", "report", NULL };
	for (int i = 0; sub[i]; i++) {
		const char *a[] = { ag(), sub[i], "--help", NULL };
		r = run(a);
		cr_assert_eq(r.code, 0);
		cr_assert(strstr(r.out, "SYNOPSIS"), "%s --help", sub[i]);
		th_run_free(&r);
	}
	const char *u[] = { ag(), "frobnicate", NULL };
	r = run(u);
	cr_assert_eq(r.code, 2);
	one_line(&r);
	th_run_free(&r);
}

Test(cli, run_help_and_options_table_come_from_the_options_table)
{
	const char *h[] = { ag(), "run", "--help", NULL };
	th_run_t r = run(h);
	const char *t[] = { ag(), "run", "--options-table", NULL };
	th_run_t m = run(t);
	cr_assert_eq(r.code, 0);
	cr_assert_eq(m.code, 0);
	for (size_t i = 0; i < opt_count; i++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s ", opt_table[i].flag);
		cr_assert(strstr(r.out, flag), "run --help lacks %s", flag);
		cr_assert(strstr(r.out, opt_table[i].env), "run --help lacks %s", opt_table[i].env);
		char cell[80];
		snprintf(cell, sizeof cell, "| `%s` |", opt_table[i].env);
		cr_assert(strstr(m.out, cell), "options table lacks %s", cell);
	}
	cr_assert(strstr(m.out, "| `--cap SIZE` | `ALLOCGUARD_CAP` |"), "%s", m.out);
	cr_assert(strstr(m.out, "`--on-cap fail\\|abort\\|warn`"), "%s", m.out);
	cr_assert(strstr(m.out, "--fail-on-leak SIZE"), "%s", m.out);
	th_run_free(&r);
	th_run_free(&m);
}

Test(cli, run_refuses_bad_values_with_one_line)
{
	const char *cases[][6] = {
		{ "--cap", "12Q", "--cap='12Q'" },
		{ "--interval", "5h", "--interval='5h'" },
		{ "--on-cap", "explode", "--on-cap='explode'" },
		{ "--depth", "0", "--depth='0'" },
		{ "--fail-on-leak", "lots", "--fail-on-leak='lots'" },
		{ "--warn", "95", "must be below" },
		{ "--bogus", "1", "unknown option" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *a[] = { ag(), "run", cases[i][0], cases[i][1], "--", "true", NULL };
		th_run_t r = run(a);
		cr_assert_eq(r.code, 2, "%s %s: exit %d", cases[i][0], cases[i][1], r.code);
		one_line(&r);
		cr_assert(strstr(r.err, cases[i][2]), "%s", r.err);
		th_run_free(&r);
	}
	const char *env[] = { "ALLOCGUARD_CAP=huge", NULL };
	const char *a[] = { ag(), "run", "--", "true", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, a, env, 0, 30), 0);
	cr_assert_eq(r.code, 2);
	one_line(&r);
	cr_assert(strstr(r.err, "ALLOCGUARD_CAP='huge'"), "%s", r.err);
	th_run_free(&r);
}

Test(cli, run_passes_the_exit_status_through)
{
	need("liballocguard.so");
	char *dir = strdup(th_tmpdir("runst")), out[400];
	snprintf(out, sizeof out, "--out=%s/ag.%%p.log", dir);
	const char *a[] = { ag(), "run", "-q", out, "--", "sh", "-c", "exit 3", NULL };
	th_run_t r = run(a);
	cr_assert_eq(r.code, 3, "%s", th_run_desc(&r));
	th_run_free(&r);
	const char *k[] = { ag(), "run", "-q", out, "--", "sh", "-c", "kill -TERM $$", NULL };
	r = run(k);
	cr_assert_eq(r.code, 128 + SIGTERM, "%s", th_run_desc(&r));
	th_run_free(&r);
	const char *n[] = { ag(), "run", "-q", out, "--", "/nonexistent/cmd", NULL };
	r = run(n);
	cr_assert_eq(r.code, 127, "%s", th_run_desc(&r));
	th_run_free(&r);
	th_rmtree(dir);
	free(dir);
}

Test(cli, run_forwards_signals_to_the_command)
{
	need("liballocguard.so");
	char *dir = strdup(th_tmpdir("runsig")), out[400];
	snprintf(out, sizeof out, "--out=%s/ag.%%p.log", dir);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		unsetenv("ALLOCGUARD_LOG");
		execl(ag(), ag(), "run", "-q", out, "--", "sh", "-c",
		      "trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done",
		      (char *)NULL);
		_exit(99);
	}
	close(fds[1]);
	char buf[256] = "";
	size_t len = 0;
	while (!strstr(buf, "ready") && len < sizeof buf - 1) {
		ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	cr_assert(strstr(buf, "ready"), "%s", buf);
	kill(pid, SIGUSR1);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 5, "status %#x", st);
	close(fds[0]);
	th_rmtree(dir);
	free(dir);
}

/* Lost figures per function (the innermost frame in the example itself). */
typedef struct {
	char fn[64];
	uint64_t lb, lc, rb, rc;
	int file_ok;
} per_fn_t;

static per_fn_t *find_fn(per_fn_t *v, size_t *n, const char *fn)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i].fn, fn) == 0)
			return &v[i];
	snprintf(v[*n].fn, sizeof v[*n].fn, "%s", fn);
	return &v[(*n)++];
}

static char *only_log(const char *dir)
{
	char **files;
	size_t n = th_list(dir, "ag.", &files);
	cr_assert_eq(n, 1, "%zu logs in %s", n, dir);
	char *p = strdup(files[0]);
	th_strv_free(files, n);
	return p;
}

Test(cli, planted_leaks_exact_to_the_byte, .timeout = 120)
{
	need("liballocguard.so");
	need("examples/leaks");
	char *dir = strdup(th_tmpdir("leaks")), out[400];
	snprintf(out, sizeof out, "--out=%s/ag.%%e.%%p.log", dir);
	const char *a[] = { ag(), "run", out, "--", th_build("examples/leaks"), NULL };
	th_run_t r = run(a);
	cr_assert_eq(r.code, 0, "%s\n%s", th_run_desc(&r), r.err);
	char *path = only_log(dir);
	cr_assert(strstr(r.err, path), "summary names the log: %s", r.err);
	cr_assert(strstr(r.err, "allocguard:   lost at exit:"), "%s", r.err);

	ag_log_t *log;
	char msg[400];
	cr_assert_eq(log_load(path, &log, msg, sizeof msg), 0, "%s", msg);
	symbols_t *sym = symbols_open(log, stderr);
	leaks_t l;
	cr_assert_eq(leaks_collect(log, &l), 0);
	cr_assert(l.at_exit && l.known);
	per_fn_t v[256];
	size_t nv = 0;
	memset(v, 0, sizeof v);
	for (size_t i = 0; i < l.nsites && nv < 250; i++) {
		const ag_stack_t *st = &log->stacks[l.sites[i].stack];
		for (uint32_t k = 0; k < st->nframes; k++) {
			const ag_frame_t *f = symbols_lookup(sym, st->frames[k]);
			if (!f->module || !strstr(f->module, "examples/leaks") || !f->function)
				continue;
			per_fn_t *p = find_fn(v, &nv, f->function);
			if (l.sites[i].reachable) {
				p->rb += l.sites[i].bytes;
				p->rc += l.sites[i].count;
			} else {
				p->lb += l.sites[i].bytes;
				p->lc += l.sites[i].count;
			}
			p->file_ok = f->file && strcmp(f->file, "leaks.c") == 0 && f->line > 0;
			break;
		}
	}
	size_t checked = 0;
	for (const char *s = r.out; (s = strstr(s, "expect ")); s++) {
		char fn[64];
		unsigned long long lb, lc, rb, rc;
		if (sscanf(s, "expect %63s lost_bytes=%llu lost_count=%llu reachable_bytes=%llu "
			   "reachable_count=%llu", fn, &lb, &lc, &rb, &rc) != 5)
			continue;
		per_fn_t *p = find_fn(v, &nv, fn);
		cr_expect_eq(p->lb, lb, "%s lost bytes %llu, want %llu", fn,
			     (unsigned long long)p->lb, lb);
		cr_expect_eq(p->lc, lc, "%s lost count %llu, want %llu", fn,
			     (unsigned long long)p->lc, lc);
		if (rb)
			cr_expect_eq(p->rb, rb, "%s reachable bytes %llu, want %llu", fn,
				     (unsigned long long)p->rb, rb);
		if (lb || rb)
			cr_expect(p->file_ok, "%s has no leaks.c:LINE", fn);
		checked++;
	}
	cr_assert_geq(checked, 5, "the example printed %zu expectations", checked);
	leaks_free(&l);
	symbols_close(sym);
	log_free(log);

	/* the thresholds for harnesses */
	const char *f0[] = { ag(), "leaks", "--fail-on", "0", path, NULL };
	th_run_t q = run(f0);
	cr_assert_eq(q.code, 1, "%s", q.err);
	th_run_free(&q);
	const char *f1[] = { ag(), "leaks", "--fail-on", "1G", "--json", path, NULL };
	q = run(f1);
	cr_assert_eq(q.code, 0, "%s", q.err);
	cr_assert(strstr(q.out, "\"reachable\": false"), "%s", q.out);
	cr_assert(strstr(q.out, "\"file\": \"leaks.c\""), "%s", q.out);
	th_run_free(&q);
	char out2[400];
	snprintf(out2, sizeof out2, "--out=%s/again.%%p.log", dir);
	const char *f2[] = { ag(), "run", "--fail-on-leak", "0", out2, "--",
			     th_build("examples/leaks"), NULL };
	q = run(f2);
	cr_assert_eq(q.code, 1, "%s", q.err);
	th_run_free(&q);
	th_run_free(&r);
	free(path);
	th_rmtree(dir);
	free(dir);
}

Test(cli, grower_pool_and_churn_verdicts, .timeout = 120)
{
	need("liballocguard.so");
	need("examples/grower");
	char *dir = strdup(th_tmpdir("grow")), out[400];
	snprintf(out, sizeof out, "--out=%s/ag.%%p.log", dir);
	const char *a[] = { ag(), "run", "-q", "--interval", "100ms", out, "--",
			    th_build("examples/grower"), NULL };
	/* A program starved of the CPU for the last part of its run (a loaded machine: ticks of
	 * 10 ms stretch to hundreds) really does rise and then stay level in its snapshots, and
	 * is rightly a plateau; that is told apart from a wrong verdict by a second run. */
	th_run_t q;
	char *path = NULL;
	const char *first = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt) {
			cr_log_warn("grow_steady not judged growing (a stalled run?): once more");
			unlink(path);
			free(path);
			th_run_free(&q);
		}
		th_run_t r = run(a);
		cr_assert_eq(r.code, 0, "%s", r.err);
		th_run_free(&r);
		path = only_log(dir);
		const char *g[] = { ag(), "growth", "--json", path, NULL };
		q = run(g);
		cr_assert_eq(q.code, 0, "%s", q.err);
		first = strstr(q.out, "\"verdict\": ");
		if (first && strncmp(first, "\"verdict\": \"growing\"", 20) == 0)
			break;
	}
	/* sites come sorted by slope: the grower first, growing, its slope within 35% of the
	 * rate it really grew at (64 KiB a tick; ticks stretch on a loaded machine) */
	cr_assert_not_null(first, "%s", q.out);
	cr_assert(strncmp(first, "\"verdict\": \"growing\"", 20) == 0, "%.300s", first);
	const char *fn = strstr(first, "\"function\": ");
	cr_assert(fn && strncmp(fn, "\"function\": \"grow_steady\"", 25) == 0, "%.600s", first);
	double slope = strtod(strstr(first, "\"slope_bytes_per_s\": ") + 21, NULL);
	double f0 = strtod(strstr(first, "\"first_bytes\": ") + 15, NULL);
	double f1 = strtod(strstr(first, "\"last_bytes\": ") + 14, NULL);
	double span = strtod(strstr(q.out, "\"duration_s\": ") + 14, NULL);
	double truth = (f1 - f0) / span;
	cr_assert(truth > 1e6, "truth %f", truth);
	cr_assert(slope > 0.65 * truth && slope < 1.35 * truth, "slope %f, truth %f", slope, truth);
	/* the pool is filled at one line and refilled at another: each line is a site, and
	 * each is judged with its function (the memory moved between them), a plateau; the
	 * site's own verdict is the last one before its "site" frame */
	size_t npool = 0;
	for (const char *p = q.out; (p = strstr(p, "\"site\": {")); p++) {
		const char *fnp = strstr(p, "\"function\": ");
		static const char want[] = "\"function\": \"pool_warm\"";
		if (!fnp || strncmp(fnp, want, sizeof want - 1) != 0)
			continue;
		const char *vp = NULL;
		for (const char *s = q.out; (s = strstr(s, "\"verdict\": ")) && s < p; s++)
			vp = s;
		cr_assert(vp && strncmp(vp, "\"verdict\": \"plateau\"", 20) == 0, "%.200s", vp);
		npool++;
	}
	cr_assert_geq(npool, 1, "no pool_warm site:\n%.2000s", q.out);
	/* churn frees what it takes: a snapshot may catch one block between its malloc and
	 * free (the writer runs beside the program), never more, and never a trend */
	const char *churn = strstr(q.out, "\"function\": \"churn_tick\"");
	if (churn) {
		const char *pk = NULL, *vd = NULL;
		for (const char *s = q.out; (s = strstr(s, "\"peak_bytes\": ")) && s < churn; s++)
			pk = s;
		for (const char *s = q.out; (s = strstr(s, "\"verdict\": ")) && s < churn; s++)
			vd = s;
		cr_assert(pk && strtod(pk + 14, NULL) <= 3024, "churn held more than one block");
		cr_assert(vd && strncmp(vd, "\"verdict\": \"growing\"", 20) != 0, "churn grows");
	}
	th_run_free(&q);
	free(path);
	th_rmtree(dir);
	free(dir);
}

Test(cli, damaged_logs_are_used_or_refused_with_one_line, .timeout = 120)
{
	size_t len;
	char *buf = th_slurp(th_root("tests/data/real_leaks.log"), &len);
	cr_assert_not_null(buf);
	char *dir = strdup(th_tmpdir("dmg")), path[400];
	snprintf(path, sizeof path, "%s/d.log", dir);
	unsigned seed = 11;
	for (int i = 0; i < 40; i++) {
		char *m = malloc(len + 1);
		memcpy(m, buf, len);
		size_t n = (size_t)rand_r(&seed) % (len + 1);
		if (i % 2)
			m[(size_t)rand_r(&seed) % len] = (char)rand_r(&seed);
		FILE *f = fopen(path, "w");
		fwrite(m, 1, i % 2 ? len : n, f);
		fclose(f);
		free(m);
		const char *cmds[] = { "leaks", "report", "growth" };
		for (int c = 0; c < 3; c++) {
			const char *a[] = { ag(), cmds[c], path, NULL };
			th_run_t r = run(a);
			cr_assert(r.exited && (r.code == 0 || r.code == 2), "%s: %s", cmds[c],
				  th_run_desc(&r));
			if (r.code == 2)
				one_line(&r);
			th_run_free(&r);
		}
	}
	const char *a[] = { ag(), "report", "/nonexistent.log", NULL };
	th_run_t r = run(a);
	cr_assert_eq(r.code, 2);
	one_line(&r);
	th_run_free(&r);
	free(buf);
	th_rmtree(dir);
	free(dir);
}

/* leaks adds up what every log lost before deciding the exit status; an unreadable log
 * makes it 2 whatever was lost. */
Test(cli, leaks_fail_on_adds_up_every_log, .timeout = 60)
{
	const char *log = "tests/data/leaks_basic.log";   /* 70 KiB lost */
	const char *one[] = { ag(), "leaks", "--fail-on", "100K", log, NULL };
	th_run_t r = run(one);
	cr_assert_eq(r.code, 0, "%s", r.err);
	th_run_free(&r);
	const char *two[] = { ag(), "leaks", "--fail-on", "100K", log, log, NULL };
	r = run(two);
	cr_assert_eq(r.code, 1, "%s", r.err);
	cr_assert(strstr(r.err, "143360 bytes lost, more than --fail-on 102400"), "%s", r.err);
	th_run_free(&r);
	const char *bad[] = { ag(), "leaks", "--fail-on", "100K", log, log, "tests/data/none.log",
			      NULL };
	r = run(bad);
	cr_assert_eq(r.code, 2, "%s", r.err);
	th_run_free(&r);
	const char *report[] = { ag(), "report", "--json", log, log, NULL };
	r = run(report);
	cr_assert_eq(r.code, 0, "%s", r.err);
	cr_assert_eq(r.out[0], '[', "%s", r.out);
	th_run_free(&r);
}

/* --leak-check no: no exit scan, so no verdict anywhere (log, leaks, summary), the live
 * figures still exact; and a gate on lost bytes refuses to run, since it could not judge. */
Test(cli, leak_check_off_makes_no_verdict_and_refuses_the_gate, .timeout = 120)
{
	need("liballocguard.so");
	need("examples/leaks");
	char *dir = strdup(th_tmpdir("nocheck")), out[400];
	snprintf(out, sizeof out, "--out=%s/ag.%%e.%%p.log", dir);
	const char *a[] = { ag(), "run", "--leak-check", "no", out, "--",
			    th_build("examples/leaks"), NULL };
	th_run_t r = run(a);
	cr_assert_eq(r.code, 0, "%s\n%s", th_run_desc(&r), r.err);
	cr_assert(strstr(r.err, "leak check off"), "%s", r.err);
	cr_assert(!strstr(r.err, "lost at exit"), "%s", r.err);
	unsigned long long want_bytes = 0, want_count = 0;
	for (const char *s = r.out; (s = strstr(s, "expect ")); s++) {
		unsigned long long lb, lc, rb, rc;
		char fn[64];
		if (sscanf(s, "expect %63s lost_bytes=%llu lost_count=%llu reachable_bytes=%llu "
			   "reachable_count=%llu", fn, &lb, &lc, &rb, &rc) == 5) {
			want_bytes += lb + rb;
			want_count += lc + rc;
		}
	}
	cr_assert_gt(want_bytes, 0, "%s", r.out);
	char *path = only_log(dir);
	size_t len;
	char *text = th_slurp(path, &len);
	cr_assert(text && strstr(text, "\nO leak_check no\n"), "the log says the check was off");
	cr_assert_eq(th_count_lines(text, "R "), 0, "no verdict lines without the scan");
	free(text);
	ag_log_t *log;
	char msg[400];
	cr_assert_eq(log_load(path, &log, msg, sizeof msg), 0, "%s", msg);
	leaks_t l;
	cr_assert_eq(leaks_collect(log, &l), 0);
	cr_assert(l.at_exit && l.unchecked && !l.known);
	cr_assert_eq(l.lost_bytes, 0);
	/* the program's planted blocks are all live; the runtime may add a few of its own */
	cr_assert_geq(l.reach_bytes, want_bytes);
	cr_assert_geq(l.reach_count, want_count);
	leaks_free(&l);
	log_free(log);
	th_run_free(&r);

	/* the gate cannot judge: refused before the command starts, one line, status 2 */
	char marker[500];
	snprintf(marker, sizeof marker, "touch %s/started", dir);
	const char *g[] = { ag(), "run", "--leak-check=no", "--fail-on-leak", "0", out, "--",
			    "sh", "-c", marker, NULL };
	r = run(g);
	cr_assert_eq(r.code, 2, "%s\n%s", th_run_desc(&r), r.err);
	one_line(&r);
	th_run_free(&r);
	const char *g2[] = { ag(), "run", "--fail-on-leak", "0", out, "--", "sh", "-c", marker,
			     NULL };
	const char *env[] = { "ALLOCGUARD_LEAK_CHECK=no", NULL };
	cr_assert_eq(th_run(&r, g2, env, 0, 60), 0);
	cr_assert_eq(r.code, 2, "%s\n%s", th_run_desc(&r), r.err);
	one_line(&r);
	th_run_free(&r);
	snprintf(marker, sizeof marker, "%s/started", dir);
	cr_assert_neq(access(marker, F_OK), 0, "the command was not started");
	th_rmtree(dir);
	free(dir);
}
