/* reach.c: the reachability scan (see reach.h), at exit or on request: the order of its
 * steps, each stack's figures and the verdict.  The pieces: scanitems.c (the blocks and
 * mappings judged), scanroots.c (where the roots are), scanmark.c (marking and the lost
 * split), scanmem.c (the scan's memory, fault-free reads), glibcheap.c (glibc's heaps,
 * never roots); scan.h holds their shared state.
 *
 * Order matters: everything that may take loader or libc locks (reading /proc, the
 * loader's module list) happens before the tables are locked; while they are locked no
 * tracked block can be freed through us; the other threads are stopped (threadstop.h) only
 * once nothing left takes a lock they could hold, and go on before the tables are unlocked.
 * A scan whose stop forks a copy-on-write child (scanchild.c) copies and sorts the blocks
 * after the stop, in the child: there no other thread is, so no lock is held by one.
 *
 * Tracked anonymous mappings are judged like blocks: scanned when reached, lost when not.
 * The committed pieces of one mapping (a reservation that JVMs and V8 commit piece by
 * piece, with MAP_FIXED or mprotect) share one fate: a pointer anywhere into it, reserved
 * pages included, keeps them all, since runtimes keep the reservation's base. */

#include "reach.h"
#include "check.h"
#include "fmt.h"
#include "logfmt.h"
#include "sample.h"
#include "sandbox.h"
#include "scan.h"
#include "stacktab.h"
#include "state.h"
#include "sys.h"
#include "threadstop.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* Each item's stack: a block's (0 when sampling left it out), a mapping piece's. */
static uint32_t item_stack(const scan_t *s, size_t i)
{
	return i < s->n ? s->blocks[i].stack : s->map_stack[i - s->n];
}

/* Each item's weight: a block's (sampled) weight, a mapping piece's bytes as one. */
static void item_weight(const scan_t *s, size_t i, uint64_t *wb, uint64_t *wc)
{
	if (i < s->n) {
		sample_weight(s->blocks[i].size, wb, wc);
		return;
	}
	*wb = s->maps[i - s->n].hi - s->maps[i - s->n].lo;
	*wc = COUNT_ONE;
}

/* Totals into *tot; with `record`, each stack's lost figures, and each heap stack's live
 * figures as the scan saw its blocks (judged_*: one moment for the whole site). */
static void account_lost(const scan_t *s, bool record, reach_totals_t *tot)
{
	for (uint32_t id = 1; record && id < stacktab_limit(); id++) {
		stack_rec_t *r = stacktab_get(id);
		if (r)
			r->lost_bytes = r->lost_count = r->indirect_bytes = r->indirect_count =
				r->judged_bytes = r->judged_count = 0;
	}
	uint64_t lc = 0, rc = 0;
	for (size_t i = 0; i < s->n + s->nmaps; i++) {
		uint8_t st = s->state[i < s->n ? i : s->n + s->group[i - s->n]];
		bool lost = st == LOST_DIRECT || st == LOST_INDIRECT;
		uint32_t stack = item_stack(s, i);
		if (!stack && i < s->n && sample_active())
			continue;   /* not sampled: not part of the estimates */
		uint64_t wb, wc;
		item_weight(s, i, &wb, &wc);
		*(lost ? &tot->lost_bytes : &tot->reachable_bytes) += wb;
		*(lost ? &lc : &rc) += wc;
		stack_rec_t *r = record && stack ? stacktab_get(stack) : NULL;
		if (!r)
			continue;
		if (i < s->n) {
			r->judged_bytes += wb;
			r->judged_count += wc;
		}
		if (!lost)
			continue;
		r->lost_bytes += wb;
		r->lost_count += wc;
		if (st == LOST_INDIRECT) {
			r->indirect_bytes += wb;
			r->indirect_count += wc;
		}
	}
	tot->lost_blocks = (lc + COUNT_ONE / 2) / COUNT_ONE;
	tot->reachable_blocks = (rc + COUNT_ONE / 2) / COUNT_ONE;
}

/* Before any lock: the roots' lists, whether memory can be read at all, the buffers.
 * AG_VERDICT_JUDGED to go on, else the verdict. */
