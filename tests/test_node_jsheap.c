/* test_node_jsheap.c: node's JS heap by JS function (preload/jsheap.c, nodejs/,
 * analyzer/jsheap.c), run on real node: the leaking function leads growth and the peak,
 * a worker's leak is seen, a garbage maker is not growing, V8's heap pages become JS sites
 * and "V8 young generation" (semi-space pages) and "V8 heap (unattributed)"; every way node starts (node -e, ESM, child processes,
 * npx) and every degradation (ALLOCGUARD_NODE=0, a missing loader, the permission model,
 * the inspector path, the user's own heap profiler) keeps node running. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char *dir;

static void setup(void)
{
	dir = strdup(th_tmpdir("jsheap"));
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(node_jsheap, .init = setup, .fini = teardown, .timeout = 400);

static void need_node(void)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	if (access(th_build("allocguard-node.node"), R_OK) != 0)
		cr_skip_test("no node companion built (node headers missing)");
}

/* sh -c CMD in dir, with env added; must exit 0. */
static void sh_in_dir(th_run_t *r, const char *cmd, const char *const *env, int preload)
{
	char sh[8192];
	snprintf(sh, sizeof sh, "cd '%s' && %s", dir, cmd);
	const char *argv[] = { "sh", "-c", sh, NULL };
	cr_assert_eq(th_run(r, argv, env, preload, 360), 0);
	cr_assert(r->exited && r->code == 0, "%s: %s\nstdout:\n%s\nstderr:\n%s", sh,
		  th_run_desc(r), r->out, r->err);
}

static void run_node(th_run_t *r, const char *flags, const char *args, const char *const *env)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "exec '%s' run %s --out '%s/ag.%%p.log' -- node %s",
		 th_build("allocguard"), flags, dir, args);
	sh_in_dir(r, cmd, env, 0);
}

/* The logs in dir, sorted; caller frees with th_strv_free. */
static size_t logs(char ***v)
{
	char **all;
	size_t n = th_list(dir, "ag.", &all), k = 0;
	*v = calloc(n + 1, sizeof **v);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(all[i]);
		if (l > 4 && strcmp(all[i] + l - 4, ".log") == 0)
			(*v)[k++] = strdup(all[i]);
	}
	th_strv_free(all, n);
	return k;
}

static int check(const char *log, const char *what, const char *name, char **why)
{
	th_run_t r;
	const char *argv[] = { "python3", th_root("tests/node_jsheap.py"), th_build("allocguard"),
			       log, what, name, NULL };
	cr_assert_eq(th_run(&r, argv, NULL, 0, 240), 0);
	int ok = r.exited && r.code == 0;
	*why = strdup(r.out[0] ? r.out : r.err);
	th_run_free(&r);
	return ok;
}

#define EXPECT_CHECK(log, what, name)                                                    \
	do {                                                                             \
		char *why_;                                                              \
		cr_expect(check(log, what, name, &why_), "%s", why_);                    \
		free(why_);                                                              \
	} while (0)

/* Whether a log holds JS heap stacks whose JS function is name (its F line). */
static int log_names_js(const char *log, const char *name)
{
	size_t len;
	char *t = th_slurp(log, &len);
	int found = 0;
	for (char *p = t; p && !found && (p = strstr(p, "\nF ")); p++) {
		char fn[256];
		if (sscanf(p, "\nF %*s %*s %*s %255s", fn) == 1 && strcmp(fn, name) == 0)
			found = 1;
	}
	free(t);
	return found;
}

static const char *first_row(const char *text, const char *after)
{
	static char row[512];
	const char *h = strstr(text, after);
	h = h ? strchr(h, '\n') : NULL;
	if (h && strncmp(h + 1, "    BYTES", 9) == 0)
		h = strchr(h + 1, '\n');
	snprintf(row, sizeof row, "%.*s", h ? (int)strcspn(h + 1, "\n") : 0, h ? h + 1 : "");
	return row;
}

/* A node frame shown as an address only ("node+0x..." not inside a named frame's parens). */
static int bare_node_frame(const char *text)
{
	for (const char *p = text; (p = strstr(p, "node+0x")); p++)
		if (p == text || p[-1] != '(')
			return 1;
	return 0;
}

static char *human(const char *what, const char *log)
{
	th_run_t r;
	const char *argv[] = { th_build("allocguard"), what, "--no-color", log, NULL };
	cr_assert_eq(th_run(&r, argv, NULL, 0, 240), 0);
	cr_assert(r.exited && r.code == 0, "%s: %s", what, r.err);
	char *out = strdup(r.out);
	th_run_free(&r);
	return out;
}

