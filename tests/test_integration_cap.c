/* test_integration_cap.c: the cap against real programs (issue 2): every allocation path is
 * refused with ENOMEM within one allocation of the cap and the program carries on; the
 * abort and warn actions; edge-triggered warn/critical/cap events on stderr and in the log;
 * C++ operator new throwing bad_alloc; node's Buffer failing as a catchable RangeError. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define MiB (1024ull * 1024)
#define CAP (64 * MiB)
/* What the program holds besides its steps (stdio buffers, libc) stays below this. */
#define SLACK (1 * MiB)

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("cap"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

/* The only log in dir, parsed. */
static void load_only_log(th_log_t *log)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_assert_eq(n, 1, "expected exactly one log in %s, found %zu", dir, n);
	cr_assert_eq(th_log_load(log, v[0]), 0, "log %s has no usable header: %s", v[0],
		     log->damage);
	cr_expect_not(log->damaged, "log %s is damaged: %s", v[0], log->damage);
	th_strv_free(v, n);
}

/* What kind of event an `allocguard:` stderr line reports, from its first word. */
static const char *line_kind(const char *line)
{
	if (strncmp(line, "allocguard: ", 12))
		return NULL;
	const char *w = line + 12;
	if (!strncasecmp(w, "warning", 7) || !strncasecmp(w, "warn:", 5) || !strncasecmp(w, "warn ", 5))
		return "warn";
	if (!strncasecmp(w, "critical", 8))
		return "critical";
	if (!strncasecmp(w, "cap", 3))
		return "cap";
	return "other";
}