static int prepare(scan_t *s, roots_t *r)
{
	if (scanroots_list(s, r))
		return AG_VERDICT_NO_MEMORY;
	uintptr_t probe = (uintptr_t)s, copy = 0;
	if (scanmem_peek(s->self, (uintptr_t)&probe, &copy, sizeof copy) != sizeof copy ||
	    copy != probe) {
		/* seccomp or an old kernel: judging without reading would call everything lost */
		fmt_say("cannot read memory with process_vm_readv: lost and reachable not told apart");
		return AG_VERDICT_UNREADABLE;
	}
	s->buf = scanmem_grab(s, s->bufwords * sizeof *s->buf + 2 * VEC_PAGES +
				      2 * BATCH * sizeof(struct iovec));
	if (s->buf) {
		s->local = (struct iovec *)(s->buf + s->bufwords);
		s->remote = s->local + BATCH;
		s->vec = (unsigned char (*)[VEC_PAGES])(s->remote + BATCH);
	}
	if (scanroots_grab_internal(s, r) || !s->buf)
		return AG_VERDICT_NO_MEMORY;
	return AG_VERDICT_JUDGED;
}

/* The items' tables, and the pre-scan's when they fit; returns the pre-scan's edge budget
 * (0: no pre-scan), or SIZE_MAX when out of memory. */
static size_t grab_items(scan_t *s, roots_t *r, size_t npieces)
{
	s->maps = scanmem_grab(s, npieces * sizeof *s->maps);
	s->map_stack = scanmem_grab(s, npieces * sizeof *s->map_stack);
	s->group = scanmem_grab(s, npieces * sizeof *s->group);
	s->runs = scanmem_grab(s, npieces * sizeof *s->runs);
	s->run_first = scanmem_grab(s, npieces * sizeof *s->run_first);
	s->state = scanmem_grab(s, s->n + npieces);
	s->work = scanmem_grab(s, (s->n + npieces) * sizeof *s->work);
	if (!s->maps || !s->map_stack || !s->group || !s->runs || !s->run_first || !s->state ||
	    !s->work || scanroots_grab_skip(s, r, npieces))
		return SIZE_MAX;
	/* Edges take 4 bytes each: a few per block; past that, blocks are read when reached. */
	size_t budget = 4 * s->n + 65536;
	budget = budget < UINT32_MAX ? budget : UINT32_MAX - 1;
	if (scanitems_index(s) == 0 && s->n + npieces < UINT32_MAX) {
		s->off = scanmem_grab(s, (s->n + 1) * sizeof *s->off);
		s->edges = scanmem_grab(s, budget * sizeof *s->edges);
		s->done = scanmem_grab(s, (s->n + 63) / 64 * sizeof *s->done);
		if (!s->off || !s->edges || !s->done)
			s->done = NULL;
	}
	return s->done ? budget : 0;
}

/* The blocks copied, sorted and indexed, the items' tables, our tables listed: the
 * pre-scan's edge budget (see grab_items), or SIZE_MAX when out of memory. */
static size_t collect_items(scan_t *s, roots_t *r, size_t npieces)
{
	if (scanitems_blocks(s))
		return SIZE_MAX;
	size_t budget = grab_items(s, r, npieces);
	/* last: every table of ours must be in the list, above all those holding addresses */
	if (budget != SIZE_MAX)
		scanroots_internal(r);
	return budget;
}

/* The other threads stopped and the items collected (the budget, or SIZE_MAX: then no
 * thread stays stopped).  Nothing after the stop may take a lock a stopped thread could
 * hold (the loader's, libc's, the region registry's), so the items are collected before
 * it; but when the stop forks (`forking`), after it: in the child, where no other thread
 * is; where no child was made, with the threads let go meanwhile, then stopped again. */
static size_t stop_and_collect(scan_t *s, roots_t *r, size_t npieces, bool forking)
{
	size_t budget = forking ? 0 : collect_items(s, r, npieces);
	if (budget == SIZE_MAX)
		return SIZE_MAX;
	bool alone = threadstop_stop();
	if (!forking)
		return budget;
	if (!alone)
		threadstop_resume();
	budget = collect_items(s, r, npieces);
	if (budget == SIZE_MAX)
		threadstop_resume();
	else if (!alone)
		threadstop_stop();
	return budget;
}

