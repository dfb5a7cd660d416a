/* test_integration_logs.c: stacks and snapshot logs of real programs (issue 3): planted
 * leaks found with exact bytes and counts per function, reachable vs lost; every prefix of
 * a real log yields exactly the complete snapshots before the cut; sampled estimates within
 * 10%; log size independent of the allocation count; log file safety (0600, never through
 * an existing file or symlink); SIGUSR2 and exit() from a thread. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define MiB (1024ull * 1024)

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("logs"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_logs, .init = setup, .fini = teardown, .timeout = 240);

static void run_ok(th_run_t *r, const char *const *argv, const char *const *env)
{
	cr_assert_eq(th_run(r, argv, env, 1, 60), 0, "cannot start %s", argv[0]);
	cr_assert(r->exited && r->code == 0, "%s: %s\nstdout:\n%s", argv[0], th_run_desc(r), r->out);
}

static void load_only_log(th_log_t *log, char *path, size_t pathlen)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1, "expected exactly one log in %s, found %zu", dir, n);
	if (path)
		snprintf(path, pathlen, "%s", v[0]);
	cr_assert_eq(th_log_load(log, v[0]), 0, "%s: no usable header: %s", v[0], log->damage);
	cr_expect_not(log->damaged, "%s is damaged: %s", v[0], log->damage);
	th_strv_free(v, n);
}

typedef struct {
	char fn[64];
	uint64_t lost_b, lost_n, reach_b, reach_n;          /* expected, from the program */
	uint64_t live_b, live_n, got_lost_b, got_lost_n;    /* found in the log */
} want_t;

/* Compare the program's "expect FUNC ..." lines with the log's exit snapshot, attributing
 * each heap stack to the innermost frame inside the program. */