static size_t count_kind(const char *err, const char *kind)
{
	size_t n = 0;
	for (const char *l = err; l && *l;) {
		const char *k = line_kind(l);
		if (k && !strcmp(k, kind))
			n++;
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

/* cap_hit writes nothing to stderr: every line there is the guard's, and must say so. */
static void stderr_all_ours(const char *err)
{
	size_t n = th_nlines(err), ours = th_count_lines(err, "allocguard: ");
	cr_expect_eq(ours, n, "%zu of %zu stderr lines do not start with `allocguard: `:\n%s", n - ours,
		     n, err);
}

static void refused_within_one_step(const char *path)
{
	const char *argv[] = { th_build("examples/cap_hit"), path, "1M", "1G", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "cap_hit %s: %s\nstdout: %s", path, th_run_desc(&r), r.out);
	cr_assert(strstr(r.out, "refused=yes errno=ENOMEM"), "cap_hit %s was not refused with ENOMEM: %s",
		  path, r.out);
	cr_expect(strstr(r.out, "after=ok"), "cap_hit %s broken after the refusal: %s", path, r.out);
	long long got = th_kv(r.out, "got");
	cr_expect(got >= 0 && (unsigned long long)got <= CAP,
		  "cap_hit %s got %lld bytes, over the %llu cap", path, got, CAP);
	cr_expect((unsigned long long)got + MiB + SLACK > CAP,
		  "cap_hit %s refused at %lld bytes: more than one 1 MiB step (+%llu slack) below the "
		  "%llu cap", path, got, SLACK, CAP);
	cr_expect_geq(count_kind(r.err, "cap"), 1, "no `allocguard: cap...` line on stderr: %s", r.err);
	stderr_all_ours(r.err);

	th_log_t log;
	load_only_log(&log);
	/* After a refusal near the cap, small allocations (the program's own error report) may
	 * use the recovery headroom of cap/16 (README, "The cap"); never more. */
	if (log.nsnaps)
		cr_expect_leq(log.snaps[log.nsnaps - 1].e[TH_PEAK_TRACKED], CAP + CAP / 16,
			      "cap_hit %s: peak tracked %llu over the cap + headroom in fail mode", path,
			      (unsigned long long)log.snaps[log.nsnaps - 1].e[TH_PEAK_TRACKED]);
	cr_expect_geq(th_log_events(&log, "cap"), 1, "no V cap event in the log");
	cr_expect_geq(th_log_find(&log, "exit"), 0, "no exit snapshot in the log");
	th_log_free(&log);
	th_run_free(&r);
}

TestSuite(integration_cap, .init = setup, .fini = teardown);

Test(integration_cap, malloc) { refused_within_one_step("malloc"); }
Test(integration_cap, calloc) { refused_within_one_step("calloc"); }
Test(integration_cap, realloc) { refused_within_one_step("realloc"); }
Test(integration_cap, reallocarray) { refused_within_one_step("reallocarray"); }
Test(integration_cap, aligned_alloc) { refused_within_one_step("aligned_alloc"); }
Test(integration_cap, posix_memalign) { refused_within_one_step("posix_memalign"); }
Test(integration_cap, memalign) { refused_within_one_step("memalign"); }
Test(integration_cap, valloc) { refused_within_one_step("valloc"); }
Test(integration_cap, mmap_anonymous) { refused_within_one_step("mmap"); }
Test(integration_cap, mmap_fixed_over_reservation) { refused_within_one_step("mmap_fixed"); }
Test(integration_cap, mprotect_of_reservation) { refused_within_one_step("mprotect"); }

/* In fail mode tracked memory never passes the cap: not with the refused request, and not
 * with what the program allocates after a refusal (here stdout's buffer, at the first
 * printf after the climb). */
Test(integration_cap, peak_never_passes_the_cap)
{
	const char *argv[] = { th_build("examples/cap_hit"), "malloc", "1M", "1G", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\nstdout: %s", th_run_desc(&r), r.out);
	th_log_t log;
	load_only_log(&log);
	cr_assert_gt(log.nsnaps, 0);
	uint64_t peak = log.snaps[log.nsnaps - 1].e[TH_PEAK_TRACKED];
	/* the refused request is never counted; only the program's small allocations after
	 * the refusal (its own report) may use the recovery headroom (README, "The cap") */
	cr_expect_leq(peak, CAP + 64 * 1024, "peak tracked %llu bytes = cap + %lld in fail mode",
		      (unsigned long long)peak, (long long)(peak - CAP));
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_cap, cxx_new_throws_bad_alloc)
{
	const char *argv[] = { th_build("examples/cxx_news"), "badalloc", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "cxx_news badalloc: %s\nstdout: %s", th_run_desc(&r), r.out);
	cr_expect(strstr(r.out, "bad_alloc=yes"), "%s", r.out);
	cr_expect(strstr(r.out, "after=ok"), "%s", r.out);
	long long got = th_kv(r.out, "got");
	cr_expect(got >= 0 && (unsigned long long)got <= CAP && (unsigned long long)got + MiB + SLACK > CAP,
		  "operator new refused at %lld bytes, not within one 1 MiB step of the 64 MiB cap", got);
	th_run_free(&r);
}

Test(integration_cap, abort_action_writes_final_snapshot)
{
	const char *argv[] = { th_build("examples/cap_hit"), "malloc", "1M", "1G", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", "ALLOCGUARD_ON_CAP=abort", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.signaled && r.sig == SIGABRT, "expected death by SIGABRT: %s\nstdout: %s",
		  th_run_desc(&r), r.out);
	cr_expect_not(strstr(r.out, "cycle=1"), "the program went on past the cap: %s", r.out);
	th_log_t log;
	load_only_log(&log);
	cr_assert_gt(log.nsnaps, 0, "no complete snapshot in the log");
	const th_snap_t *last = &log.snaps[log.nsnaps - 1];
	cr_expect_str_eq(last->reason, "abort", "the last snapshot's reason is %s", last->reason);
	cr_expect(last->e[TH_TRACKED] <= CAP && last->e[TH_TRACKED] + MiB + SLACK > CAP,
		  "final snapshot tracked %llu bytes, not within a step of the cap",
		  (unsigned long long)last->e[TH_TRACKED]);
	/* The request that hit the cap never happened: the peak cannot include it. */
	cr_expect_leq(last->e[TH_PEAK_TRACKED], CAP, "peak tracked %llu is over the cap: the "
		      "refused request was counted", (unsigned long long)last->e[TH_PEAK_TRACKED]);
	cr_expect_geq(th_log_events(&log, "cap"), 1, "no V cap event in the log");
	th_log_free(&log);
	th_run_free(&r);
}

/* on_cap=warn: nothing refused; two climbs to 100 MiB past a 64 MiB cap, with everything
 * given back between them, make exactly two warn, critical and cap events each. */
static void warn_two_crossings(const char *path)
{
	const char *argv[] = { th_build("examples/cap_hit"), path, "1M", "100M", "2", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", "ALLOCGUARD_ON_CAP=warn", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "cap_hit %s (warn): %s\nstdout: %s", path, th_run_desc(&r),
		  r.out);
	cr_expect_eq(th_count_lines(r.out, "cycle="), 2, "%s", r.out);
	cr_expect_null(strstr(r.out, "refused=yes"), "on_cap=warn refused an allocation: %s", r.out);
	stderr_all_ours(r.err);
	static const char *const kinds[] = { "warn", "critical", "cap" };
	th_log_t log;
	load_only_log(&log);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(count_kind(r.err, kinds[i]), 2,
			     "%s: expected 2 `allocguard: %s` lines on stderr (one per crossing), got "
			     "%zu:\n%s", path, kinds[i], count_kind(r.err, kinds[i]), r.err);
		cr_expect_eq(th_log_events(&log, kinds[i]), 2,
			     "%s: expected 2 V %s lines in the log, got %zu", path, kinds[i],
			     th_log_events(&log, kinds[i]));
	}
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_cap, warn_action_edge_triggered_malloc) { warn_two_crossings("malloc"); }
Test(integration_cap, warn_action_edge_triggered_mmap) { warn_two_crossings("mmap"); }
Test(integration_cap, warn_action_edge_triggered_mprotect) { warn_two_crossings("mprotect"); }

Test(integration_cap, node_buffer_range_error, .timeout = 180)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	const char *argv[] = { "node", th_root("examples/node_buffers.js"), NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=200M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_assert(r.exited && r.code == 0, "node under a 200M cap: %s\nstdout: %s", th_run_desc(&r),
		  r.out);
	cr_expect(strstr(r.out, "error=RangeError"), "no RangeError caught: %s", r.out);
	long long got = th_kv(r.out, "got_mib");
	cr_expect(got >= 64 && got < 200, "node got %lld MiB of Buffers under a 200 MiB cap", got);

	th_log_t log;
	load_only_log(&log);
	cr_assert_gt(log.nsnaps, 0, "no snapshot in node's log");
	uint64_t peak = log.snaps[log.nsnaps - 1].e[TH_PEAK_TRACKED];
	/* V8's GC after the refusal may use the recovery headroom (cap/16) */
	cr_expect(peak <= 200 * MiB + 200 * MiB / 16 && peak + 16 * MiB > 200 * MiB,
		  "node's peak tracked %llu bytes: the Buffers should have stopped near the 200 MiB cap",
		  (unsigned long long)peak);
	th_log_free(&log);
	th_run_free(&r);
}

/* One request far over the cap is refused while usage is low; then the program climbs to
 * the cap in small steps.  That second approach must be refused at the cap too (not past
 * it), and reported: it is a new crossing, not the first refusal again. */
Test(integration_cap, big_refusal_then_climb)
{
	const char *argv[] = { th_build("examples/cap_hit"), "malloc", "64K", "1G", "1", "1G", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s\nstdout: %s", th_run_desc(&r), r.out);
	cr_expect(strstr(r.out, "first=refused errno=ENOMEM"), "%s", r.out);
	cr_expect(strstr(r.out, "refused=yes errno=ENOMEM"), "%s", r.out);
	long long got = th_kv(r.out, "got");
	cr_expect(got >= 0 && (unsigned long long)got <= CAP && (unsigned long long)got + 64 * 1024 + SLACK > CAP,
		  "after a refused 1 GiB request, the 64 KiB climb got %lld bytes (%.2f MiB) under a "
		  "64 MiB cap", got, (double)got / MiB);
	th_log_t log;
	load_only_log(&log);
	cr_expect_geq(th_log_events(&log, "cap"), 2, "%zu V cap events: the refusal at the cap "
		      "after the climb was not recorded", th_log_events(&log, "cap"));
	cr_expect_geq(count_kind(r.err, "cap"), 2, "one `allocguard: cap` line for two different "
		      "refusals:\n%s", r.err);
	th_log_free(&log);
	th_run_free(&r);
}

/* examples/map_escape in one mode under a 64 MiB cap (issue 9, cap escapes): it asks for
 * 256 MiB in 40 MiB steps; returns what it got, in MiB. */
static long long escape(const char *mode, th_run_t *r, int preload)
{
	const char *argv[] = { th_build("examples/map_escape"), mode, NULL };
	const char *env[] = { logpat, "ALLOCGUARD_CAP=64M", NULL };
	cr_assert_eq(th_run(r, argv, env, preload, 60), 0);
	cr_assert(!preload || (r->exited && r->code == 0), "map_escape %s: %s\nstdout: %s\nstderr: %s",
		  mode, th_run_desc(r), r->out, r->err);
	return th_kv(r->out, "got");
}

static void escape_is_capped(const char *mode)
{
	th_run_t r;
	long long bare = escape(mode, &r, 0);
	if (bare < 256) {   /* MREMAP_DONTUNMAP fails with EINVAL on some kernels */
		char why[200];
		snprintf(why, sizeof why, "%s", r.out);
		th_run_free(&r);
		cr_skip_test("map_escape %s gets only %lld MiB here without the guard: %s", mode, bare,
			     why);
	}
	th_run_free(&r);
	long long got = escape(mode, &r, 1);
	cr_expect_eq(got, 40, "map_escape %s got %lld MiB under a 64 MiB cap (40 MiB steps):\n%s",
		     mode, got, r.out);
	cr_expect(strstr(r.out, "errno=Cannot allocate memory"), "not refused with ENOMEM: %s", r.out);
	cr_expect_geq(count_kind(r.err, "cap"), 1, "no `allocguard: cap...` line: %s", r.err);
	th_run_free(&r);
}

/* /dev/zero is anonymous memory to the kernel, private or shared. */
Test(integration_cap, dev_zero_private_mapping) { escape_is_capped("devzero-private"); }
Test(integration_cap, dev_zero_shared_mapping) { escape_is_capped("devzero-shared"); }
/* The program's own sbrk (glibc's malloc moves the break past the hooks). */
Test(integration_cap, sbrk) { escape_is_capped("sbrk"); }
/* The old range stays mapped after mremap(MREMAP_DONTUNMAP). */
Test(integration_cap, mremap_dontunmap) { escape_is_capped("dontunmap"); }

/* munmap by raw syscall, then mmap at the same place: the new mapping replaces the one the
 * guard still knew, so 40 MiB is held at every step and none is refused. */
Test(integration_cap, raw_munmap_then_mmap_counts_once)
{
	th_run_t r;
	long long got = escape("rawunmap", &r, 1);
	cr_expect_eq(got, 280, "map_escape rawunmap got %lld MiB, was refused: %s\n%s", got, r.out,
		     r.err);
	th_log_t log;
	load_only_log(&log);
	long ex = th_log_find(&log, "exit");
	cr_assert_geq(ex, 0, "no exit snapshot");
	cr_expect_eq(log.snaps[ex].e[TH_MAPPED], 40 * MiB, "mapped at exit: %llu bytes, want 40 MiB",
		     (unsigned long long)log.snaps[ex].e[TH_MAPPED]);
	cr_expect_leq(log.snaps[ex].e[TH_PEAK_MAPPED], 40 * MiB + MiB, "peak mapped %llu bytes",
		      (unsigned long long)log.snaps[ex].e[TH_PEAK_MAPPED]);
	th_log_free(&log);
	th_run_free(&r);
}

/* A refused request is named: its call stack in the message (module+offset frames and the
 * stack's id), in the log's V line and in `allocguard report` (function and line); the
 * figures never read the same when they differ, and the report's event figure is what was
 * tracked before the refusal, never the total that would have been. */
Test(cap, refusal_names_its_stack_and_figures_differ, .timeout = 120)
{
	if (access(th_build("examples/cap_hit"), X_OK) != 0)
		cr_skip_test("examples not built");
	char *wdir = strdup(th_tmpdir("capwhere")), env[700], log[600];
	snprintf(log, sizeof log, "%s/c.log", wdir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	/* one 63 MiB block, then 64-byte steps: the refused total is a few
	 * bytes over a cap that prints as the same MiB figure */
	const char *argv[] = { th_build("examples/cap_hit"), "malloc", "64", "1G", "1", "66060288",
			       NULL };
	const char *envs[] = { env, "ALLOCGUARD_CAP=64M", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, envs, 1, 60), 0);
	cr_assert(strstr(r.out, "refused=yes"), "%s\n%s", r.out, r.err);
	const char *say = strstr(r.err, "allocguard: cap: ");
	cr_assert_not_null(say, "%s", r.err);
	const char *eol = strchr(say, '\n');
	char line[1200];
	snprintf(line, sizeof line, "%.*s", eol ? (int)(eol - say) : 1000, say);
	cr_assert(strstr(line, "; at ") && strstr(line, "(stack "), "no stack: %s", line);
	cr_assert(strstr(line, " B), over the 64.0 MiB (67108864 B) cap"),
		  "figures that differ must not read the same: %s", line);
	const char *rep[] = { th_build("allocguard"), "report", "--no-color", log, NULL };
	th_run_t a;
	cr_assert_eq(th_run(&a, rep, NULL, 0, 60), 0);
	const char *ev = strstr(a.out, "cap at ");
	cr_assert_not_null(ev, "%s", a.out);
	cr_assert(strstr(ev, "step_once (cap_hit.c:"), "the refusal is not named:\n%s", a.out);
	/* tracked before the refusal: at most the cap */
	const char *tracked = strstr(ev, ", ");
	cr_assert(tracked && (strncmp(tracked, ", 64.0 MiB tracked", 18) == 0 ||
			      strncmp(tracked, ", 63.", 5) == 0), "%s", ev);
	th_run_free(&a);
	th_run_free(&r);
	th_rmtree(wdir);
	free(wdir);
}

/* What `report --json` says of the refusal: the function of the cap event's site. */
static const char *json_cap_site =
	"import json, sys\n"
	"ev = [e for e in json.load(open(sys.argv[1]))['cap']['events'] if e['kind'] == 'cap']\n"
	"print(ev[0].get('site', {}).get('function') if ev else 'no cap event', end='')\n";

/* A refused mapping is named like a refused heap request: its stack in the message, the
 * log's V line and `report` (human and JSON), though the cap decides it under the mapping
 * table's lock where no stack can be taken. */
static void mapping_refusal_named(const char *const *argv, const char *cap, const char *what,
				  const char *func)
{
	char *wdir = strdup(th_tmpdir("capmapwhere")), env[700], log[600], json[600];
	snprintf(log, sizeof log, "%s/c.log", wdir);
	snprintf(json, sizeof json, "%s/r.json", wdir);
	snprintf(env, sizeof env, "ALLOCGUARD_LOG=%s", log);
	const char *envs[] = { env, cap, NULL };
	th_run_t r, a, h, p;
	cr_assert_eq(th_run(&r, argv, envs, 1, 60), 0);
	const char *say = strstr(r.err, "allocguard: cap: ");
	cr_assert_not_null(say, "no cap line: %s", r.err);
	char line[1200];
	const char *eol = strchr(say, '\n');
	snprintf(line, sizeof line, "%.*s", eol ? (int)(eol - say) : 1000, say);
	cr_assert(strstr(line, what) && strstr(line, "refused with ENOMEM"), "%s", line);
	cr_assert(strstr(line, "; at program+0x") && strstr(line, "(stack "),
		  "the refused %s names no stack: %s", what, line);

	const char *hum[] = { th_build("allocguard"), "report", "--no-color", log, NULL };
	cr_assert_eq(th_run(&h, hum, NULL, 0, 60), 0);
	const char *ev = strstr(h.out, "cap at ");
	cr_assert_not_null(ev, "%s", h.out);
	char want[200];
	snprintf(want, sizeof want, "at %s (", func);
	const char *ev_end = strstr(ev, "\n\n");
	cr_assert(strstr(ev, want) && (!ev_end || strstr(ev, want) < ev_end),
		  "report does not name the refused %s at %s:\n%s", what, func, h.out);

	const char *rep[] = { th_build("allocguard"), "report", "--json", log, NULL };
	cr_assert_eq(th_run(&a, rep, NULL, 0, 60), 0);
	FILE *f = fopen(json, "w");
	cr_assert_not_null(f);
	fputs(a.out ? a.out : "", f);
	fclose(f);
	const char *py[] = { "python3", "-c", json_cap_site, json, NULL };
	cr_assert_eq(th_run(&p, py, NULL, 0, 60), 0);
	cr_assert_str_eq(p.out, func, "report --json's cap event site: %s\n%s", p.out, p.err);
	th_run_free(&p);
	th_run_free(&a);
	th_run_free(&h);
	th_run_free(&r);
	th_rmtree(wdir);
	free(wdir);
}

Test(cap, refused_mmap_names_its_stack, .timeout = 120)
{
	const char *argv[] = { th_build("examples/cap_hit"), "mmap", "1M", "1G", NULL };
	mapping_refusal_named(argv, "ALLOCGUARD_CAP=64M", "cap: mmap of 1.0 MiB", "step_once");
}

Test(cap, refused_mremap_growth_names_its_stack, .timeout = 120)
{
	const char *argv[] = { th_build("examples/cap_hit"), "mremap", "1M", "1G", NULL };
	mapping_refusal_named(argv, "ALLOCGUARD_CAP=64M", "cap: mremap of 1.0 MiB", "step_once");
}

Test(cap, refused_swapped_mmap_names_its_stack, .timeout = 120)
{
	char *wdir = strdup(th_tmpdir("capswapwhere")), model[600];
	snprintf(model, sizeof model, "%s/m.gguf", wdir);
	FILE *f = fopen(model, "w");
	cr_assert_not_null(f);
	static char block[1 << 16];
	memset(block, 7, sizeof block);
	for (int i = 0; i < 128; i++)   /* 8 MiB */
		fwrite(block, 1, sizeof block, f);
	fclose(f);
	const char *argv[] = { th_build("examples/swap_loader"), model, NULL };
	mapping_refusal_named(argv, "ALLOCGUARD_CAP=4M", "cap: swapped mmap of 8.0 MiB", "main");
	th_rmtree(wdir);
	free(wdir);
}
