/* test_export.c: `allocguard export` read back by the tools users have: `go tool pprof`
 * (top function per sample type, -diff_base), protobuf-c (the profile's structure),
 * ms_print (peak equals report's), speedscope in headless Chromium (collapsed stacks), and
 * a script that recomputes every figure of `report` from the JSON export.  The logs come
 * from examples/leak_loop (handle_request leaks 16 KiB a tick) under `allocguard run`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"
#include "profile.pb-c.h"
#include "test_export.h"

#define TICKS "120"
#define LEAK_BYTES (120 * 16384)

static char *leak_log(const char *dir)
{
	const char *opts[] = { "--interval=40ms", NULL };
	const char *prog[] = { th_build("examples/leak_loop"), TICKS, NULL };
	return xt_log(dir, "ll", opts, prog);
}

static void export_to(const char *log, const char *format, const char *snapshot,
		      const char *path)
{
	const char *args[12] = { "export", "--format", format, "-o", path };
	size_t n = 5;
	if (snapshot) {
		args[n++] = "--snapshot";
		args[n++] = snapshot;
	}
	args[n++] = log;
	args[n] = NULL;
	free(xt_ag(args));
}

/* The function on the first row of `go tool pprof -top` output, and its flat figure. */
static void top_row(const char *out, char *fn, size_t fnlen, char *flat, size_t flatlen)
{
	const char *h = strstr(out, "flat  flat%");
	cr_assert_not_null(h, "no table in pprof output:\n%s", out);
	const char *row = strchr(h, '\n');
	cr_assert_not_null(row);
	row++;
	const char *end = strchr(row, '\n');
	size_t n = end ? (size_t)(end - row) : strlen(row);
	char line[1024];
	snprintf(line, sizeof line, "%.*s", (int)(n < 1000 ? n : 1000), row);
	char *last = strrchr(line, ' ');
	snprintf(fn, fnlen, "%.200s", last ? last + 1 : line);
	snprintf(flat, flatlen, "%.40s", line + strspn(line, " "));
}

static int have_go(void)
{
	if (th_have_cmd("go"))
		return 1;
	cr_skip_test("go (Debian golang-go) is not installed: go tool pprof not checked");
	return 0;
}

Test(export_pprof, go_tool_pprof_shows_the_leak_first_for_every_sample_type, .timeout = 300)
{
	if (!have_go())
		return;
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("pprof"));
	char *log = leak_log(dir);
	char pb[400];
	snprintf(pb, sizeof pb, "%s/heap.pb.gz", dir);
	export_to(log, "pprof", NULL, pb);
	static const char *const types[] = { "inuse_space", "inuse_objects", "alloc_space",
					     "alloc_objects" };
	for (size_t i = 0; i < 4; i++) {
		char si[64];
		snprintf(si, sizeof si, "-sample_index=%s", types[i]);
		const char *argv[] = { "go", "tool", "pprof", "-top", "-symbolize=none", si, pb,
				       NULL };
		int code;
		char *out = xt_out(argv, &code);
		cr_assert_eq(code, 0, "go tool pprof %s failed", types[i]);
		char fn[256], flat[64];
		top_row(out, fn, sizeof fn, flat, sizeof flat);
		cr_expect_str_eq(fn, "handle_request", "%s: first row is %s:\n%s", types[i], fn, out);
		cr_expect(strstr(out, "Type: ") && strstr(out, types[i]), "%s: type not shown:\n%s",
			  types[i], out);
		free(out);
	}
	/* without -sample_index, the default is inuse_space */
	const char *argv[] = { "go", "tool", "pprof", "-top", "-symbolize=none", pb, NULL };
	int code;
	char *out = xt_out(argv, &code);
	cr_expect(strstr(out, "Type: inuse_space"), "default sample type:\n%s", out);
	free(out);
	free(log);
	th_rmtree(dir);
}

