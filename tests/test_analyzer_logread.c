/* test_analyzer_logread.c: the strict log reader (analyzer/logread.c, model.c): fixtures,
 * the durability rule at every cut, each kind of damage and refusal, and a mutation test:
 * hundreds of damaged variants of fixture logs, read and then reported on, never crash,
 * and every refusal is a single "FILE:LINE: ..." message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "helpers.h"
#include "model.h"
#include "reports.h"

static char *fixture(const char *name, size_t *len)
{
	char rel[256];
	snprintf(rel, sizeof rel, "tests/data/%s", name);
	char *s = th_slurp(th_root(rel), len);
	cr_assert_not_null(s, "fixture %s missing", rel);
	return s;
}

static int parse_str(const char *text, ag_log_t **log, char *msg, size_t len)
{
	return log_parse("t.log", text, strlen(text), log, msg, len);
}

#define HEAD "AGLOG 1\nP 10 1 5 /bin/x\nA x\nS 1 h 401000 402000\n"

/* Version 2: L's temporary allocations, the Z line of requested sizes, the V line's request
 * and refused stack (whose S line may come after it); a version 1 log keeps reading. */
Test(logread, version_2_records)
{
	const char *text = "AGLOG 2\nP 10 1 5 /bin/x\nA x\nV 7 cap 1000 24 2\nS 1 h 401000\n"
			   "S 2 h 401100\nB 0 9 interval\nL 1 48 2 96 4 3\nZ 0 1 0 3\n"
			   "E 0 48 48 0 0 48 48 0 1\n";
	char msg[300];
	ag_log_t *log;
	cr_assert_eq(parse_str(text, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->damage_line, 0, "%s", log->damage);
	cr_assert_eq(log->version, 2);
	ag_stackval_t *st = log_state_at(log, 0);
	cr_assert_eq(st[0].total_count, 4);
	cr_assert_eq(st[0].temp_count, 3);
	free(st);
	cr_assert(log->snaps[0].have_sizes);
	cr_assert_eq(log->snaps[0].sizes[1], 1);
	cr_assert_eq(log->snaps[0].sizes[3], 3);
	cr_assert_eq(log->snaps[0].sizes[4], 0);
	cr_assert_eq(log->nevents, 1);
	cr_assert_eq(log->events[0].request, 24);
	cr_assert(log->events[0].have_stack);
	cr_assert_eq(log->stacks[log->events[0].stack].id, 2);
	log_free(log);
	/* damage: more temporary than allocated; a V line of version 1's shape */
	const char *bad[] = { "AGLOG 2\nP 10 1 5 /bin/x\nS 1 h 401000\nB 0 9 interval\n"
			      "L 1 48 2 96 4 5\n", "AGLOG 2\nP 10 1 5 /bin/x\nV 7 cap 1000\n" };
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(parse_str(bad[i], &log, msg, sizeof msg), EINVAL);
		cr_assert(strstr(msg, i ? "V line" : "temporary"), "%s", msg);
	}
}