static void check_leaks(const th_log_t *log, const char *exe, const char *out, int check_lost)
{
	want_t w[32];
	size_t nw = 0;
	for (const char *l = out; l && *l && nw < 32;) {
		unsigned long long a, b, c, d;
		if (sscanf(l, "expect %63s lost_bytes=%llu lost_count=%llu reachable_bytes=%llu "
			   "reachable_count=%llu", w[nw].fn, &a, &b, &c, &d) == 5) {
			w[nw].lost_b = a, w[nw].lost_n = b, w[nw].reach_b = c, w[nw].reach_n = d;
			w[nw].live_b = w[nw].live_n = w[nw].got_lost_b = w[nw].got_lost_n = 0;
			nw++;
		}
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	cr_assert_geq(nw, 1, "no expect lines in the output:\n%s", out);

	long ex = th_log_find(log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot in the log");
	cr_expect_eq((size_t)ex, log->nsnaps - 1, "the exit snapshot is not the last one");
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0, "nm %s failed", exe);
	size_t attributed = 0;
	for (size_t i = 0; i < log->nstacks; i++) {
		const th_val_t *v = &log->val[i];
		if (log->stacks[i].kind != 'h' || (!v->live_bytes && !v->lost_bytes))
			continue;
		const char *fn = th_stack_func(log, &log->stacks[i], &syms, exe);
		for (size_t k = 0; fn && k < nw; k++) {
			if (strcmp(fn, w[k].fn))
				continue;
			w[k].live_b += v->live_bytes;
			w[k].live_n += v->live_count;
			w[k].got_lost_b += v->lost_bytes;
			w[k].got_lost_n += v->lost_count;
			attributed++;
		}
	}
	cr_expect_gt(attributed, 0, "no live stack of the exit snapshot maps into a function of %s "
		     "(%zu stacks, %zu modules): stacks or module lines are wrong", exe,
		     log->nstacks, log->nmods);
	for (size_t k = 0; k < nw; k++) {
		cr_expect(w[k].live_b == w[k].lost_b + w[k].reach_b &&
			  w[k].live_n == w[k].lost_n + w[k].reach_n,
			  "%s: live at exit %llu bytes in %llu blocks, expected %llu in %llu", w[k].fn,
			  (unsigned long long)w[k].live_b, (unsigned long long)w[k].live_n,
			  (unsigned long long)(w[k].lost_b + w[k].reach_b),
			  (unsigned long long)(w[k].lost_n + w[k].reach_n));
		if (check_lost)
			cr_expect(w[k].got_lost_b == w[k].lost_b && w[k].got_lost_n == w[k].lost_n,
				  "%s: lost at exit %llu bytes in %llu blocks, expected %llu in %llu "
				  "(the rest reachable)", w[k].fn,
				  (unsigned long long)w[k].got_lost_b, (unsigned long long)w[k].got_lost_n,
				  (unsigned long long)w[k].lost_b, (unsigned long long)w[k].lost_n);
	}
	th_syms_free(&syms);
}

/* Run an example that prints its expected per-function leaks, and check its exit snapshot
 * against them; the log stays loaded in *log for further checks. */
static void run_check_leaks(const char *example, th_log_t *log, th_run_t *r)
{
	const char *exe = th_build(example);
	const char *argv[] = { exe, NULL };
	const char *env[] = { logpat, NULL };
	run_ok(r, argv, env);
	load_only_log(log, NULL, 0);
	check_leaks(log, exe, r->out, 1);
}

Test(integration_logs, leaks_exact_per_function)
{
	th_run_t r;
	th_log_t log;
	run_check_leaks("examples/leaks", &log, &r);
	/* Unsampled, the stacks account for the whole heap at exit (up to what was allocated
	 * before the guard could take stacks). */
	long ex = th_log_find(&log, "exit");
	if (ex >= 0) {
		uint64_t sum = 0;
		for (size_t i = 0; i < log.nstacks; i++)
			if (log.stacks[i].kind == 'h')
				sum += log.val[i].live_bytes;
		uint64_t heap = log.snaps[ex].e[TH_HEAP];
		cr_expect(sum <= heap && heap - sum <= 64 * 1024,
			  "exit snapshot: stacks hold %llu live bytes, E heap says %llu",
			  (unsigned long long)sum, (unsigned long long)heap);
	}
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_logs, cxx_leaks_exact_per_function)
{
	th_run_t r;
	th_log_t log;
	run_check_leaks("examples/cxx_news", &log, &r);
	th_log_free(&log);
	th_run_free(&r);
}

/* Reachability that takes a real scan: through the heap, from TLS, from a live thread's
 * stack; and a dropped list whose nodes point to each other is all lost. */
Test(integration_logs, reachability_scan)
{
	th_run_t r;
	th_log_t log;
	run_check_leaks("examples/reach", &log, &r);
	th_log_free(&log);
	th_run_free(&r);
}

/* A library dlopen'ed after start-up leaks: the log's module map must learn of it so its
 * frames resolve (build-id and bias in a new M line). */
Test(integration_logs, dlopened_module_attributed)
{
	char src[600], lib[600];
	snprintf(src, sizeof src, "%s/deeplib.c", dir);
	snprintf(lib, sizeof lib, "%s/libdeep.so", dir);
	FILE *f = fopen(src, "w");
	cr_assert(f);
	fputs("#include <stdlib.h>\n"
	      "void *lib_malloc(size_t n) { return malloc(n); }\n"
	      "void lib_free(void *p) { free(p); }\n", f);
	fclose(f);
	const char *cc[] = { "cc", "-shared", "-fPIC", "-g", "-O0", "-o", lib, src, NULL };
	th_run_t c;
	cr_assert_eq(th_run(&c, cc, NULL, 0, 60), 0);
	cr_assert(c.exited && c.code == 0, "cc: %s", th_run_desc(&c));
	th_run_free(&c);
	const char *argv[] = { th_build("examples/deepbind"), lib, "plain", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	th_log_t log;
	load_only_log(&log, NULL, 0);
	check_leaks(&log, lib, r.out, 1);
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_logs, exit_from_second_thread)
{
	const char *exe = th_build("examples/leaks");
	const char *argv[] = { exe, "thread-exit", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	cr_expect_null(strstr(r.out, "not reached"), "%s", r.out);
	th_log_t log;
	load_only_log(&log, NULL, 0);
	check_leaks(&log, exe, r.out, 0);
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_logs, sigusr2_snapshot)
{
	const char *argv[] = { th_build("examples/leaks"), "usr2", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=0", NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	cr_expect(strstr(r.out, "sent SIGUSR2"), "%s", r.out);
	th_log_t log;
	load_only_log(&log, NULL, 0);
	long sig = th_log_find(&log, "signal"), ex = th_log_find(&log, "exit");
	cr_expect_geq(sig, 0, "no snapshot with reason signal");
	cr_expect(ex > sig, "the signal snapshot should precede the exit snapshot");
	if (sig >= 0)
		cr_expect_gt(log.snaps[sig].e[TH_HEAP], 30000,
			     "the signal snapshot's heap (%llu) lacks the planted leaks",
			     (unsigned long long)log.snaps[sig].e[TH_HEAP]);
	th_log_free(&log);
	th_run_free(&r);
}

/* Per-function live bytes of grower at each snapshot, by replaying the log up to it. */
static void grower_consistent(const char *buf, const th_log_t *full, uint64_t ticks)
{
	const char *exe = th_build("examples/grower");
	th_syms_t syms;
	cr_assert_eq(th_syms_load(&syms, exe), 0);
	uint64_t prev_grow = 0, prev_t = 0;
	for (size_t s = 0; s < full->nsnaps; s++) {
		th_log_t p;
		th_log_parse(&p, buf, full->snaps[s].end);
		cr_assert_eq(p.nsnaps, s + 1);
		uint64_t grow = 0, pool = 0, churn = 0;
		for (size_t i = 0; i < p.nstacks; i++) {
			const char *fn = th_stack_func(&p, &p.stacks[i], &syms, exe);
			if (!fn || p.stacks[i].kind != 'h')
				continue;
			if (!strcmp(fn, "grow_steady"))
				grow += p.val[i].live_bytes;
			else if (!strcmp(fn, "pool_warm"))
				pool += p.val[i].live_bytes;
			else if (!strcmp(fn, "churn_tick"))
				churn += p.val[i].live_bytes;
		}
		const th_snap_t *sn = &full->snaps[s];
		cr_expect(grow % 65536 == 0 && grow >= prev_grow,
			  "snapshot %zu (%s): grow_steady live %llu after %llu", s, sn->reason,
			  (unsigned long long)grow, (unsigned long long)prev_grow);
		cr_expect(pool % 32768 == 0 && pool <= 80 * 4 * 32768,
			  "snapshot %zu: pool_warm live %llu", s, (unsigned long long)pool);
		cr_expect(churn <= 3100, "snapshot %zu: churn_tick live %llu", s,
			  (unsigned long long)churn);
		cr_expect_geq(sn->t_ns, prev_t, "snapshot %zu goes back in time", s);
		if (!strcmp(sn->reason, "exit")) {
			cr_expect_eq(grow, ticks * 65536, "grow_steady live at exit");
			cr_expect_eq(pool, 80 * 4 * 32768, "pool_warm live at exit");
			cr_expect_eq(churn, 0, "churn_tick live at exit");
		}
		prev_grow = grow;
		prev_t = sn->t_ns;
		th_log_free(&p);
	}
	th_syms_free(&syms);
}

/* The reader only ever uses complete lines, so a cut anywhere inside a line reads as the
 * cut just after the previous newline: parse once per line boundary and check every offset
 * against that result. */
static void every_cut(const char *buf, size_t len, const th_log_t *full)
{
	size_t bad = 0, lastnl = (size_t)-1;
	th_log_t p;
	memset(&p, 0, sizeof p);
	int rc = 0;
	for (size_t k = 0; k <= len; k++) {
		size_t nl = k && buf[k - 1] == '\n' ? k : lastnl;
		if (k == 0 || nl != lastnl) {
			th_log_free(&p);
			rc = th_log_parse(&p, buf, k);
			lastnl = nl;
		}
		size_t want = 0;
		while (want < full->nsnaps && full->snaps[want].end <= k)
			want++;
		int ok = !p.damaged && p.nsnaps == want &&
			 (!want || p.snaps[want - 1].digest == full->snaps[want - 1].digest);
		if (!ok && bad++ < 5)
			cr_expect(ok, "cut at %zu of %zu: %zu snapshots (want %zu)%s%s (rc %d)", k, len,
				  p.nsnaps, want, p.damaged ? ", damage: " : "",
				  p.damaged ? p.damage : "", rc);
	}
	th_log_free(&p);
	cr_expect_eq(bad, 0, "%zu cut offsets gave the wrong snapshots", bad);
}

/* Cut a real log at every offset: a prefix yields exactly the snapshots whose E line ends
 * before the cut, with the same per-stack state, and never reports damage. */
Test(integration_logs, truncated_at_every_offset)
{
	const char *argv[] = { th_build("examples/grower"), "150", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=100ms", "ALLOCGUARD_DEPTH=16", NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	char path[512];
	th_log_t full;
	load_only_log(&full, path, sizeof path);
	size_t len;
	char *buf = th_slurp(path, &len);
	cr_assert(buf && len > 0);
	cr_assert_eq(full.good, len, "the log does not end in a complete line (%zu of %zu bytes)",
		     full.good, len);
	cr_assert_geq(full.nsnaps, 2, "only %zu snapshots", full.nsnaps);
	cr_expect_geq(th_log_find(&full, "interval"), 0, "no interval snapshot");
	cr_expect_eq(th_log_find(&full, "exit"), (long)full.nsnaps - 1, "no final exit snapshot");
	grower_consistent(buf, &full, 150);

	every_cut(buf, len, &full);
	free(buf);
	th_log_free(&full);
	th_run_free(&r);
}

/* The same for an exit snapshot with R (lost) lines: the leaks example. */
Test(integration_logs, truncated_leaks_log_at_every_offset)
{
	const char *argv[] = { th_build("examples/leaks"), "usr2", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	char path[512];
	th_log_t full;
	load_only_log(&full, path, sizeof path);
	size_t len;
	char *buf = th_slurp(path, &len);
	cr_assert(buf && len > 0);
	cr_assert_eq(full.good, len, "the log does not end in a complete line");
	int lost = 0;
	for (size_t i = 0; i < full.nstacks; i++)
		lost |= full.val[i].lost_bytes > 0;
	cr_expect(lost, "no R lines in the exit snapshot");
	every_cut(buf, len, &full);

	/* The reader is not blind: an E line whose record count is off is damage, and the
	 * snapshots before it survive. */
	char *e = strstr(buf, "\nE ");
	cr_assert(e);
	char *eol = strchr(e + 1, '\n');
	cr_assert(eol);
	eol[-1] = eol[-1] == '9' ? '8' : '9';
	th_log_t bad;
	th_log_parse(&bad, buf, len);
	cr_expect(bad.damaged && bad.nsnaps == 0, "a wrong record count went unnoticed");
	th_log_free(&bad);
	free(buf);
	th_log_free(&full);
	th_run_free(&r);
}

/* The log holds aggregates per stack and snapshot, not one record per allocation. */
Test(integration_logs, size_independent_of_allocation_count)
{
	off_t size[2];
	const char *rounds[2] = { "churn=10", "churn=5000" };
	for (int i = 0; i < 2; i++) {
		char sub[600], pat[700];
		snprintf(sub, sizeof sub, "%s/%d", dir, i);
		mkdir(sub, 0700);
		snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s/ag.log", sub);
		const char *argv[] = { th_build("examples/leaks"), rounds[i], NULL };
		const char *env[] = { pat, "ALLOCGUARD_INTERVAL=0", NULL };
		th_run_t r;
		run_ok(&r, argv, env);
		th_run_free(&r);
		snprintf(pat, sizeof pat, "%s/ag.log", sub);
		struct stat st;
		cr_assert_eq(stat(pat, &st), 0, "no log %s", pat);
		size[i] = st.st_size;
	}
	cr_expect(size[1] < 2 * size[0] + 4096,
		  "log of %lld bytes for 320,000 churn allocations vs %lld bytes for 640",
		  (long long)size[1], (long long)size[0]);
}

Test(integration_logs, sampled_estimate_within_10pct)
{
	const char *argv[] = { th_build("examples/sampler"), NULL };
	const char *env[] = { logpat, "ALLOCGUARD_SAMPLE=512K", "ALLOCGUARD_INTERVAL=0", NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	long long live = th_kv(r.out, "live_bytes");
	cr_assert_gt(live, 0, "%s", r.out);
	th_log_t log;
	load_only_log(&log, NULL, 0);
	const char *s = th_log_opt(&log, "sample");
	cr_expect(s && !strcmp(s, "524288"), "O sample %s", s ? s : "absent");
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	uint64_t exact = log.snaps[ex].e[TH_HEAP], est = 0, est_total = 0;
	for (size_t i = 0; i < log.nstacks; i++) {
		if (log.stacks[i].kind != 'h')
			continue;
		est += log.val[i].live_bytes;
		est_total += log.val[i].total_bytes;
	}
	cr_expect((unsigned long long)live <= exact && exact - (unsigned long long)live < 4 * MiB,
		  "E heap %llu is not the program's own live count %lld (+ < 4 MiB of libc's)",
		  (unsigned long long)exact, live);
	double rel = ((double)est - (double)exact) / (double)exact;
	cr_expect(rel >= -0.10 && rel <= 0.10,
		  "sampled live estimate %.1f MiB vs exact %.1f MiB: off by %+.1f%%",
		  (double)est / MiB, (double)exact / MiB, rel * 100);
	long long allocated = th_kv(r.out, "allocated_bytes");
	double relt = ((double)est_total - (double)allocated) / (double)allocated;
	cr_expect(relt >= -0.10 && relt <= 0.10,
		  "sampled total estimate %.1f MiB vs %.1f MiB the program allocated: %+.1f%%",
		  (double)est_total / MiB, (double)allocated / MiB, relt * 100);
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_logs, log_mode_0600)
{
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { logpat, NULL };
	/* With no umask to hide it, the file must still be created 0600. */
	mode_t old = umask(0);
	th_run_t r;
	run_ok(&r, argv, env);
	umask(old);
	char path[512];
	th_log_t log;
	load_only_log(&log, path, sizeof path);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "%s has mode %o", path, st.st_mode & 07777);
	th_log_free(&log);
	th_run_free(&r);
}

/* The one regular file in d other than `except*`, which must be a log of pid. */
static void expect_new_log(const char *d, const char *except1, const char *except2, pid_t pid,
			   const char *err)
{
	char **v;
	size_t n = th_list(d, "", &v), found = 0;
	for (size_t i = 0; i < n; i++) {
		const char *b = strrchr(v[i], '/') + 1;
		if (!strcmp(b, except1) || (except2 && !strcmp(b, except2)))
			continue;
		found++;
		th_log_t log;
		cr_expect_eq(th_log_load(&log, v[i]), 0, "%s is not a log", v[i]);
		cr_expect_eq(log.pid, (uint64_t)pid, "%s: pid %llu", v[i], (unsigned long long)log.pid);
		cr_expect_geq(th_log_find(&log, "exit"), 0, "%s has no exit snapshot", v[i]);
		cr_expect(strstr(err, b), "stderr does not say the log went to %s:\n%s", b, err);
		th_log_free(&log);
	}
	cr_expect_eq(found, 1, "expected one new log file next to %s, found %zu", except1, found);
	th_strv_free(v, n);
}

Test(integration_logs, existing_file_not_overwritten)
{
	char path[600], pat[700];
	snprintf(path, sizeof path, "%s/fixed.log", dir);
	FILE *f = fopen(path, "w");
	fputs("precious\n", f);
	fclose(f);
	snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s", path);
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { pat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	char *c = th_slurp(path, NULL);
	cr_expect_str_eq(c, "precious\n", "the existing file was written to");
	free(c);
	expect_new_log(dir, "fixed.log", NULL, r.pid, r.err);
	th_run_free(&r);
}

Test(integration_logs, symlink_not_followed)
{
	char link[700], target[700], pat[800];
	snprintf(link, sizeof link, "%s/link.log", dir);
	snprintf(target, sizeof target, "%s/target", dir);
	cr_assert_eq(symlink(target, link), 0);
	snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s", link);
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { pat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	struct stat st;
	cr_expect_neq(stat(target, &st), 0, "a file was created through the dangling symlink");
	cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the symlink was replaced");
	expect_new_log(dir, "link.log", "target", r.pid, r.err);
	th_run_free(&r);

	/* A symlink to an existing file: the file stays as it was. */
	char sub[600];
	snprintf(sub, sizeof sub, "%s/b", dir);
	cr_assert_eq(mkdir(sub, 0700), 0);
	snprintf(link, sizeof link, "%s/link.log", sub);
	snprintf(target, sizeof target, "%s/target", sub);
	snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s", link);
	FILE *f = fopen(target, "w");
	fputs("victim\n", f);
	fclose(f);
	cr_assert_eq(symlink(target, link), 0);
	run_ok(&r, argv, env);
	char *c = th_slurp(target, NULL);
	cr_expect_str_eq(c, "victim\n", "the symlink's target was written to");
	free(c);
	expect_new_log(sub, "link.log", "target", r.pid, r.err);
	th_run_free(&r);
}

/* kill -9 in the middle of a run: the log still holds the complete periodic snapshots and
 * nothing else. */
Test(integration_logs, sigkill_leaves_usable_log)
{
	const char *argv[] = { th_build("examples/grower"), "250", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=100ms", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 1), 0);
	cr_assert(r.timed_out && r.signaled, "grower was not killed: %s", th_run_desc(&r));
	th_log_t log;
	load_only_log(&log, NULL, 0);
	cr_expect_geq(log.nsnaps, 1, "no complete snapshot after ~1 s with a 100 ms interval");
	cr_expect_lt(th_log_find(&log, "exit"), 0, "an exit snapshot after kill -9?");
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_logs, log_name_pattern)
{
	char pat[700];
	snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s/x.%%e.%%p.log", dir);
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { pat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	char path[700];
	snprintf(path, sizeof path, "%s/x.leaks.%d.log", dir, (int)r.pid);
	th_log_t log;
	cr_expect_eq(th_log_load(&log, path), 0, "no log at %s", path);
	cr_expect_eq(log.pid, (uint64_t)r.pid);
	th_log_free(&log);
	th_run_free(&r);
}

/* A program closes every descriptor above stderr and reuses the numbers for its own pipe
 * and files while threads allocate through a frame without unwind info (JIT-like, so
 * libunwind validates addresses): the guard must never read, write or close them (with
 * libunwind's validation pipe on those numbers this hung or lost the program's bytes), and
 * its log must neither land in those files nor be lost.  A race: repeated, more with
 * STRESS=1. */
Test(integration_logs, program_closes_all_descriptors)
{
	int runs = getenv("STRESS") ? 30 : 3;
	char want[2000] = "";
	for (int i = 0; i < 20; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want), "program line %d\n", i);
	for (int run = 0; run < runs; run++) {
		char data[600], data2[610];
		snprintf(data, sizeof data, "%s/data.txt", dir);
		snprintf(data2, sizeof data2, "%s.2", data);
		const char *argv[] = { th_build("examples/fdclose"), data, NULL };
		const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=100ms", NULL };
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
		cr_assert(r.exited && r.code == 0, "run %d: %s\nstdout:\n%s", run, th_run_desc(&r),
			  r.out);
		cr_expect_eq(th_kv(r.out, "pipe_ok"), 20, "run %d: the program's pipe bytes were "
			     "taken or reordered: %s", run, r.out);
		char *got = th_slurp(data, NULL), *got2 = th_slurp(data2, NULL);
		cr_expect_str_eq(got ? got : "(missing)", want, "run %d: the program's file", run);
		cr_expect_str_eq(got2 ? got2 : "(missing)", want, "run %d: its second file", run);
		free(got);
		free(got2);
		th_log_t log;
		load_only_log(&log, NULL, 0);
		cr_expect_geq(th_log_find(&log, "signal"), 0, "no signal snapshot after the close");
		cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1, "no final exit snapshot");
		th_log_free(&log);
		th_run_free(&r);
		char **v;
		size_t n = th_list(dir, "ag.", &v);
		for (size_t i = 0; i < n; i++)
			unlink(v[i]);
		th_strv_free(v, n);
	}
}

/* A fixed log name shared by many processes (ALLOCGUARD_LOG=/x/fixed.log): the 1000th
 * process used to find FIXED and FIXED.1 .. FIXED.999 taken and write no log at all. */
Test(integration_logs, fixed_log_name_always_finds_a_free_one)
{
	char fixed[700];
	snprintf(fixed, sizeof fixed, "%s/fixed.log", dir);
	for (int i = 0; i < 1000; i++) {
		char p[720];
		if (i)
			snprintf(p, sizeof p, "%s.%d", fixed, i);
		else
			snprintf(p, sizeof p, "%s", fixed);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		cr_assert_geq(fd, 0, "cannot create %s", p);
		close(fd);
	}
	char env_log[720];
	snprintf(env_log, sizeof env_log, "ALLOCGUARD_LOG=%s", fixed);
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { env_log, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	char **v;
	size_t n = th_list(dir, "fixed.log", &v), found = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(v[i], &st) != 0 || st.st_size == 0)
			continue;   /* one of ours */
		th_log_t log;
		if (th_log_load(&log, v[i]) == 0 && log.pid == (uint64_t)r.pid &&
		    th_log_find(&log, "exit") >= 0)
			found++;
		th_log_free(&log);
	}
	th_strv_free(v, n);
	cr_expect_eq(found, 1, "the process %d wrote no log next to 1000 taken names: %s",
		     (int)r.pid, r.err);
	th_run_free(&r);
}

/* A thread sweeping close() over every number the program does not own, while the program
 * opens, writes and closes its own file and allocates: the guard's brief descriptors (its
 * /proc reads, creating its log) used to be closed under it and the number handed to the
 * program's next open (a program write failed, or the log was lost with EBADF).  A race:
 * repeated, more with STRESS=1. */
Test(integration_logs, close_sweep_races_the_guards_descriptors)
{
	int runs = getenv("STRESS") ? 20 : 3;
	for (int run = 0; run < runs; run++) {
		char data[600];
		snprintf(data, sizeof data, "%s/race.txt", dir);
		unlink(data);
		const char *argv[] = { th_build("examples/fdrace"), data, "1000", NULL };
		const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=10ms", NULL };
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
		cr_assert(r.exited && r.code == 0, "run %d: %s", run, th_run_desc(&r));
		long long lines = th_kv(r.out, "lines"), failed = th_kv(r.out, "failed");
		cr_expect_gt(lines, 0, "run %d: %s", run, r.out);
		cr_expect_eq(failed, 0, "run %d: the program's own descriptor was closed under it: %s",
			     run, r.out);
		char *got = th_slurp(data, NULL);
		cr_expect_eq(got ? (long long)th_nlines(got) : -1, lines, "run %d: lines in the file", run);
		free(got);
		cr_expect_eq(th_count_lines(r.err, "allocguard:"), 0, "run %d: %s", run, r.err);
		th_log_t log;
		load_only_log(&log, NULL, 0);
		cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1, "run %d: no exit snapshot",
			     run);
		th_log_free(&log);
		th_run_free(&r);
		char **v;
		size_t n = th_list(dir, "ag.", &v);
		for (size_t i = 0; i < n; i++)
			unlink(v[i]);
		th_strv_free(v, n);
	}
}