Test(export_pprof, diff_base_of_two_snapshots_shows_the_growth, .timeout = 300)
{
	if (!have_go())
		return;
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("pprofdiff"));
	char *log = leak_log(dir);
	char a[400], b[400];
	snprintf(a, sizeof a, "%s/a.pb.gz", dir);
	snprintf(b, sizeof b, "%s/b.pb.gz", dir);
	export_to(log, "pprof", "1", a);
	export_to(log, "pprof", NULL, b);
	char base[500];
	snprintf(base, sizeof base, "-diff_base=%s", a);
	const char *argv[] = { "go", "tool", "pprof", "-top", "-symbolize=none", "-unit=B", base,
			       b, NULL };
	int code;
	char *out = xt_out(argv, &code);
	cr_assert_eq(code, 0);
	char fn[256], flat[64];
	top_row(out, fn, sizeof fn, flat, sizeof flat);
	cr_expect_str_eq(fn, "handle_request", "first row of the diff is %s:\n%s", fn, out);
	long long grew = strtoll(flat, NULL, 10);
	/* snapshot 1 is at about 80 ms of a 600+ ms loop: most of the leak came after it */
	cr_expect(grew > LEAK_BYTES / 2 && grew < LEAK_BYTES, "growth %lld B of %d:\n%s", grew,
		  LEAK_BYTES, out);
	free(out);
	free(log);
	th_rmtree(dir);
}

static Perftools__Profiles__Profile *read_profile(const char *path)
{
	gzFile g = gzopen(path, "rb");
	cr_assert_not_null(g, "%s", path);
	size_t cap = 1 << 20, len = 0;
	unsigned char *buf = malloc(cap);
	int n;
	while ((n = gzread(g, buf + len, (unsigned)(cap - len))) > 0) {
		len += (size_t)n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	gzclose(g);
	Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, len, buf);
	free(buf);
	cr_assert_not_null(p, "%s is not a profile.proto", path);
	return p;
}

Test(export_pprof, profile_structure_matches_the_log, .timeout = 120)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("pprofpb"));
	char *log = leak_log(dir);
	char pb[400];
	snprintf(pb, sizeof pb, "%s/heap.pb.gz", dir);
	export_to(log, "pprof", NULL, pb);
	Perftools__Profiles__Profile *p = read_profile(pb);
	char **s = p->string_table;
	cr_assert_str_eq(s[0], "");
	static const char *const types[] = { "alloc_objects", "alloc_space", "inuse_objects",
					     "inuse_space" };
	cr_assert_eq(p->n_sample_type, 4);
	for (size_t i = 0; i < 4; i++)
		cr_expect_str_eq(s[p->sample_type[i]->type], types[i]);
	cr_expect_str_eq(s[p->default_sample_type], "inuse_space");
	cr_expect_str_eq(s[p->period_type->type], "space");
	cr_expect_str_eq(s[p->period_type->unit], "bytes");

	th_log_t tl;
	cr_assert_eq(th_log_load(&tl, log), 0);
	/* inuse_space summed over the samples is the log's live bytes at the last snapshot */
	unsigned long long live = 0, sum = 0;
	for (size_t i = 0; i < tl.nstacks; i++)
		live += tl.val[i].live_bytes;
	for (size_t i = 0; i < p->n_sample; i++)
		sum += (unsigned long long)p->sample[i]->value[3];
	cr_expect_eq(sum, live, "inuse_space %llu, live bytes in the log %llu", sum, live);
	/* the executable's mapping carries its build-id; handle_request has file and line */
	int exe_mapped = 0, fn_found = 0;
	for (size_t i = 0; i < p->n_mapping; i++) {
		const char *f = s[p->mapping[i]->filename];
		if (strstr(f, "leak_loop")) {
			exe_mapped = 1;
			cr_expect_eq(strlen(s[p->mapping[i]->build_id]), 40, "build-id '%s'",
				     s[p->mapping[i]->build_id]);
		}
	}
	for (size_t i = 0; i < p->n_function; i++)
		if (strcmp(s[p->function[i]->name], "handle_request") == 0) {
			fn_found = 1;
			cr_expect(strstr(s[p->function[i]->filename], "leak_loop.c"), "file '%s'",
				  s[p->function[i]->filename]);
		}
	for (size_t i = 0; i < p->n_location; i++) {
		cr_expect_geq(p->location[i]->n_line, 1, "location %zu has no line", i);
		for (size_t k = 0; k < p->location[i]->n_line; k++)
			cr_expect(p->location[i]->line[k]->function_id >= 1 &&
				  p->location[i]->line[k]->function_id <= p->n_function);
	}
	cr_expect(exe_mapped, "no mapping for the executable");
	cr_expect(fn_found, "no function handle_request");
	perftools__profiles__profile__free_unpacked(p, NULL);
	th_log_free(&tl);
	free(log);
	th_rmtree(dir);
}

/* "1,234,567" -> 1234567 */
static unsigned long long uncomma(const char *s)
{
	unsigned long long v = 0;
	for (; *s && (*s == ',' || (*s >= '0' && *s <= '9')); s++)
		if (*s != ',')
			v = v * 10 + (unsigned long long)(*s - '0');
	return v;
}

