/* test_jsheap.c: analyzer/jsheap.c on hand-written logs with node's real binary as the
 * module: V8's heap-page stacks give way to the JS sites, scaled never to exceed them, the
 * rest is "V8 heap (unattributed)", totals are kept at every snapshot and at the peak; a log
 * cut inside a snapshot still merges; JS frames are named from F lines; without V8 pages
 * the estimates are left out rather than counted twice. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsheap.h"
#include "model.h"
#include "symbols.h"

#define NODE "/usr/bin/node"

/* The address of V8's MemoryAllocator::AllocatePage in node (a non-PIE binary), + 4. */
static uint64_t page_frame(void)
{
	FILE *p = popen("nm -D --defined-only " NODE " 2>/dev/null | "
			"grep -m1 MemoryAllocator12AllocatePage", "r");
	unsigned long long a = 0;
	if (p) {
		if (fscanf(p, "%llx", &a) != 1)
			a = 0;
		pclose(p);
	}
	return a ? a + 4 : 0;
}

static ag_log_t *parse(const char *text)
{
	ag_log_t *log;
	char msg[300];
	cr_assert_eq(log_parse("js.log", text, strlen(text), &log, msg, sizeof msg), 0, "%s", msg);
	return log;
}

/* page: 10 MiB of V8 pages; js: the two functions' estimates at snapshots 0 and 1. */
static char *log_text(uint64_t frame, int cut, int with_page)
{
	static char t[4096];
	snprintf(t, sizeof t,
		 "AGLOG 3\nP 7 1 1 " NODE "\nM 0 400000 4000000 - " NODE "\n"
		 "F fff0000000000000 10 3 leakFn /app/a.js\n"
		 "F fff0000000000010 20 3 churnFn file:///app/a.mjs\n"
		 "S 1 m %" PRIx64 "\nS 2 j fff0000000000000\nS 3 j fff0000000000010\n"
		 "S 4 h 401000\n"
		 "B 0 1000 interval\nL 1 %d 40 %d 40 0\nL 2 4194304 100 4194304 100 0\n"
		 "L 3 1048576 10 1048576 10 0\nL 4 100 1 100 1 0\nK 10485860 100 10485760 0\n"
		 "T 1 %d 40\nT 2 4194304 100\nT 3 1048576 10\nT 4 100 1\n"
		 "E 0 10485860 100 10485760 0 10485860 100 10485760 8\n"
		 "B 1 2000 interval\nL 2 20971520 500 20971520 500 0\n"
		 "E 1 10485860 100 10485760 0 10485860 100 10485760 1\n%s",
		 with_page ? frame : (uint64_t)0x500000, 10485760, 10485760, 10485760,
		 cut ? "B 2 3000 interval\nL 2 1 1 1 1 0\n" : "");
	return t;
}

static size_t stack_of(const ag_log_t *log, char kind, const char *fn, symbols_t *s)
{
	for (size_t i = 0; i < log->nstacks; i++) {
		const ag_stack_t *st = &log->stacks[i];
		const ag_frame_t *f = st->nframes ? symbols_lookup(s, st->frames[0]) : NULL;
		if (st->kind == kind && f && f->function && strcmp(f->function, fn) == 0)
			return i;
	}
	return SIZE_MAX;
}

static uint64_t live_sum(const ag_log_t *log, const ag_stackval_t *v, int peak)
{
	uint64_t s = 0;
	for (size_t i = 0; i < log->nstacks; i++)
		s += peak ? v[i].peak_bytes : v[i].live_bytes;
	return s;
}

Test(jsheap, pages_become_js_sites_and_the_rest)
{
	uint64_t frame = page_frame();
	if (!frame)
		cr_skip_test("no node binary with V8's symbols");
	for (int cut = 0; cut < 2; cut++) {
		ag_log_t *log = parse(log_text(frame, cut, 1));
		cr_assert_eq(log->nsnaps, 2);
		cr_assert_eq(jsheap_merge(log, symbols_open(log, NULL), stderr), 0);
		symbols_t *s = symbols_open(log, NULL);
		size_t leak = stack_of(log, AG_KIND_JS, "leakFn", s);
		size_t churn = stack_of(log, AG_KIND_JS, "churnFn", s);
		size_t rest = stack_of(log, AG_KIND_MMAP, JSHEAP_UNATTRIBUTED, s);
		cr_assert(leak != SIZE_MAX && churn != SIZE_MAX && rest != SIZE_MAX);
		const ag_frame_t *f = symbols_lookup(s, log->stacks[churn].frames[0]);
		cr_expect_str_eq(f->file, "a.mjs");
		cr_expect_eq(f->line, 20);
		ag_stackval_t *v = log_state_at(log, 0);
		cr_expect_eq(v[0].live_bytes, 0, "the pages hold nothing once merged");
		cr_expect_eq(v[leak].live_bytes, 4194304);
		cr_expect_eq(v[rest].live_bytes, 10485760 - 4194304 - 1048576);
		cr_expect_eq(live_sum(log, v, 0), 10485860, "tracked bytes still add up");
		cr_expect_eq(live_sum(log, v, 1), 10485860, "the peak still adds up");
		cr_expect_eq(v[rest].peak_bytes, 10485760 - 4194304 - 1048576);
		free(v);
		v = log_state_at(log, 1);
		/* 21 MiB of estimates in 10 MiB of pages: scaled down to the pages */
		cr_expect_leq(v[leak].live_bytes + v[churn].live_bytes, 10485760);
		cr_expect_gt(v[leak].live_bytes, 9 * v[churn].live_bytes);
		cr_expect_eq(live_sum(log, v, 0), 10485860);
		free(v);
		symbols_close(s);
		log_free(log);
	}
}

Test(jsheap, without_pages_estimates_are_left_out)
{
	ag_log_t *log = parse(log_text(0, 0, 0));
	FILE *err = tmpfile();
	symbols_t *s = symbols_open(log, NULL);
	cr_assert_eq(jsheap_merge(log, s, err), 0);
	ag_stackval_t *v = log_state_at(log, 1);
	uint64_t js = 0;
	for (size_t i = 0; i < log->nstacks; i++)
		if (log->stacks[i].kind == AG_KIND_JS)
			js += v[i].live_bytes;
	cr_expect_eq(js, 0, "JS estimates with no V8 pages to stand in for");
	cr_expect_eq(v[0].live_bytes, 10485760, "the unknown mapping is kept as it was");
	rewind(err);
	char line[512] = "";
	cr_expect(fgets(line, sizeof line, err) && strstr(line, "cannot be told"), "%s", line);
	fclose(err);
	free(v);
	symbols_close(s);
	log_free(log);
}
