/* test_node_sites.c: `allocguard run -- node app.js` names JS functions with no node flag
 * (analyzer/node.c sets NODE_OPTIONS): the leaking request handler of
 * examples/node/leaky_server.js leads both the human growth report and report's
 * peak_sites; node's side files (/tmp/perf-PID.map, isolate logs) are not left behind
 * unless the user asked for the perf map; a user's own NODE_OPTIONS is kept. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
	dir = strdup(th_tmpdir("node"));
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(node_sites, .init = setup, .fini = teardown, .timeout = 300);

/* allocguard run [flags] -- CMD... inside dir; the run's result in *r. */
static void run_in_dir(th_run_t *r, const char *flags, const char *cmd, const char *const *env)
{
	char sh[4096];
	snprintf(sh, sizeof sh, "cd '%s' && exec '%s' run %s --out '%s/ag.%%p.log' -- %s", dir,
		 th_build("allocguard"), flags, dir, cmd);
	const char *argv[] = { "sh", "-c", sh, NULL };
	cr_assert_eq(th_run(r, argv, env, 0, 240), 0);
	cr_assert(r->exited && r->code == 0, "%s: %s\nstderr:\n%s", sh, th_run_desc(r), r->err);
}

static char *only_log(void)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	char *log = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]);
		if (l > 4 && strcmp(v[i] + l - 4, ".log") == 0) {
			cr_assert_null(log, "more than one log in %s", dir);
			log = strdup(v[i]);
		}
	}
	th_strv_free(v, n);
	cr_assert_not_null(log, "no log in %s", dir);
	return log;
}

static char *analyze(const char *what, const char *log, const char *flag)
{
	th_run_t r;
	const char *argv[] = { th_build("allocguard"), what, log, flag, NULL };
	cr_assert_eq(th_run(&r, argv, NULL, 0, 240), 0);
	cr_assert(r.exited && r.code == 0, "%s: %s\n%s", what, th_run_desc(&r), r.err);
	char *out = strdup(r.out);
	th_run_free(&r);
	return out;
}

Test(node_sites, leaking_handler_named_first)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	char cmd[1024];
	/* enough requests and snapshots for a trend however fast the machine runs them */
	snprintf(cmd, sizeof cmd, "node '%s' 600", th_root("examples/node/leaky_server.js"));
	th_run_t r;
	run_in_dir(&r, "--interval 50ms", cmd, NULL);
	cr_assert(strstr(r.out, "requests=600"), "%s", r.out);
	cr_expect(strstr(r.err, "live at the peak, by site"), "the summary leads with the peak:\n%s",
		  r.err);
	th_run_free(&r);
	char *log = only_log();
	th_log_t tl;
	cr_assert_eq(th_log_load(&tl, log), 0);

	/* side files: the used part of the perf map beside the log, nothing in /tmp or here */
	char p[1200];
	snprintf(p, sizeof p, "/tmp/perf-%llu.map", (unsigned long long)tl.pid);
	cr_expect_neq(access(p, F_OK), 0, "%s was left behind", p);
	snprintf(p, sizeof p, "%s.jsmap", log);
	cr_expect_eq(access(p, R_OK), 0, "%s is missing", p);
	char **v;
	size_t n = th_list(dir, "isolate-", &v);
	cr_expect_eq(n, 0, "node's isolate log was left in %s", dir);
	th_strv_free(v, n);

	/* growth: the first site row names the handler */
	char *g = analyze("growth", log, "--no-color");
	const char *head = strstr(g, "SLOPE");
	cr_assert_not_null(head, "%s", g);
	const char *row = strchr(head, '\n');
	cr_assert_not_null(row);
	char first[512];
	snprintf(first, sizeof first, "%.*s", (int)strcspn(row + 1, "\n"), row + 1);
	cr_expect(strstr(first, "handleRequest (leaky_server.js:"),
		  "growth's first site is not the handler:\n%s", g);

	/* report: peak_sites first is the handler's site (JSON keeps every frame, the
	 * allocator's included: the handler is among them, not first) */
	char *j = analyze("report", log, "--json");
	char *ps = strstr(j, "\"peak_sites\": [");
	cr_assert_not_null(ps, "%s", j);
	char *b1 = strstr(ps, "\"bytes\": ");
	cr_assert_not_null(b1, "empty peak_sites");
	char *b2 = strstr(b1 + 1, "\"bytes\": ");
	if (b2)
		*b2 = '\0';   /* the first entry only */
	cr_expect(strstr(b1, "handleRequest"), "report's first peak site is not the handler:\n%s",
		  b1);
	/* the handler holds 300 x 64 KiB at the peak */
	unsigned long long bytes = strtoull(b1 + 9, NULL, 10);
	cr_expect_geq(bytes, 300ull * 64 * 1024, "first peak site holds %llu bytes", bytes);
	free(g);
	free(j);
	th_log_free(&tl);
	free(log);
}

Test(node_sites, user_node_options_kept)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	const char *env[] = { "NODE_OPTIONS=--max-old-space-size=300", NULL };
	th_run_t r;
	run_in_dir(&r, "", "node -e 'console.log(\"opts=\" + process.env.NODE_OPTIONS)'", env);
	const char *o = th_line_from(r.out, "opts=");
	cr_assert_not_null(o, "%s", r.out);
	cr_expect(strstr(o, "--max-old-space-size=300"), "the user's option was dropped: %s", o);
	cr_expect(strstr(o, "--perf-basic-prof"), "no perf map asked for: %s", o);
	cr_expect(strstr(o, "--interpreted-frames-native-stack"), "%s", o);
	th_run_free(&r);
}

Test(node_sites, user_perf_map_left_alone)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	const char *env[] = { "NODE_OPTIONS=--perf-basic-prof", NULL };
	th_run_t r;
	run_in_dir(&r, "", "node -e 'console.log(\"pid=\" + process.pid)'", env);
	long long pid = th_kv(r.out, "pid");
	cr_assert_gt(pid, 0, "%s", r.out);
	char p[64];
	snprintf(p, sizeof p, "/tmp/perf-%lld.map", pid);
	cr_expect_eq(access(p, F_OK), 0, "the user asked for %s: it must stay", p);
	unlink(p);
	th_run_free(&r);
}