/* examples/node/SCRIPT ARG at a 200 ms interval, printing expect; its one log in (*v)[0]. */
static void run_example(const char *script, const char *arg, const char *expect, char ***v)
{
	th_run_t r;
	char args[1024], rel[256];
	snprintf(rel, sizeof rel, "examples/node/%s", script);
	snprintf(args, sizeof args, "'%s' %s", th_root(rel), arg);
	run_node(&r, "--interval 200ms", args, NULL);
	cr_expect(strstr(r.out, expect), "%s", r.out);
	th_run_free(&r);
	cr_assert_eq(logs(v), 1, "one node process, one log");
}

Test(node_jsheap, leaking_function_and_worker_named)
{
	need_node();
	char **v;
	run_example("js_leak.js", "500", "main: 500000 visitors kept", &v);
	EXPECT_CHECK(v[0], "steepest", "recordVisit");
	EXPECT_CHECK(v[0], "growing", "hoardSessions");
	EXPECT_CHECK(v[0], "not-growing", "churnGarbage");
	EXPECT_CHECK(v[0], "first-peak", "recordVisit");
	EXPECT_CHECK(v[0], "named-top5", NULL);
	cr_expect(log_names_js(v[0], "hoardSessions"), "the worker's JS heap is not in the log");
	char *g = human("growth", v[0]), *rep = human("report", v[0]);
	cr_expect(strstr(first_row(g, "SLOPE"), "recordVisit (js_leak.js:"),
		  "growth's first row: %s", first_row(g, "SLOPE"));
	cr_expect(strstr(first_row(rep, "live at the peak, by site:"), "recordVisit (js_leak.js:"),
		  "report's first peak row: %s", first_row(rep, "live at the peak, by site:"));
	cr_expect(strstr(rep, "V8 heap (unattributed)") || strstr(rep, "V8 young generation"),
		  "V8's pages that no sample explains are not named:\n%s", rep);
	cr_expect(!bare_node_frame(rep), "a bare node address in the report:\n%s", rep);
	free(g);
	free(rep);
	th_strv_free(v, 1);
}

/* A one-line leak in FILE (written into dir), run as ARGS; its function is named. */
static void leak_named(const char *file, const char *src, const char *args, const char *fn)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(src, f);
	fclose(f);
	th_run_t r;
	run_node(&r, "--interval 100ms", args, NULL);
	th_run_free(&r);
	char **v;
	size_t n = logs(&v);
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= log_names_js(v[i], fn);
	cr_expect(found, "%s: no JS heap under %s in %zu logs", file, fn, n);
	th_strv_free(v, n);
}

#define LEAK_BODY "const kept = []; function %s() { for (let i = 0; i < 300000; i++) " \
		  "kept.push({ i, s: String(i) + i }); } %s();"

Test(node_jsheap, esm_entry)
{
	need_node();
	char src[512];
	snprintf(src, sizeof src, LEAK_BODY " export default kept.length;\n", "esmHoard", "esmHoard");
	leak_named("leak.mjs", src, "leak.mjs", "esmHoard");
}

Test(node_jsheap, node_eval)
{
	need_node();
	leak_named("unused.js", "", "-e \"const kept = []; function evalHoard() { for (let i = 0; "
		   "i < 300000; i++) kept.push({ i, s: 'v' + i }); } evalHoard();\"", "evalHoard");
}

Test(node_jsheap, child_node_process)
{
	need_node();
	char src[512];
	snprintf(src, sizeof src, LEAK_BODY "\n", "childHoard", "childHoard");
	leak_named("child.js", src, "-e \"require('child_process').execFileSync(process.execPath, "
		   "['child.js'], { stdio: 'inherit' })\"", "childHoard");
}