Test(logread, fixture_parses_completely)
{
	size_t len;
	char *buf = fixture("leaks_basic.log", &len), msg[300];
	ag_log_t *log;
	cr_assert_eq(log_parse("leaks_basic.log", buf, len, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->nsnaps, 3);
	cr_assert_eq(log->damage_line, 0);
	cr_assert_eq(log->pid, 4242);
	cr_assert_eq(log->argc, 3);
	cr_assert_str_eq(log->argv[2], "two words");
	cr_assert_eq(log->nmodules, 2);
	cr_assert_eq(log->nstacks, 4);
	cr_assert_eq(log->stacks[0].nframes, 3);
	cr_assert_eq(log->stacks[0].frames[0], 0x5555555551d6ULL);
	int is_exit;
	cr_assert_eq(log_final_snap(log, &is_exit), 2);
	cr_assert(is_exit);
	ag_stackval_t *st = log_state_at(log, 2);
	/* stack 2 kept its snapshot-1 value (delta encoding), stack 3 went to zero */
	cr_assert_eq(st[1].live_bytes, 1024);
	cr_assert_eq(st[2].live_bytes, 0);
	cr_assert_eq(st[0].live_bytes, 8192);
	cr_assert_eq(st[0].lost_bytes, 6144);
	free(st);
	log_free(log);
	free(buf);
}

Test(logread, every_cut_yields_exactly_the_complete_snapshots)
{
	size_t len;
	char *buf = fixture("leaks_basic.log", &len), msg[300];
	for (size_t cut = 0; cut <= len; cut++) {
		size_t want = 0;
		for (size_t i = 0; i < cut; i++)
			if (buf[i] == '\n' && i + 1 < len && buf[i + 1] == 'E') {
				const char *nl = memchr(buf + i + 1, '\n', len - i - 1);
				if (nl && (size_t)(nl - buf) < cut)
					want++;
			}
		ag_log_t *log = NULL;
		int rc = log_parse("cut.log", buf, cut, &log, msg, sizeof msg);
		if (want == 0) {
			cr_assert_eq(rc, EINVAL, "cut at %zu: accepted with no snapshot", cut);
			cr_assert(strncmp(msg, "cut.log:", 8) == 0 && !strchr(msg, '\n'), "%s", msg);
			continue;
		}
		cr_assert_eq(rc, 0, "cut at %zu: %s", cut, msg);
		cr_assert_eq(log->nsnaps, want, "cut at %zu: %zu snapshots, want %zu", cut,
			     log->nsnaps, want);
		log_free(log);
	}
	free(buf);
}

Test(logread, newer_version_is_refused_clearly)
{
	ag_log_t *log;
	char msg[300];
	char text[64], want[128];
	snprintf(text, sizeof text, "AGLOG %d\nP 1 1 1 x\n", AG_LOG_VERSION + 1);
	snprintf(want, sizeof want, "t.log:1: log version %d is newer than this allocguard (%d)",
		 AG_LOG_VERSION + 1, AG_LOG_VERSION);
	cr_assert_eq(parse_str(text, &log, msg, sizeof msg), EINVAL);
	cr_assert_str_eq(msg, want);
}

Test(logread, empty_and_foreign_files_are_refused)
{
	ag_log_t *log;
	char msg[300];
	cr_assert_eq(parse_str("", &log, msg, sizeof msg), EINVAL);
	cr_assert(strstr(msg, "t.log:1: empty"), "%s", msg);
	cr_assert_eq(parse_str("hello world\n", &log, msg, sizeof msg), EINVAL);
	cr_assert(strstr(msg, "t.log:1: not an allocguard log"), "%s", msg);
	cr_assert_eq(parse_str("AGLOG x\n", &log, msg, sizeof msg), EINVAL);
	cr_assert_eq(parse_str("\x7f" "ELF\x02\x01\x01", &log, msg, sizeof msg), EINVAL);
}

Test(logread, header_without_snapshots_is_refused)
{
	ag_log_t *log;
	char msg[300];
	cr_assert_eq(parse_str(HEAD, &log, msg, sizeof msg), EINVAL);
	cr_assert(strstr(msg, "no snapshot"), "%s", msg);
}

Test(logread, damage_keeps_the_snapshots_before_it)
{
	ag_log_t *log;
	char msg[300];
	const char *text = HEAD "B 0 1 start\nL 1 10 1 10 1\nE 0 10 10 0 0 10 10 0 1\n"
			   "B 1 2 interval\nL 1 20 2 zz 2\nE 1 20 20 0 0 20 20 0 1\n";
	cr_assert_eq(parse_str(text, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->nsnaps, 1);
	cr_assert_eq(log->damage_line, 9);
	cr_assert(strstr(log->damage, "not a decimal"), "%s", log->damage);
	char *out;
	size_t olen;
	FILE *f = open_memstream(&out, &olen);
	log_warn_damage(log, f);
	fclose(f);
	cr_assert(strncmp(out, "allocguard: t.log:9: ", 21) == 0, "%s", out);
	cr_assert_eq(strchr(out, '\n'), out + olen - 1, "one line: %s", out);
	free(out);
	log_free(log);
}

static void expect_damage(const char *tail, size_t line, const char *what)
{
	ag_log_t *log;
	char msg[300], text[2048];
	snprintf(text, sizeof text, HEAD "B 0 1 start\nE 0 0 0 0 0 0 0 0 0\n%s", tail);
	cr_assert_eq(parse_str(text, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->nsnaps, 1, "%s", tail);
	cr_assert_eq(log->damage_line, line, "%s: damage at %zu (%s)", tail, log->damage_line,
		     log->damage);
	cr_assert(strstr(log->damage, what), "%s: '%s' lacks '%s'", tail, log->damage, what);
	log_free(log);
}

Test(logread, each_kind_of_damage_is_named)
{
	expect_damage("B 1 2 interval\nL 1 1 1 1 1\nE 1 1 1 0 0 1 1 0 2\n", 9, "counts 2 records");
	expect_damage("B 1 2 interval\nL 9 1 1 1 1\n", 8, "never defined");
	expect_damage("B 2 2 interval\n", 7, "where 1 was expected");
	expect_damage("B 1 0 interval\n", 7, "back in time");
	expect_damage("B 1 2 nap\n", 7, "unknown snapshot reason");
	expect_damage("B 1 2 interval\nB 2 3 interval\n", 8, "begins before");
	expect_damage("L 1 1 1 1 1\n", 7, "outside a snapshot");
	expect_damage("B 1 2 interval\nR 1 1 1\n", 8, "only exit snapshots");
	expect_damage("B 1 2 interval\nL 1 5 1 4 1\n", 8, "more live than ever");
	expect_damage("B 1 2 interval\nE 1 0 18446744073709551615 1 0 0 0 0 0\n", 8, "overflow");
	expect_damage("Q 1 2\n", 7, "unknown record type");
	expect_damage("X judged 2\n", 7, "expected at least 4");
	expect_damage("X dozed 0 0\n", 7, "unknown verdict");
	expect_damage("X judged x 0\n", 7, "not a decimal number");
	expect_damage("M 1 2 1 - /x\n", 7, "empty address range");
	expect_damage("M 1 1 2 xyz /x\n", 7, "bad build-id");
	expect_damage("S 1 h 401000 999999\n", 7, "defined twice");
	expect_damage("S 2 q 401000\n", 7, "kind must be");
	expect_damage("S 2 h 1234567890abcdef0\n", 7, "not a hex address");
	expect_damage("A a%zzb\n", 7, "bad %-escape");
	expect_damage("A  x\n", 7, "stray space");
	expect_damage("V 1 boom 5\n", 7, "event kind");
	expect_damage("B 1 2 interval\r\n", 7, "reason");
	expect_damage("P 1 1 1 x\n", 7, "second P");
	expect_damage("B 1 99999999999999999999 interval\n", 7, "not a decimal");
	expect_damage("B 1 2 interval\nL 1 1 1 1 1\n", 7, "incomplete");
	expect_damage("B 1 2 interval\nL 1 1 1 1", 8, "cut off");
}

/* The histogram of a stack (by its id) as "k:n k:n", or "-" when it has none. */
static void hist_str(const ag_log_t *log, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "-");
	for (uint32_t i = 0; i < log->nstacks; i++) {
		if (log->stacks[i].id != id)
			continue;
		const ag_sizehist_t *h = log_stack_sizes(log, i);
		size_t at = 0;
		for (uint32_t b = 0; h && b < h->nbins && at < len; b++)
			at += (size_t)snprintf(buf + at, len - at, "%s%u:%llu", b ? " " : "",
					       h->bins[b].bucket,
					       (unsigned long long)h->bins[b].count);
	}
}

/* Version 4's H lines: each stack's histogram as of the last complete snapshot (a stack's
 * H line is whole, so the last one counts), and the one of a snapshot cut short is not
 * used: the stack's previous one is. */
Test(logread, stack_sizes_of_complete_snapshots_only)
{
	size_t len;
	char *text = fixture("size_sites.log", &len), msg[300], h[200];
	ag_log_t *log;
	cr_assert_eq(log_parse("t.log", text, len, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->damage_line, 0, "%s", log->damage);
	cr_assert(log_has_stack_sizes(log));
	hist_str(log, 1, h, sizeof h);
	cr_assert_str_eq(h, "5:3000");
	hist_str(log, 2, h, sizeof h);
	cr_assert_str_eq(h, "13:8", "a stack with no H line since keeps its last");
	hist_str(log, 3, h, sizeof h);
	cr_assert_str_eq(h, "7:1 8:1 12:1 13:1");
	log_free(log);
	/* cut inside the last snapshot, after stack 1's new H line */
	size_t cut = (size_t)(strstr(text, "L 3 ") - text);
	cr_assert_eq(log_parse("t.log", text, cut, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->nsnaps, 1);
	hist_str(log, 1, h, sizeof h);
	cr_assert_str_eq(h, "5:1000", "the cut snapshot's H line counts: %s", h);
	hist_str(log, 3, h, sizeof h);
	cr_assert_str_eq(h, "-");
	log_free(log);
	free(text);
	/* an older log records none */
	cr_assert_eq(parse_str(HEAD "B 0 1 start\nL 1 8 1 8 1\nE 0 8 8 0 0 8 8 0 1\n", &log, msg,
			       sizeof msg), 0, "%s", msg);
	cr_assert_not(log_has_stack_sizes(log));
	cr_assert_null(log_stack_sizes(log, 0));
	log_free(log);
}

Test(logread, damaged_h_lines_are_named)
{
	const struct {
		const char *tail, *what;
	} bad[] = {
		{ "H 1 5:1\n", "H line outside a snapshot" },
		{ "B 1 2 interval\nH 9 5:1\n", "never defined" },
		{ "B 1 2 interval\nH 1\n", "expected a stack and buckets" },
		{ "B 1 2 interval\nH x 5:1\n", "not a decimal" },
		{ "B 1 2 interval\nH 1 5\n", "<bucket>:<calls>" },
		{ "B 1 2 interval\nH 1 5:\n", "<bucket>:<calls>" },
		{ "B 1 2 interval\nH 1 :5\n", "<bucket>:<calls>" },
		{ "B 1 2 interval\nH 1 65:1\n", "<bucket>:<calls>" },
		{ "B 1 2 interval\nH 1 7:1 5:1\n", "increasing order" },
		{ "B 1 2 interval\nH 1 5:1 5:1\n", "increasing order" },
		{ "B 1 2 interval\nH 1 5:99999999999999999999\n", "<bucket>:<calls>" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_damage(bad[i].tail, bad[i].tail[0] == 'H' ? 7 : 8, bad[i].what);
	expect_damage("B 1 2 interval\nH 1 5:1\nH 1 5:2\n", 9, "two H lines for stack 1");
}

Test(logread, too_many_frames_is_damage)
{
	char *text = malloc(20000), msg[300];
	strcpy(text, HEAD "B 0 1 start\nE 0 0 0 0 0 0 0 0 0\nS 2 h");
	for (int i = 0; i < 257; i++)
		strcat(text, " 401000");
	strcat(text, "\n");
	ag_log_t *log;
	cr_assert_eq(parse_str(text, &log, msg, sizeof msg), 0);
	cr_assert(strstr(log->damage, "frames"), "%s", log->damage);
	log_free(log);
	free(text);
}

Test(logread, escapes_and_repeated_modules)
{
	ag_log_t *log;
	char msg[300];
	const char *text = "AGLOG 1\nP 1 1 1 /a%20b/x%25\nA %00\nO sample 4096\n"
			   "M 0 400000 401000 ab12 /a%20b/x%25\nM 0 400000 401000 ab12 /a%20b/x%25\n"
			   "J /tmp/perf-1.map\nW 5 100 eager /m/x.gguf\nV 7 warn 99\n"
			   "B 0 1 start\nE 0 0 0 0 0 0 0 0 0\n";
	cr_assert_eq(parse_str(text, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_str_eq(log->exe, "/a b/x%");
	cr_assert_str_eq(log->argv[0], "");
	cr_assert_eq(log->nmodules, 1);
	cr_assert_str_eq(log->modules[0].build_id, "ab12");
	cr_assert(log_sampled(log));
	cr_assert_eq(log->nswaps, 1);
	cr_assert_eq(log->nevents, 1);
	cr_assert_eq(log->events[0].kind, AG_CAP_EV_WARN);
	cr_assert_eq(log->njitmaps, 1);
	log_free(log);
}

/* Read, then run every report on it: nothing may crash, refusals are one line. */
static void read_and_report(const char *buf, size_t len, const char *what)
{
	ag_log_t *log = NULL;
	char msg[400];
	int rc = log_parse("m.log", buf, len, &log, msg, sizeof msg);
	if (rc) {
		cr_assert_eq(rc, EINVAL, "%s: rc %d", what, rc);
		cr_assert(strncmp(msg, "m.log:", 6) == 0, "%s: '%s'", what, msg);
		cr_assert_null(strchr(msg, '\n'), "%s: refusal spans lines: '%s'", what, msg);
		return;
	}
	cr_assert_gt(log->nsnaps, 0, "%s", what);
	symbols_t *sym = symbols_open(log, NULL);
	char *out;
	size_t olen;
	FILE *f = open_memstream(&out, &olen);
	report_opts_t o = { 0 };
	for (int json = 0; json < 2; json++) {
		o.json = json;
		cr_assert_eq(leaks_print(log, sym, &o, f, NULL), 0, "%s", what);
		cr_assert_eq(growth_print(log, sym, &o, f), 0, "%s", what);
		cr_assert_eq(report_print(log, sym, &o, f), 0, "%s", what);
		cr_assert_eq(diff_print(log, 0, sym, log, log->nsnaps - 1, sym, &o, f), 0, "%s",
			     what);
	}
	log_warn_damage(log, f);
	fclose(f);
	free(out);
	symbols_close(sym);
	log_free(log);
}

static void mutate_all(const char *name, unsigned seed0, int flips)
{
	size_t len;
	char *buf = fixture(name, &len), what[128];
	char *m = malloc(len * 2 + 16);
	unsigned seed = seed0;
	/* truncations at every offset */
	for (size_t cut = 0; cut <= len; cut += len > 4000 ? 7 : 1) {
		snprintf(what, sizeof what, "%s cut at %zu", name, cut);
		read_and_report(buf, cut, what);
	}
	/* byte flips, random bytes and digit bumps */
	for (int k = 0; k < flips; k++) {
		memcpy(m, buf, len);
		size_t at = (size_t)rand_r(&seed) % len;
		switch (k % 3) {
		case 0: m[at] ^= (char)(1u << (rand_r(&seed) % 8)); break;
		case 1: m[at] = (char)rand_r(&seed); break;
		default: m[at] = (char)('0' + rand_r(&seed) % 10); break;
		}
		snprintf(what, sizeof what, "%s flip %d at %zu", name, k, at);
		read_and_report(m, len, what);
	}
	/* each line deleted, and each line duplicated */
	size_t starts[4096], nl = 0;
	for (size_t i = 0; i < len && nl < 4096; i++)
		if (i == 0 || buf[i - 1] == '\n')
			starts[nl++] = i;
	for (size_t l = 0; l < nl; l += nl > 300 ? 5 : 1) {
		size_t a = starts[l], b = l + 1 < nl ? starts[l + 1] : len;
		memcpy(m, buf, a);
		memcpy(m + a, buf + b, len - b);
		snprintf(what, sizeof what, "%s line %zu deleted", name, l + 1);
		read_and_report(m, len - (b - a), what);
		memcpy(m, buf, b);
		memcpy(m + b, buf + a, len - a);
		snprintf(what, sizeof what, "%s line %zu duplicated", name, l + 1);
		read_and_report(m, len + (b - a), what);
	}
	free(m);
	free(buf);
}

Test(logread_mutation, leaks_fixture_variants, .timeout = 120)
{
	mutate_all("leaks_basic.log", 1, 400);
}

Test(logread_mutation, growth_fixture_variants, .timeout = 120)
{
	mutate_all("growth_three.log", 2, 300);
}

Test(logread_mutation, size_histogram_variants, .timeout = 120)
{
	mutate_all("size_sites.log", 4, 300);
}

Test(logread_mutation, real_log_variants, .timeout = 120)
{
	mutate_all("real_leaks.log", 3, 300);
}

/* K and T lines: the peak's split and what each stack had at it, delta encoded like L and
 * counted in the E line's records. */
Test(logread, peak_records)
{
	const char *text = HEAD "S 2 h 401000\n"
			   "B 0 1 interval\nL 1 100 1 100 1\nK 100 100 0 0\nT 1 100 1\nE 0 100 100 0 0 100 100 0 2\n"
			   "B 1 2 interval\nL 1 0 0 100 1\nL 2 50 1 50 1\nK 100 100 0 0\nE 1 50 50 0 0 100 100 0 2\n"
			   "B 2 3 exit\nL 2 0 0 250 2\nK 250 150 60 40\nT 1 0 0\nT 2 200 1\nE 2 0 0 0 0 250 200 60 3\n";
	ag_log_t *log;
	char msg[300];
	cr_assert_eq(parse_str(text, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->nsnaps, 3);
	cr_assert_eq(log->damage_line, 0, "%s", log->damage);
	cr_assert(log->snaps[2].have_peak);
	cr_assert_eq(log->snaps[2].at_peak_swapped, 40);
	ag_stackval_t *st = log_state_at(log, 1);
	cr_assert_eq(st[0].peak_bytes, 100, "stack 1 keeps its T figures while absent");
	cr_assert_eq(st[1].peak_bytes, 0);
	free(st);
	st = log_state_at(log, 2);
	cr_assert_eq(st[0].peak_bytes, 0);
	cr_assert_eq(st[1].peak_bytes, 200);
	cr_assert_eq(st[1].peak_count, 1);
	free(st);
	report_peak_t pk = report_peak(log);
	cr_assert(pk.split);
	cr_assert_eq(pk.bytes, 250);
	cr_assert_eq(pk.heap, 150);
	cr_assert_eq(pk.swapped, 40);
	log_free(log);

	expect_damage("B 1 2 interval\nT 1 1 1\nE 1 1 1 0 0 1 1 0 0\n", 9, "counts 0 records");
	expect_damage("B 1 2 interval\nT 9 1 1\n", 8, "never defined");
	expect_damage("K 1 1 0 0\n", 7, "outside a snapshot");
	expect_damage("B 1 2 interval\nK 1 1 0 0\nK 1 1 0 0\n", 9, "two K lines");
}

/* ---- gzip logs (issue 13): the preload's container, read through inflate ---- */

/* text as the preload writes it: gzip, a sync flush after every E line (and after the
 * first `head` bytes, the header), finished at the end unless `open_end`. */
static char *gz_like_preload(const char *text, size_t len, size_t head, int open_end,
			     size_t *out_len)
{
	z_stream zs = { 0 };
	size_t cap = len + len / 4 + 4096, at = 0;
	char *out = malloc(cap);
	cr_assert(out && deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	while (at < len) {
		size_t end = len;
		const char *e = at < head ? NULL : strstr(text + at, "\nE ");
		if (at < head)
			end = head;
		else if (e && memchr(e + 1, '\n', len - (size_t)(e + 1 - text)))
			end = (size_t)((const char *)memchr(e + 1, '\n', len - (size_t)(e + 1 - text)) -
				       text) + 1;
		zs.next_in = (Bytef *)text + at;
		zs.avail_in = (uInt)(end - at);
		cr_assert_eq(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
		at = end;
	}
	if (!open_end)
		cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

/* Every cut of a gzip log reads as the cut of the text that zlib inflates from it. */
Test(logread, gzip_every_cut_yields_the_complete_snapshots_of_its_text)
{
	size_t len, glen;
	char *buf = fixture("leaks_basic.log", &len), msg[300];
	char *gz = gz_like_preload(buf, len, 100, 0, &glen);
	for (size_t cut = 0; cut <= glen; cut++) {
		size_t m;
		char *text = th_gunzip(gz, cut, &m, NULL);
		ag_log_t *want = NULL, *got = NULL;
		char wmsg[300];
		int wrc = log_parse("cut.log", text, m, &want, wmsg, sizeof wmsg);
		int rc = log_parse("cut.log", gz, cut, &got, msg, sizeof msg);
		cr_assert_eq(rc, wrc, "cut at %zu of %zu: %s / %s", cut, glen, msg, wmsg);
		if (rc) {   /* one byte is no gzip magic yet: "not a log", not "empty" */
			if (cut >= 2)
				cr_assert_str_eq(msg, wmsg, "cut at %zu", cut);
		} else {
			cr_assert(got->nsnaps == want->nsnaps && got->damage_line == want->damage_line,
				  "cut at %zu: %zu snapshots (damage at %zu), the text gives %zu (%zu)",
				  cut, got->nsnaps, got->damage_line, want->nsnaps, want->damage_line);
		}
		log_free(want);
		log_free(got);
		free(text);
	}
	ag_log_t *log;
	cr_assert_eq(log_parse("whole.log", gz, glen, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->nsnaps, 3);
	cr_assert_eq(log->damage_line, 0, "%s", log->damage);
	log_free(log);
	free(gz);
	free(buf);
}

static ag_log_t *parse_gz_expect(const char *gz, size_t n, size_t nsnaps, size_t line,
				 const char *what)
{
	ag_log_t *log = NULL;
	char msg[300];
	cr_assert_eq(log_parse("g.log", gz, n, &log, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log->nsnaps, nsnaps, "%s", log->damage);
	cr_assert_eq(log->damage_line, line, "damage at %zu: %s", log->damage_line, log->damage);
	if (what)
		cr_assert(strstr(log->damage, what) && !strchr(log->damage, '\n'), "'%s' lacks '%s'",
			  log->damage, what);
	return log;
}

/* A bad CRC, bytes after the end, a second member, and the stored block `run` appends to
 * an unfinished stream (node's J line). */
Test(logread, gzip_members_trailers_and_damage)
{
	size_t len, glen;
	char *buf = fixture("leaks_basic.log", &len);
	char *gz = gz_like_preload(buf, len, 100, 0, &glen);
	size_t lines = th_nlines(buf);

	/* the CRC: every snapshot was inflated before it, the damage is after the last line */
	char *bad = malloc(glen + 64);
	memcpy(bad, gz, glen);
	bad[glen - 6] ^= 1;
	log_free(parse_gz_expect(bad, glen, 3, lines + 1, "compressed data is damaged"));
	/* bytes that are no gzip member after the end */
	memcpy(bad, gz, glen);
	memcpy(bad + glen, "J /tmp/x\n", 9);
	log_free(parse_gz_expect(bad, glen + 9, 3, lines + 1, "compressed data is damaged"));

	/* a second member (text written after a finish) reads on */
	const char *more = "J /tmp/perf-1.map\n";
	size_t mlen;
	char *m2 = gz_like_preload(more, strlen(more), 0, 0, &mlen);
	char *two = malloc(glen + mlen);
	memcpy(two, gz, glen);
	memcpy(two + glen, m2, mlen);
	ag_log_t *log = parse_gz_expect(two, glen + mlen, 3, 0, NULL);
	cr_assert_eq(log->njitmaps, 1);
	log_free(log);

	/* an unfinished stream (the writer was killed) continued by a stored block */
	size_t olen;
	char *open = gz_like_preload(buf, len, 100, 1, &olen);
	cr_assert(!memcmp(open + olen - 4, "\0\0\xff\xff", 4));
	char *cont = malloc(olen + 64);
	memcpy(cont, open, olen);
	size_t n = strlen(more);
	unsigned char hdr[5] = { 0, (unsigned char)n, (unsigned char)(n >> 8),
				 (unsigned char)~n, (unsigned char)(~n >> 8) };
	memcpy(cont + olen, hdr, 5);
	memcpy(cont + olen + 5, more, n);
	log = parse_gz_expect(cont, olen + 5 + n, 3, 0, NULL);
	cr_assert_eq(log->njitmaps, 1);
	log_free(log);

	/* garbage in place of the stream: refused with one line, nothing to keep */
	memcpy(bad, gz, glen);
	memset(bad + 10, 0xff, 8);
	char msg[300];
	cr_assert_eq(log_parse("g.log", bad, glen, &log, msg, sizeof msg), EINVAL);
	cr_assert(!strchr(msg, '\n') && strstr(msg, "g.log:"), "%s", msg);
	free(cont);
	free(open);
	free(two);
	free(m2);
	free(bad);
	free(gz);
	free(buf);
}

/* A large gzip log from a file (many input chunks, the window grown and reused) reads as
 * its text does. */
Test(logread, gzip_file_in_many_chunks_reads_as_its_text)
{
	size_t cap = 24u << 20, len = 0;
	char *text = malloc(cap);
	srand(7);
	len += (size_t)sprintf(text, "AGLOG 1\nP 7 1 5 /bin/x\nA x\n");
	enum { NS = 20000, NSNAP = 4 };
	for (int s = 1; s <= NS; s++) {
		len += (size_t)sprintf(text + len, "S %d h", s);
		for (int f = 0; f < 12; f++)
			len += (size_t)sprintf(text + len, " %x%06x", 0x400 + rand() % 0x100,
					       rand() & 0xffffff);
		text[len++] = '\n';
	}
	for (int k = 0; k < NSNAP; k++) {
		len += (size_t)sprintf(text + len, "B %d %d %s\n", k, k + 1, k ? "interval" : "start");
		uint64_t tot = 0;
		for (int s = 1; s <= NS; s++) {
			unsigned b = 16u * (1 + (unsigned)(rand() % 1000));
			tot += b;
			len += (size_t)sprintf(text + len, "L %d %u 1 %u %d\n", s, b, b * (k + 1) + 16000,
					       k + 1001);
		}
		len += (size_t)sprintf(text + len, "E %d %llu %llu 0 0 %llu %llu 0 %d\n", k,
				       (unsigned long long)tot, (unsigned long long)tot,
				       (unsigned long long)tot * 2, (unsigned long long)tot * 2, NS);
	}
	cr_assert_lt(len, cap);
	size_t glen;
	char *gz = gz_like_preload(text, len, 1000, 0, &glen);
	cr_assert_gt(glen, 3u << 19, "the compressed log (%zu bytes) should span several input "
		     "chunks of 1 MiB", glen);
	char path[] = "/tmp/agtest-gzXXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0 && write(fd, gz, glen) == (ssize_t)glen);
	close(fd);
	ag_log_t *want, *got;
	char msg[300];
	cr_assert_eq(log_parse("x", text, len, &want, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(log_load(path, &got, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(want->nsnaps, NSNAP);
	cr_assert_eq(got->nsnaps, want->nsnaps);
	cr_assert_eq(got->nstacks, want->nstacks);
	cr_assert_eq(got->damage_line, 0, "%s", got->damage);
	cr_assert_eq(got->snaps[NSNAP - 1].tracked, want->snaps[NSNAP - 1].tracked);
	/* cut inside: the complete snapshots before the cut, quietly or with a cut line */
	cr_assert_eq(truncate(path, (off_t)(glen - glen / 12)), 0);
	log_free(got);
	cr_assert_eq(log_load(path, &got, msg, sizeof msg), 0, "%s", msg);
	cr_assert(got->nsnaps >= 1 && got->nsnaps < NSNAP, "%zu", got->nsnaps);
	unlink(path);
	log_free(got);
	log_free(want);
	free(gz);
	free(text);
}
