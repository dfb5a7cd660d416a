/* heap.c: accounting for the malloc family (see heap.h).  Invariants: a block is admitted
 * by the cap before libc is asked for it and counted in the totals once libc returned it
 * (so the totals and peaks only ever hold memory the program got); it is removed from
 * ptrtab before libc frees it (so a racing malloc that gets the same address cannot be
 * confused with it); totals use the exact requested size, stacks use the (possibly
 * sampled) weight.
 *
 * With sampling, a block that is not sampled has no stack and needs no table slot: it is
 * only marked (ptrtab_mark) and counted at the allocator's usable size, which free reads
 * again before the real free, so what comes off is exactly what went on.  The totals then
 * exceed the requested bytes by the allocator's rounding of the live unsampled blocks
 * (glibc: under 24 bytes a block below the mmap threshold, under a page above it; the
 * log's heap total is in those units).  The cap stays exact: the rounding is admitted
 * under the cap like the request, and when it does not fit the block is kept in the
 * table at its requested size instead.  A block freed behind our back (RTLD_DEEPBIND
 * libc free) whose address comes back is taken out at the new block's usable size.
 * With sampling, the heap total is counted per thread and flushed in chunks, and under a
 * cap each thread spends its own credit first (credit.h states both bounds). */
#include "heap.h"
#include "cap.h"
#include "churn.h"
#include "fmt.h"
#include "glibcchunk.h"
#include "logfmt.h"
#include "nextalloc.h"
#include "ptrtab.h"
#include "sample.h"
#include "stacks.h"
#include "stacktab.h"
#include "writer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

static _Atomic int table_said;

/* Heap calls spend and refill the thread's credit under a cap; with sampling the heap
 * total is counted per thread first too (cap.h). */
static inline unsigned how(void)
{
	return sample_active() ? CAP_CREDIT | CAP_LOCAL : CAP_CREDIT;
}

static inline void release(uint64_t bytes)
{
	cap_release(ACC_HEAP, bytes, how());
}

/* Returns the block's weight in COUNT_ONE units. */
static uint64_t stack_take(uint32_t stack, uint64_t size)
{
	uint64_t wb, wc;
	sample_weight(size, &wb, &wc);
	stacktab_alloc_sized(stack, wb, wc, size);
	return wc;
}

static void stack_drop(uint32_t stack, uint64_t size)
{
	if (!stack)
		return;
	uint64_t wb, wc;
	sample_weight(size, &wb, &wc);
	stacktab_free(stack, wb, wc);
}

static inline size_t usable(void *p)
{
	return heap_usable(p);
}

static size_t usable_of(void *p)
{
	return usable(p);
}

/* An unsampled block: marked and counted at its usable size (see the top).  `pre` of the
 * rounding was charged with the request (heap_charge); the rest is charged here, or what
 * was charged beyond the usable size given back.  false when it must go to the table
 * instead (no malloc_usable_size, no room, the rounding over the cap), with nothing
 * changed. */
static inline __attribute__((always_inline)) bool
track_unsized(void *p, uint64_t size, uint64_t obtained, uint64_t pre)
{
	if (__builtin_expect(!credit_mine, 0))
		credit_slot();   /* counted per thread from now on (and heap_malloc_fast's) */
	uint64_t got = usable(p);
	if (__builtin_expect(got < size || got > PTRTAB_MAX_SIZE, 0))
		return false;
	uint64_t slack = got - size;
	if (__builtin_expect(slack > pre, 0) &&
	    cap_charge(ACC_HEAP, slack - pre, slack - pre, NULL, CAP_QUIET | CAP_CREDIT))
		return false;
	int rc = ptrtab_mark((uintptr_t)p);
	if (__builtin_expect(rc == ENOMEM, 0)) {
		if (slack > pre)
			cap_refund(ACC_HEAP, slack - pre, CAP_QUIET | CAP_CREDIT);
		return false;
	}
	if (__builtin_expect(slack < pre, 0))
		cap_refund(ACC_HEAP, pre - slack, CAP_CREDIT);
	if (__builtin_expect(rc == EEXIST, 0))
		cap_release(ACC_HEAP, got, CAP_CREDIT | CAP_LOCAL);   /* freed without us */
	cap_hold(ACC_HEAP, obtained + slack, CAP_CREDIT | CAP_LOCAL);   /* sampling is on */
	return true;
}

/* Count `obtained` more bytes (0 when the block was already counted), attribute the
 * block and remember it.  If it cannot be remembered it is released from the totals, so a
 * later free of it changes nothing.  `pre`: charged beyond the request (heap_charge). */
static __attribute__((noinline)) void track_slow(void *p, uint64_t size, uint64_t obtained,
						  uint64_t pre, const uintptr_t *caller,
						  bool sampled);

static inline __attribute__((always_inline)) void
track(void *p, uint64_t size, uint64_t obtained, uint64_t pre, const uintptr_t *caller)
{
	writer_tick();
	bool sampled = sample_take(size);
	if (__builtin_expect(!sampled, 1) && track_unsized(p, size, obtained, pre)) {
		churn_alloc(p, size, 0, 0);
		return;
	}
	track_slow(p, size, obtained, pre, caller, sampled);
}

/* A sampled block (or one the bitmap could not take): into the table with its stack.  The
 * stack walk and the table's growth may touch errno: the program's is kept. */