static unsigned long long report_peak(const char *log)
{
	const char *args[] = { "report", "--json", log, NULL };
	char *out = xt_ag(args);
	const char *p = strstr(out, "\"peak\": {");
	cr_assert_not_null(p, "%s", out);
	p = strstr(p, "\"bytes\": ");
	cr_assert_not_null(p);
	unsigned long long v = strtoull(p + 9, NULL, 10);
	free(out);
	return v;
}

/* ms_print renders the export; the total of its peak snapshot is report's peak. */
static void check_massif(const char *dir, const char *log, const char *must_name)
{
	char m[400];
	snprintf(m, sizeof m, "%s/massif.out", dir);
	export_to(log, "massif", NULL, m);
	const char *argv[] = { "ms_print", m, NULL };
	int code;
	char *out = xt_out(argv, &code);
	cr_assert_eq(code, 0, "ms_print failed");
	const char *d = strstr(out, "Detailed snapshots: [");
	cr_assert_not_null(d, "%s", out);
	const char *pk = strstr(d, " (peak)");
	cr_assert(pk && pk < strchr(d, '\n'), "no peak snapshot:\n%s", out);
	const char *q = pk;
	while (q > d && q[-1] >= '0' && q[-1] <= '9')
		q--;
	int peak_n = atoi(q);
	/* its row in the snapshot table: "  N   time   total ..." */
	unsigned long long total = 0;
	int found = 0;
	for (const char *l = d; (l = strchr(l, '\n'));) {
		l++;
		int n;
		char t[64], tot[64];
		if (sscanf(l, " %d %63s %63s", &n, t, tot) == 3 && n == peak_n && t[0] >= '0' &&
		    t[0] <= '9' && tot[0] >= '0' && tot[0] <= '9') {
			total = uncomma(tot);
			found = 1;
			break;
		}
	}
	cr_assert(found, "no row for snapshot %d:\n%s", peak_n, out);
	unsigned long long want = report_peak(log);
	cr_expect_eq(total, want, "ms_print's peak %llu, report's %llu", total, want);
	if (must_name)
		cr_expect(strstr(out, must_name), "the detailed tree does not name %s:\n%s", must_name,
			  out);
	free(out);
}

Test(export_massif, ms_print_renders_it_and_the_peak_equals_reports, .timeout = 120)
{
	if (!th_have_cmd("ms_print"))
		cr_skip_test("ms_print (Debian valgrind) is not installed");
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("massif"));
	char *log = leak_log(dir);
	check_massif(dir, log, "handle_request (leak_loop.c:");
	free(log);
	th_rmtree(dir);
}

/* A capped climb peaks between snapshots: the export adds a peak snapshot of its own. */
Test(export_massif, a_peak_between_snapshots_keeps_reports_figure, .timeout = 200)
{
	if (!th_have_cmd("ms_print"))
		cr_skip_test("ms_print (Debian valgrind) is not installed");
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("massifcap"));
	char *log = xt_cap_log(dir);
	check_massif(dir, log, NULL);
	free(log);
	th_rmtree(dir);
}

Test(export_collapsed, root_first_lines_that_sum_to_the_live_bytes, .timeout = 120)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("collapsed"));
	char *log = leak_log(dir);
	const char *args[] = { "export", "--format", "collapsed", log, NULL };
	char *out = xt_ag(args);
	th_log_t tl;
	cr_assert_eq(th_log_load(&tl, log), 0);
	unsigned long long live = 0, sum = 0;
	for (size_t i = 0; i < tl.nstacks; i++)
		live += tl.val[i].live_bytes;
	int leak_line = 0;
	for (char *l = out; l && *l;) {
		char *nl = strchr(l, '\n');
		cr_assert_not_null(nl, "unterminated line");
		*nl = '\0';
		char *sp = strrchr(l, ' ');
		cr_assert_not_null(sp, "no value on '%s'", l);
		sum += strtoull(sp + 1, NULL, 10);
		*sp = '\0';
		const char *leaf = strrchr(l, ';');
		leaf = leaf ? leaf + 1 : l;
		if (strcmp(leaf, "handle_request") == 0) {
			leak_line = 1;
			cr_expect_eq(strtoull(sp + 1, NULL, 10), LEAK_BYTES);
			/* root first: main comes before the leaf, _start (or the libc entry) first */
			cr_expect(strstr(l, ";main;handle_request"), "'%s'", l);
			cr_expect(strncmp(l, "_start;", 7) == 0 || strncmp(l, "__libc", 6) == 0,
				  "root first: '%s'", l);
		}
		l = nl + 1;
	}
	cr_expect(leak_line, "no line ends in handle_request");
	cr_expect_eq(sum, live, "collapsed sums to %llu, the log's live bytes are %llu", sum, live);
	th_log_free(&tl);
	free(out);
	free(log);
	th_rmtree(dir);
}