Test(node_jsheap, npx_local_bin)
{
	need_node();
	if (!th_have_cmd("npx"))
		cr_skip_test("npx is not installed");
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "mkdir -p node_modules/hoarder node_modules/.bin && "
		 "printf '{\"name\":\"hoarder\",\"version\":\"1.0.0\",\"bin\":{\"hoarder\":\"cli.js\"}}' "
		 "> node_modules/hoarder/package.json && "
		 "printf '#!/usr/bin/env node\\n" LEAK_BODY "\\n' > node_modules/hoarder/cli.js && "
		 "chmod +x node_modules/hoarder/cli.js && "
		 "ln -sf ../hoarder/cli.js node_modules/.bin/hoarder && "
		 "printf '{\"name\":\"app\",\"version\":\"1.0.0\"}' > package.json && "
		 "exec '%s' run --interval 100ms --out '%s/ag.%%p.log' -- npx --offline --no hoarder",
		 "npxHoard", "npxHoard", th_build("allocguard"), dir);
	th_run_t r;
	sh_in_dir(&r, cmd, NULL, 0);
	th_run_free(&r);
	char **v;
	size_t n = logs(&v);
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= log_names_js(v[i], "npxHoard");
	cr_expect(found, "npx: no JS heap under npxHoard in %zu logs", n);
	th_strv_free(v, n);
}

/* Degradations: node runs as it would, with at most one line, and no JS heap. */
static void degraded(const char *flags, const char *const *env, const char *node_args,
		     const char *line, int want_js)
{
	th_run_t r;
	char args[1024];
	snprintf(args, sizeof args, "%s -e \"const k = []; function degHoard() { for (let i = 0; "
		 "i < 200000; i++) k.push({ i }); } degHoard(); console.log('ran=' + k.length)\"",
		 node_args);
	run_node(&r, flags, args, env);
	cr_expect(strstr(r.out, "ran=200000"), "%s", r.out);
	if (line)
		cr_expect(strstr(r.err, line), "no line saying '%s':\n%s", line, r.err);
	cr_expect(th_count_lines(r.err, "allocguard: node:") <= 1, "%s", r.err);
	th_run_free(&r);
	char **v;
	size_t n = logs(&v);
	cr_assert_geq(n, 1);
	cr_expect_eq(log_names_js(v[0], "degHoard"), want_js, "JS heap %s expected",
		     want_js ? "" : "not");
	th_strv_free(v, n);
}

Test(node_jsheap, off_by_setting)
{
	need_node();
	const char *env[] = { "ALLOCGUARD_NODE=0", NULL };
	degraded("", env, "", NULL, 0);
}

Test(node_jsheap, permission_model)
{
	need_node();
	degraded("", NULL, "--experimental-permission --allow-fs-read='*'",
		 "allocguard: node: the permission model is on", 0);
}

Test(node_jsheap, inspector_path)
{
	need_node();
	const char *env[] = { "ALLOCGUARD_NODE=2", NULL };
	degraded("", env, "", "read through the inspector", 1);
}

Test(node_jsheap, user_heap_profiler_kept)
{
	need_node();
	char flags[1200];
	snprintf(flags, sizeof flags, "--heap-prof --heap-prof-dir='%s/prof'", dir);
	degraded("", NULL, flags, NULL, 1);
	char **v;
	char p[1200];
	snprintf(p, sizeof p, "%s/prof", dir);
	size_t n = th_list(p, "Heap", &v);
	cr_expect_eq(n, 1, "the user's --heap-prof profile was not written");
	th_strv_free(v, n);
}

Test(node_jsheap, missing_loader)
{
	need_node();
	/* the library alone in a directory: no allocguard-node.js beside it */
	char lib[1200], cmd[4096];
	snprintf(lib, sizeof lib, "%s/lib", dir);
	snprintf(cmd, sizeof cmd, "mkdir -p lib && cp '%s' lib/ && LD_PRELOAD='%s/liballocguard.so' "
		 "ALLOCGUARD_LOG='%s/ag.%%p.log' node -e \"console.log('ran=' + 1)\"",
		 th_build("liballocguard.so"), lib, dir);
	th_run_t r;
	sh_in_dir(&r, cmd, NULL, 0);
	cr_expect(strstr(r.out, "ran=1"), "%s", r.out);
	cr_expect(strstr(r.err, "allocguard: node: no loader at"), "%s", r.err);
	cr_expect_eq(th_count_lines(r.err, "allocguard: node:"), 1, "%s", r.err);
	th_run_free(&r);
}

Test(node_jsheap, bare_preload_attributes)
{
	need_node();
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "ALLOCGUARD_LOG='%s/ag.%%p.log' node -e \"const k = []; "
		 "function bareHoard() { for (let i = 0; i < 200000; i++) k.push({ i }); } "
		 "bareHoard();\"", dir);
	th_run_t r;
	sh_in_dir(&r, cmd, NULL, 1);
	th_run_free(&r);
	char **v;
	size_t n = logs(&v);
	cr_assert_eq(n, 1);
	cr_expect(log_names_js(v[0], "bareHoard"), "no JS heap under a bare LD_PRELOAD");
	th_strv_free(v, n);
}