static void track_slow(void *p, uint64_t size, uint64_t obtained, uint64_t pre,
		       const uintptr_t *caller, bool sampled)
{
	int saved = errno;
	if (pre)
		cap_refund(ACC_HEAP, pre, CAP_CREDIT);   /* counted at the request's size here */
	if (sample_active() && ptrtab_unmark((uintptr_t)p))
		release(usable(p));   /* an unsized block here was freed without us */
	uint32_t stack = 0;
	uint64_t weight = 0;
	if (sampled) {
		stack = stacks_here_from(AG_KIND_HEAP, caller);
		if (stack)
			weight = stack_take(stack, size);
	}
	churn_alloc(p, size, stack, weight);
	/* counted after the stack: the block that makes a peak counts in it */
	if (obtained)
		cap_hold(ACC_HEAP, obtained, how());
	ptr_entry_t stale = { 0 };
	int rc = ptrtab_insert((uintptr_t)p, size, stack, &stale);
	if (stale.addr) {
		/* the previous block at this address was freed without us: forget it now */
		stack_drop(stale.stack, stale.size);
		release(stale.size);
	}
	if (rc != 0) {
		stack_drop(stack, size);
		release(size);
		if (!atomic_exchange(&table_said, 1))
			fmt_say("out of memory for the block table: some blocks are not tracked");
	}
	errno = saved;
}

/* Early blocks are sampled now, as if at their allocation, so their weights stay unbiased. */
static bool adopt_one(uint32_t stack, uint64_t size)
{
	if (!sample_take(size))
		return false;
	(void)stack_take(stack, size);
	return true;
}

void heap_adopt_early(void)
{
	ptrtab_unsized_sizer(usable_of);
	/* a stack of no frames: the analyzer names it "(before allocguard started)" */
	static const uintptr_t none[1];
	uint32_t stack = stacktab_intern(AG_KIND_HEAP, none, 0);
	if (stack)
		ptrtab_adopt(stack, adopt_one);
}

/* Charge a request of size (asked: the program's figure) to the cap; *charged is what was
 * charged.  With sampling on glibc's chunks, a block that is not sampled is counted at its
 * usable size (see the top): when the thread's credit covers it, the usable size a chunk for
 * this request has is taken at once, so that the common block costs one credit operation;
 * track_unsized settles any difference.  Otherwise exactly size is charged (cap.h), so a
 * refusal is decided on the request alone. */
static inline __attribute__((always_inline)) int
heap_charge(uint64_t size, uint64_t asked, const char *what, uint64_t *charged)
{
	*charged = size;
	if (!cap_on())
		return 0;
	if (sample_active() && __builtin_expect(nextalloc_glibc_chunks, 1)) {
		uint64_t usable = glibcchunk_size(size) - GLIBC_SIZE_SZ;
		if (credit_take(usable)) {
			*charged = usable;
			return 0;
		}
	}
	return cap_charge(ACC_HEAP, size, asked, what, CAP_CREDIT);
}

void *heap_alloc(size_t bytes, const char *what, heap_fn_t fn, size_t a, size_t b,
		 const uintptr_t *caller)
{
	uint64_t size = heap_clamp(bytes), charged;
	if (heap_charge(size, bytes, what, &charged)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = fn(a, b);
	if (!p) {
		cap_refund(ACC_HEAP, charged, CAP_CREDIT);
		return NULL;
	}
	track(p, size, size, charged - size, caller);
	return p;
}

void heap_fast_failed(uint64_t charged)
{
	cap_refund(ACC_HEAP, charged, CAP_CREDIT);
}

void heap_fast_rest(void *p, uint64_t size, uint64_t pre)
{
	if (track_unsized(p, size, size, pre))
		churn_alloc(p, size, 0, 0);
	else
		track_slow(p, size, size, pre, NULL, false);
}

void heap_fast_remarked(uint64_t got)
{
	cap_release(ACC_HEAP, got, CAP_CREDIT | CAP_LOCAL);   /* freed without us */
}

void heap_forget_slow(void *p)
{
	ptr_entry_t e;
	if (!ptrtab_remove((uintptr_t)p, &e))
		return;
	stack_drop(e.stack, e.size);
	release(e.size);
}

/* A failed realloc leaves the old block as it was: remember it again. */
static void restore(void *old, const ptr_entry_t *e, bool marked)
{
	if (marked)
		ptrtab_mark((uintptr_t)old);
	else
		ptrtab_insert((uintptr_t)old, e->size, e->stack, NULL);
}

void *heap_realloc(void *old, size_t n, void *(*real_realloc)(void *, size_t),
		   const uintptr_t *caller)
{
	int saved = errno;
	if (n == 0 && old) {
		heap_forget(old);
		return real_realloc(old, 0);
	}
	ptr_entry_t e = { 0 };
	bool marked = old && sample_active() && ptrtab_unmark((uintptr_t)old);
	bool had = marked || (old && ptrtab_remove((uintptr_t)old, &e));
	if (marked)
		e.size = usable(old);   /* how it was counted; stack 0 */
	uint64_t size = heap_clamp(n), before = had ? e.size : 0;
	uint64_t grow = size > before ? size - before : 0;
	if (grow && cap_charge(ACC_HEAP, grow, n - before, "realloc", CAP_CREDIT)) {
		if (had)
			restore(old, &e, marked);
		errno = ENOMEM;
		return NULL;
	}
	void *p = real_realloc(old, n);
	if (!p) {
		if (grow)
			cap_refund(ACC_HEAP, grow, CAP_CREDIT);
		if (had)
			restore(old, &e, marked);
		return NULL;
	}
	if (had)
		stack_drop(e.stack, e.size);
	if (old)
		churn_free(old);   /* as heaptrack: a realloc frees the old block */
	if (before > size)
		release(before - size);
	track(p, size, grow, 0, caller);
	errno = saved;
	return p;
}
