/* test_integration_gzlog.c: compressed logs of real runs (issue 13).  A gzip log cut at
 * any byte reads to exactly the snapshots its inflatable text holds (the text rule, checked
 * with zlib and the test-local reader apart from the analyzer's); a corrupt byte is damage
 * that keeps the snapshots before it; fork children and exec'd images write their own
 * readable gzip logs; ALLOCGUARD_LOG_COMPRESS=0 writes text; and the analyzer says the
 * same about a compressed log as about its text. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "model.h"

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("gzlog"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_gzlog, .init = setup, .fini = teardown, .timeout = 240);

static void run_ok(th_run_t *r, const char *const *argv, const char *const *env)
{
	cr_assert_eq(th_run(r, argv, env, 1, 60), 0, "cannot start %s", argv[0]);
	cr_assert(r->exited && r->code == 0, "%s: %s\nstderr:\n%s", argv[0], th_run_desc(r),
		  r->err);
}

/* The path of the one log in d (static). */
static const char *only_log(const char *d)
{
	static char path[4096];
	char **v;
	size_t n = th_list(d, "ag.", &v);
	cr_assert_eq(n, 1, "expected exactly one log in %s, found %zu", d, n);
	snprintf(path, sizeof path, "%s", v[0]);
	th_strv_free(v, n);
	return path;
}

static int is_gz(const char *raw, size_t n)
{
	return n >= 2 && (unsigned char)raw[0] == 0x1f && (unsigned char)raw[1] == 0x8b;
}

/* A grower run's compressed log cut at every byte (or a stride, when large): the analyzer
 * reads the prefix to exactly the snapshots complete in the text that zlib inflates from
 * it, as the test-local reader reads that text; at every flush point the text ends in a
 * whole line, and there is a flush point for every snapshot but the last (finished). */