Test(node_jsheap, run_into_closed_pipe_cleans_up)
{
	need_node();
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s' run --out '%s/ag.%%p.log' -- node -e \"for (let i = 0; "
		 "i < 50; i++) console.log('line ' + i); console.log('pid=' + process.pid)\" "
		 "2>&1 | head -1", th_build("allocguard"), dir);
	th_run_t r;
	sh_in_dir(&r, cmd, NULL, 0);
	th_run_free(&r);
	char **v;
	size_t n = logs(&v);
	cr_assert_eq(n, 1);
	th_log_t tl;
	cr_assert_eq(th_log_load(&tl, v[0]), 0);
	char p[1200];
	snprintf(p, sizeof p, "/tmp/perf-%llu.map", (unsigned long long)tl.pid);
	cr_expect_neq(access(p, F_OK), 0, "%s was left behind", p);
	snprintf(p, sizeof p, "%s.jsmap", v[0]);
	cr_expect_eq(access(p, R_OK), 0, "%s is missing", p);
	char **iso;
	size_t ni = th_list(dir, "isolate-", &iso);
	cr_expect_eq(ni, 0, "node's isolate log was left behind");
	th_strv_free(iso, ni);
	th_log_free(&tl);
	th_strv_free(v, n);
}

Test(node_jsheap, pressure_service_sheds_under_cap)
{
	need_node();
	th_run_t r;
	char args[1024];
	snprintf(args, sizeof args, "'%s' 300", th_root("examples/node/pressure_shed.js"));
	run_node(&r, "--cap 128M", args, NULL);
	cr_expect(strstr(r.out, "guard=yes"), "%s", r.out);
	cr_expect_geq(th_kv(r.out, "sheds"), 1, "no pressure event made it shed:\n%s", r.out);
	cr_expect(strstr(r.out, "shed to "), "%s", r.out);
	cr_expect(!strstr(r.err, "refused"), "an allocation was refused:\n%s", r.err);
	const char *ev = th_line_from(r.err, "cap events:");
	cr_expect(!ev || strstr(ev, " 0 cap"), "the cap was hit: %s", ev);
	th_run_free(&r);
	/* the same script bare: no process.allocguard, its own limit */
	const char *argv[] = { "node", th_root("examples/node/pressure_shed.js"), "100", NULL };
	cr_assert_eq(th_run(&r, argv, NULL, 0, 240), 0);
	cr_expect(r.exited && r.code == 0 && strstr(r.out, "guard=no"), "%s%s", r.out, r.err);
	th_run_free(&r);
}

Test(node_jsheap, process_allocguard_api)
{
	need_node();
	th_run_t r;
	run_node(&r, "--cap 1G", "-e \"const a = process.allocguard; const u = a.usage(); "
		 "console.log('level=' + u.level + ' capok=' + (u.cap === 1073741824 ? 1 : 0) + "
		 "' tracked=' + (u.tracked > 0 ? 1 : 0) + ' snap=' + (a.snapshot('mark') ? 1 : 0) + "
		 "' lost=' + a.leakCheck().lostBytes)\"", NULL);
	cr_expect(strstr(r.out, "level=ok capok=1 tracked=1 snap=1 lost="), "%s", r.out);
	th_run_free(&r);
	const char *argv[] = { "node", "-e", "console.log('defined=' + (process.allocguard ? 1 : 0))",
			       NULL };
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_expect(strstr(r.out, "defined=0"), "process.allocguard bare: %s", r.out);
	th_run_free(&r);
}

Test(node_jsheap, router_service_leaking_handler_first)
{
	need_node();
	char **v;
	run_example("router_leak.js", "20000", "served 20000 requests", &v);
	char *g = human("growth", v[0]);
	int by_site = strstr(g, "more with a growing path") || strstr(g, " growing from ");
	free(g);
	if (!by_site) {
		th_strv_free(v, 1);
		cr_skip_test("the analyzer keeps one row per call path (needs one site per function)");
	}
	EXPECT_CHECK(v[0], "first-peak", "hoardSessionHandler");
	EXPECT_CHECK(v[0], "steepest", "hoardSessionHandler");
	th_strv_free(v, 1);
}