Test(export_collapsed, loads_in_speedscope_in_headless_chromium, .timeout = 400)
{
	const char *ss = th_build("speedscope/node_modules/speedscope/dist/release/index.html");
	if (access(ss, R_OK) != 0)
		cr_skip_test("speedscope is not set up in %s (make test installs it from npm, best "
			     "effort): not checked", th_build("speedscope"));
	if (!th_have_cmd("chromium"))
		cr_skip_test("chromium is not installed: speedscope not checked");
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("speedscope"));
	char *log = leak_log(dir);
	char web[400], prof[500], link[500], out[500];
	snprintf(web, sizeof web, "%s/web", dir);
	cr_assert_eq(mkdir(web, 0700), 0);
	snprintf(prof, sizeof prof, "%s/leak.collapsed", web);
	export_to(log, "collapsed", NULL, prof);
	snprintf(link, sizeof link, "%s/ss", web);
	char release[4096];
	cr_assert_not_null(realpath(th_build("speedscope/node_modules/speedscope/dist/release"),
				    release));
	cr_assert_eq(symlink(release, link), 0);
	snprintf(out, sizeof out, "%s/speedscope", dir);
	char *dom = NULL;
	/* the sandwich view lists the functions as DOM text (the flame graph is a canvas); its
	 * rows are drawn after the layout settles, which on a loaded machine can take longer
	 * than the first budget: a longer one is tried before judging */
	int rc = 0;
	for (unsigned budget = 4000; budget <= 16000; budget *= 2) {
		free(dom);
		dom = NULL;
		rc = xt_browser_budget(web, "ss/index.html#profileURL=/leak.collapsed&view=sandwich",
				       out, &dom, budget);
		if (rc || (strstr(dom, "handle_request") && strstr(dom, "load_config")))
			break;
	}
	if (rc == 77)
		cr_skip_test("chromium or python3 missing: speedscope not checked");
	cr_assert_eq(rc, 0, "speedscope did not render");
	cr_expect(strstr(dom, "leak.collapsed - speedscope"), "profile not loaded:\n%.3000s", dom);
	cr_expect(strstr(dom, "handle_request"), "handle_request not listed:\n%.3000s", dom);
	cr_expect(strstr(dom, "load_config"), "load_config not listed:\n%.3000s", dom);
	cr_log_info("speedscope screenshot: %s.png (AG_KEEP=1 keeps it)", out);
	free(dom);
	free(log);
	th_rmtree(dir);
}

Test(export_json, every_figure_of_report_is_recomputed_from_it, .timeout = 200)
{
	if (!th_have_cmd("python3"))
		cr_skip_test("python3 is not installed: the JSON round trip is not checked");
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("json"));
	/* one leaking run and one that crossed warn, critical and the cap */
	char *logs[2];
	logs[0] = leak_log(dir);
	logs[1] = xt_cap_log(dir);
	for (size_t i = 0; i < 2; i++) {
		char x[400], r[400];
		snprintf(x, sizeof x, "%s/x%zu.json", dir, i);
		snprintf(r, sizeof r, "%s/r%zu.json", dir, i);
		export_to(logs[i], "json", NULL, x);
		const char *args[] = { "report", "--json", logs[i], NULL };
		char *rep = xt_ag(args);
		FILE *f = fopen(r, "w");
		fputs(rep, f);
		fclose(f);
		free(rep);
		const char *argv[] = { "python3", th_root("tests/export_roundtrip.py"), x, r, NULL };
		int code;
		char *out = xt_out(argv, &code);
		cr_expect_eq(code, 0, "%s: report differs from the export:\n%s", logs[i], out);
		cr_log_info("%s", out);
		free(out);
		free(logs[i]);
	}
	th_rmtree(dir);
}

/* A fixture whose peak (80000) fell between snapshots: massif gets a peak snapshot of its
 * own with report's figure, and its tree says what no site accounts for. */