Test(integration_gzlog, cut_at_every_byte_reads_the_complete_snapshots)
{
	const char *argv[] = { th_build("examples/grower"), "40", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=20ms", "ALLOCGUARD_DEPTH=16", NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	size_t len, tlen;
	char *raw = th_slurp_raw(only_log(dir), &len);
	cr_assert(raw && is_gz(raw, len), "the log is not gzip");
	int st;
	char *text = th_gunzip(raw, len, &tlen, &st);
	cr_assert_eq(st, 0, "the stream of a log that ended with exit is not finished");
	th_log_t full;
	cr_assert_eq(th_log_parse(&full, text, tlen), 0);
	cr_assert_not(full.damaged, "%s", full.damage);
	cr_assert_geq(full.nsnaps, 3, "only %zu snapshots", full.nsnaps);
	cr_expect_eq(th_log_find(&full, "exit"), (long)full.nsnaps - 1);

	size_t stride = len < 40000 ? 1 : len / 20000 + 1, bad = 0, flushes = 0;
	for (size_t k = 0; k <= len; k += (k + stride > len && k < len) ? len - k : stride) {
		size_t m;
		char *pre = th_gunzip(raw, k, &m, &st);
		size_t want = 0;
		while (want < full.nsnaps && full.snaps[want].end <= m)
			want++;
		th_log_t p;
		th_log_parse(&p, pre, m);
		ag_log_t *log = NULL;
		char msg[300];
		int rc = log_parse("cut.log", raw, k, &log, msg, sizeof msg);
		size_t got = rc ? 0 : log->nsnaps;
		int ok = got == want && p.nsnaps == want && (rc == 0) == (want > 0) &&
			 !strchr(rc ? msg : log->damage, '\n');
		if (ok && want) {
			const ag_snap_t *s = &log->snaps[want - 1];
			ok = s->seq == full.snaps[want - 1].seq &&
			     s->tracked == full.snaps[want - 1].e[TH_TRACKED] &&
			     s->peak_tracked == full.snaps[want - 1].e[TH_PEAK_TRACKED];
		}
		if (k >= 4 && !memcmp(raw + k - 4, "\0\0\xff\xff", 4)) {
			flushes++;
			ok = ok && (m == 0 || pre[m - 1] == '\n');
		}
		if (!ok && bad++ < 5)
			cr_expect(ok, "cut at %zu of %zu (text %zu): analyzer %zu, text rule %zu, "
				  "want %zu (%s)", k, len, m, got, p.nsnaps, want,
				  rc ? msg : log->damage);
		th_log_free(&p);
		log_free(log);
		free(pre);
		if (k == len)
			break;
	}
	cr_expect_eq(bad, 0, "%zu cut offsets read wrongly", bad);
	if (stride == 1)   /* the exit snapshot is finished, not flushed */
		cr_expect_geq(flushes, full.nsnaps - 1, "%zu flush points for %zu snapshots",
			      flushes, full.nsnaps);
	th_log_free(&full);
	free(text);
	free(raw);
	th_run_free(&r);
}

/* A byte changed mid-stream: damage, reported on one line; the snapshots whose text was
 * inflated before that byte are kept as they were; the CLI reports and does not crash. */
Test(integration_gzlog, corrupt_byte_is_damage_and_keeps_earlier_snapshots)
{
	const char *argv[] = { th_build("examples/grower"), "60", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=20ms", NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	size_t len, tlen;
	char *raw = th_slurp_raw(only_log(dir), &len);
	cr_assert(raw && is_gz(raw, len) && len > 400);
	char *text = th_gunzip(raw, len, &tlen, NULL);
	ag_log_t *full = NULL;
	char msg[300];
	cr_assert_eq(log_parse("full.log", raw, len, &full, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(full->damage_line, 0, "%s", full->damage);
	char *copy = malloc(len);
	for (int i = 0; i < 12; i++) {
		/* past the gzip header (its time stamp is not checked by anyone) */
		size_t at = 20 + (len - 21) * (size_t)i / 11;
		memcpy(copy, raw, len);
		copy[at] ^= 0x55;
		size_t m;
		char *pre = th_gunzip(raw, at, &m, NULL);
		th_log_t p;
		th_log_parse(&p, pre, m);
		ag_log_t *log = NULL;
		int rc = log_parse("bad.log", copy, len, &log, msg, sizeof msg);
		if (rc) {
			cr_expect_eq(rc, EINVAL);
			cr_expect_eq(p.nsnaps, 0, "byte %zu: refused, but %zu snapshots came before it",
				     at, p.nsnaps);
			cr_expect(!strchr(msg, '\n') && strstr(msg, "bad.log:"), "%s", msg);
		} else {
			cr_expect_neq(log->damage_line, 0, "byte %zu of %zu changed: no damage", at,
				      len);
			cr_expect(!strchr(log->damage, '\n'), "%s", log->damage);
			cr_expect_geq(log->nsnaps, p.nsnaps, "byte %zu: lost snapshots before it", at);
			for (size_t s = 0; s < p.nsnaps && s < log->nsnaps; s++)
				cr_expect(log->snaps[s].tracked == full->snaps[s].tracked &&
					  log->snaps[s].t_ns == full->snaps[s].t_ns,
					  "byte %zu: snapshot %zu changed", at, s);
		}
		th_log_free(&p);
		log_free(log);
		free(pre);
	}
	/* the CLI on one of them: a report and one damage line */
	size_t at = len / 2;
	memcpy(copy, raw, len);
	copy[at] ^= 0x55;
	char bad[600];
	snprintf(bad, sizeof bad, "%s/bad.log", dir);
	FILE *f = fopen(bad, "w");
	cr_assert(f && fwrite(copy, 1, len, f) == len && fclose(f) == 0);
	const char *rep[] = { th_build("allocguard"), "report", bad, NULL };
	th_run_t c;
	cr_assert_eq(th_run(&c, rep, NULL, 0, 60), 0);
	cr_expect(c.exited && c.code == 0 && strstr(c.out, "snapshots"), "%s\n%s", th_run_desc(&c),
		  c.err);
	/* one damage line; a flipped byte inside deflated literals can also change a digit
	 * that still parses (the stream's check comes at its end), which the reader notes */
	size_t lines = th_count_lines(c.err, "allocguard: "), noted = 0;
	for (const char *p = c.err; (p = strstr(p, " disagreed (first: ")); p++)
		noted++;
	cr_expect_eq(lines - noted, 1, "%s", c.err);
	th_run_free(&c);
	free(copy);
	log_free(full);
	free(text);
	free(raw);
	th_run_free(&r);
}

/* Every log in dir: gzip, a finished stream (each image ended with exit or exec), and
 * read without damage by the analyzer.  Returns how many. */
static size_t all_gz_logs_whole(void)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	for (size_t i = 0; i < n; i++) {
		size_t len, tlen;
		int st;
		char *raw = th_slurp_raw(v[i], &len);
		cr_assert(raw);
		cr_expect(is_gz(raw, len), "%s is not gzip", v[i]);
		char *text = th_gunzip(raw, len, &tlen, &st);
		cr_expect_eq(st, 0, "%s: the gzip stream is %s", v[i], st == 1 ? "cut" : "damaged");
		ag_log_t *log = NULL;
		char msg[300];
		cr_expect_eq(log_load(v[i], &log, msg, sizeof msg), 0, "%s", msg);
		if (log)
			cr_expect_eq(log->damage_line, 0, "%s: %s", v[i], log->damage);
		log_free(log);
		free(text);
		free(raw);
	}
	th_strv_free(v, n);
	return n;
}

/* Fork children (with threads busy in the parent) and exec'd images: each writes its own
 * gzip log from a fresh stream, never the parent's half-written deflate state. */
Test(integration_gzlog, fork_children_and_exec_images_write_whole_gzip_logs)
{
	const char *argv[] = { th_build("examples/forker"), "2", "2", "6", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	cr_expect(strstr(r.out, "children=12 normal=12"), "%s", r.out);
	cr_expect_geq(all_gz_logs_whole(), 5, "the parent and its children");
	th_run_free(&r);

	/* one pid, two images: the second finds the first's (gzip) log its own and takes the
	 * next name without a message */
	th_rmtree(dir);
	free(dir);
	dir = strdup(th_tmpdir("gzlog"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	const char *sh[] = { "sh", "-c", "sleep 0.3; exec sh -c 'exit 0'", NULL };
	const char *env2[] = { logpat, "ALLOCGUARD_INTERVAL=20ms", NULL };
	run_ok(&r, sh, env2);
	cr_expect_eq(all_gz_logs_whole(), 2, "the shell and the image it exec'd");
	cr_expect_null(strstr(r.err, "exists"), "%s", r.err);
	th_run_free(&r);
}

/* ALLOCGUARD_LOG_COMPRESS=0: plain text, as before. */
Test(integration_gzlog, compress_0_writes_plain_text)
{
	const char *argv[] = { th_build("examples/leaks"), NULL };
	const char *env[] = { logpat, "ALLOCGUARD_LOG_COMPRESS=0", NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	size_t len;
	char *raw = th_slurp_raw(only_log(dir), &len);
	cr_assert(raw);
	cr_expect(len > 8 && !memcmp(raw, "AGLOG ", 6), "%.20s", raw);
	cr_expect(raw[len - 1] == '\n' && strlen(raw) == len, "not text");
	free(raw);
	th_run_free(&r);
}

/* The analyzer says the same about a compressed log as about its text: every report in
 * JSON, on the log and on the text zlib inflates from it. */
Test(integration_gzlog, reports_on_compressed_and_text_logs_agree)
{
	const char *argv[] = { th_build("examples/leaks"), "usr2", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	run_ok(&r, argv, env);
	char gzpath[600], txtpath[600];
	snprintf(gzpath, sizeof gzpath, "%s", only_log(dir));
	size_t len, tlen;
	char *raw = th_slurp_raw(gzpath, &len);
	cr_assert(raw && is_gz(raw, len));
	char *text = th_gunzip(raw, len, &tlen, NULL);
	/* same length of name, so the outputs differ in nothing but it */
	snprintf(txtpath, sizeof txtpath, "%s", gzpath);
	txtpath[strlen(txtpath) - 5] = 'T';
	FILE *f = fopen(txtpath, "w");
	cr_assert(f && fwrite(text, 1, tlen, f) == tlen && fclose(f) == 0);
	const char *cmds[] = { "report", "leaks", "growth" };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		const char *a[] = { th_build("allocguard"), cmds[i], "--json", gzpath, NULL };
		const char *b[] = { th_build("allocguard"), cmds[i], "--json", txtpath, NULL };
		th_run_t x, y;
		cr_assert_eq(th_run(&x, a, NULL, 0, 60), 0);
		cr_assert_eq(th_run(&y, b, NULL, 0, 60), 0);
		cr_expect_eq(x.code, y.code, "%s", cmds[i]);
		cr_expect_gt(x.outlen, 10, "%s: %s", cmds[i], x.err);
		for (char *p = y.out; (p = strstr(p, txtpath)); p += strlen(txtpath))
			memcpy(p, gzpath, strlen(gzpath));
		cr_expect_str_eq(x.out, y.out, "%s --json differs", cmds[i]);
		th_run_free(&x);
		th_run_free(&y);
	}
	free(text);
	free(raw);
	th_run_free(&r);
}