/* With the tables locked: judge every item.  The verdict. */
static int judge_locked(scan_t *s, roots_t *r, const maptab_piece_t *pc, size_t npieces,
			bool forking, bool record, reach_totals_t *tot)
{
	size_t budget = stop_and_collect(s, r, npieces, forking);
	if (budget == SIZE_MAX)
		return AG_VERDICT_NO_MEMORY;
	s->self = sys_gettid();   /* a scanner child forked in the stop reads its own copy */
	scanroots_skip(s, r, pc, npieces);
	scanitems_from_pieces(s, pc, npieces);
	if (s->done)
		scanmark_prescan(s, budget);
	scanroots_mark(s, r);
	scanmark_split_lost(s);
	AG_ASSERT(s->nwork == 0 && s->leader == SIZE_MAX);
	account_lost(s, record, tot);
	threadstop_resume();
	return AG_VERDICT_JUDGED;
}

/* Judge every block and mapping now; with `record`, into the stacks' lost figures; with
 * `forking`, see reach_scan.  Returns the verdict (AG_VERDICT_*). */
static int judge(bool record, bool forking, reach_totals_t *tot)
{
	/* Frames of exit(), the loader's destructor loop and ours hold stale values: start the
	 * scan of this thread's stack at the program's innermost frame, and take the registers
	 * that frame still owns. */
	roots_t r = { .nregs = 0 };
	r.sp = stacks_program_frame(r.regs, &r.nregs);
	if (!r.sp)
		r.sp = (uintptr_t)__builtin_frame_address(0);
	scan_t s = { .leader = SIZE_MAX, .bufwords = 8192, .self = sys_gettid(),
		     .page = sys_page_size() };
	int verdict = prepare(&s, &r);
	maptab_piece_t *pc = NULL;
	size_t npieces = verdict == AG_VERDICT_JUDGED ? scanitems_pieces(&s, &pc) : SIZE_MAX;
	if (npieces == SIZE_MAX) {
		verdict = verdict == AG_VERDICT_JUDGED ? AG_VERDICT_NO_MEMORY : verdict;
	} else {
		ptrtab_hold();
		verdict = judge_locked(&s, &r, pc, npieces, forking, record, tot);
		ptrtab_unlock_all();
		maptab_unlock();
	}
	scanmem_release(&s);
	return verdict;
}

/* One scan at a time: a check in one thread and the exit in another take turns. */
static _Atomic bool busy;
static int verdict = -1;   /* the exit scan's, -1 before it */
static size_t verdict_counts[TS_COUNT];

static bool take_turn(bool wait)
{
	for (int i = 0; atomic_exchange(&busy, true); i++) {
		if (!wait || i == 10000)
			return false;
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

void reach_scan(bool forking)
{
	reach_totals_t tot = { 0 };
	memset(verdict_counts, 0, sizeof verdict_counts);
	if (sandbox_filtered()) {
		/* any system call may be punished: no scan, nothing that could call one */
		verdict = AG_VERDICT_SECCOMP;
		return;
	}
	if (!take_turn(true)) {
		verdict = AG_VERDICT_BUSY;
		return;
	}
	verdict = judge(true, forking, &tot);
	threadstop_counts(verdict_counts);
	atomic_store(&busy, false);
}

void reach_skipped(int why)
{
	verdict = why;
}

int reach_check_now(reach_totals_t *out)
{
	memset(out, 0, sizeof *out);
	if (sandbox_filtered())
		return EPERM;
	if (!ag_ready() || !ag_guard_enter())
		return EBUSY;   /* exiting, or inside the guard (a table lock may be ours) */
	if (!take_turn(false)) {
		ag_guard_leave();
		return EBUSY;
	}
	int v = judge(false, false, out);
	atomic_store(&busy, false);
	ag_guard_leave();
	return v == AG_VERDICT_JUDGED ? 0 : v == AG_VERDICT_UNREADABLE ? EPERM : ENOMEM;
}

bool reach_judged(void)
{
	return verdict == AG_VERDICT_JUDGED;
}

void reach_verdict_line(fmt_t *f)
{
	size_t stopped = verdict_counts[TS_STOPPED], not = 0;
	for (int i = 1; i < TS_COUNT; i++)
		not += verdict_counts[i];
	fmt_str(f, "X ");
	fmt_str(f, ag_verdict_name(verdict < 0 ? AG_VERDICT_SKIPPED : verdict));
	fmt_chr(f, ' ');
	fmt_u64(f, stopped);
	fmt_chr(f, ' ');
	fmt_u64(f, not);
	for (int i = 1; i < TS_COUNT; i++) {
		if (!verdict_counts[i])
			continue;
		fmt_chr(f, ' ');
		fmt_str(f, threadstop_why_word(i));
		fmt_chr(f, '=');
		fmt_u64(f, verdict_counts[i]);
	}
}