Test(export_massif, fixture_peak_between_snapshots, .timeout = 60)
{
	if (!th_have_cmd("ms_print"))
		cr_skip_test("ms_print (Debian valgrind) is not installed");
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("massiffix"));
	const char *log = th_root("tests/data/leaks_basic.log");
	cr_assert_eq(report_peak(log), 80000);
	check_massif(dir, log, "not attributed to a call site");
	th_rmtree(dir);
}

/* JS functions named from node's perf map keep their names in every export. */
Test(export_pprof, jit_frames_are_named, .timeout = 60)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("jit"));
	char map[400], log[400], pb[400];
	snprintf(map, sizeof map, "%s/perf-1.map", dir);
	snprintf(log, sizeof log, "%s/node.log", dir);
	snprintf(pb, sizeof pb, "%s/node.pb.gz", dir);
	FILE *f = fopen(map, "w");
	cr_assert_not_null(f);
	fputs("3f0000001000 40 LazyCompile:*handleRequest /srv/app.js:12\n"
	      "3f0000002000 80 LazyCompile:*main /srv/app.js:40\n", f);
	fclose(f);
	f = fopen(log, "w");
	cr_assert_not_null(f);
	fprintf(f, "AGLOG 1\nP 1 0 1700000000000000000 /usr/bin/node\nA node\nO sample 0\n"
		"J %s\nS 1 h 3f0000001010 3f0000002010\nB 0 1000000 exit\nL 1 4096 4 4096 4\n"
		"E 0 4096 4096 0 0 4096 4096 0 1\n", map);
	fclose(f);
	const char *args[] = { "export", "--format", "collapsed", log, NULL };
	char *out = xt_ag(args);
	/* the perf map's names are read as function, script and line */
	cr_expect_str_eq(out, "main;handleRequest 4096\n");
	free(out);
	export_to(log, "pprof", NULL, pb);
	Perftools__Profiles__Profile *p = read_profile(pb);
	cr_assert_eq(p->n_sample, 1);
	cr_assert_eq(p->sample[0]->n_location_id, 2);
	const Perftools__Profiles__Location *leaf = NULL;
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == p->sample[0]->location_id[0])
			leaf = p->location[i];
	cr_assert_not_null(leaf);
	const Perftools__Profiles__Function *fn = NULL;
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == leaf->line[0]->function_id)
			fn = p->function[i];
	cr_assert_not_null(fn);
	cr_expect_str_eq(p->string_table[fn->name], "handleRequest");
	cr_expect_str_eq(p->string_table[fn->filename], "/srv/app.js");
	cr_expect_eq(leaf->line[0]->line, 12);
	perftools__profiles__profile__free_unpacked(p, NULL);
	th_rmtree(dir);
}

/* --snapshot picks what pprof shows: N, peak (the fullest snapshot), or a clear error. */
Test(export_pprof, snapshot_choice, .timeout = 60)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", th_tmpdir("snapchoice"));
	const char *log = th_root("tests/data/leaks_basic.log");
	char pb[400];
	snprintf(pb, sizeof pb, "%s/p.pb.gz", dir);
	/* "peak" is the fullest snapshot (2, exit: 74752 tracked); "1" is snapshot 1 */
	static const struct {
		const char *spec, *comment;
		unsigned long long inuse;
	} c[] = {
		{ "peak", "snapshot 2 (exit)", 8192 + 1024 + 65536 },
		{ "1", "snapshot 1 (interval)", 4096 + 1024 + 512 + 65536 },
	};
	for (size_t k = 0; k < 2; k++) {
		export_to(log, "pprof", c[k].spec, pb);
		Perftools__Profiles__Profile *p = read_profile(pb);
		unsigned long long inuse = 0;
		for (size_t i = 0; i < p->n_sample; i++)
			inuse += (unsigned long long)p->sample[i]->value[3];
		cr_expect_eq(inuse, c[k].inuse, "--snapshot %s: %llu", c[k].spec, inuse);
		cr_expect(strstr(p->string_table[p->comment[0]], c[k].comment), "--snapshot %s: %s",
			  c[k].spec, p->string_table[p->comment[0]]);
		perftools__profiles__profile__free_unpacked(p, NULL);
	}
	const char *argv[] = { th_build("allocguard"), "export", "--format", "pprof", "-o", pb,
			       "--snapshot", "7", log, NULL };
	int code;
	free(xt_out(argv, &code));
	cr_expect_eq(code, 2, "a snapshot the log does not have is an error");
	const char *argv2[] = { th_build("allocguard"), "export", "--format", "svg", log, NULL };
	free(xt_out(argv2, &code));
	cr_expect_eq(code, 2, "an unknown format is an error");
	th_rmtree(dir);
}
