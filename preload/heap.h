/* heap.h: what a malloc-family call means for allocguard: charge the cap (cap.h, the only
 * way to the totals), attribute the block to a (sampled) stack, remember it in ptrtab, and
 * undo all of that on free.  The hooks call these around the real libc function. */
#ifndef ALLOCGUARD_HEAP_H
#define ALLOCGUARD_HEAP_H

#include "cap.h"
#include "churn.h"
#include "glibcchunk.h"
#include "nextalloc.h"
#include "ptrtab.h"
#include "sample.h"
#include "writer.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* The real allocator, called as fn(a, b): malloc(a), calloc(a, b), memalign(a, b). */
typedef void *(*heap_fn_t)(size_t a, size_t b);

static inline uint64_t heap_clamp(size_t n)
{
	return n > PTRTAB_MAX_SIZE ? PTRTAB_MAX_SIZE : (uint64_t)n;
}

/* Charge `bytes` to the cap, call fn(a, b), track the result.  NULL with errno ENOMEM
 * when the cap refuses; otherwise fn's result, errno as fn left it (the steps that may
 * touch errno, cap_charge and the sampled path of the tracking, keep it themselves).  caller: the hook's STACKS_CALLER (stacks.h), or NULL.  One function for
 * the charge, the call and the tracking of an unsampled block, so that such a block costs
 * the hook one call and one frame. */
void *heap_alloc(size_t bytes, const char *what, heap_fn_t fn, size_t a, size_t b,
		 const uintptr_t *caller);
/* realloc semantics (glibc's, including realloc(p, 0) freeing p) around real_realloc. */
void *heap_realloc(void *old, size_t n, void *(*real_realloc)(void *, size_t),
		   const uintptr_t *caller);
/* Attribute the blocks allocated before the constructor (libstdc++'s emergency pool, ...)
 * to one frameless stack, so they are counted and judged at exit like any other. */
void heap_adopt_early(void);

/* The allocator's usable size of a block (how an unsampled block is counted). */
static inline __attribute__((always_inline)) size_t heap_usable(void *p)
{
	if (__builtin_expect(nextalloc_glibc_chunks, 1))
		return glibcchunk_usable(p);
	return nextalloc()->usable(p);
}

/* A block in the table (sampled, early, or one the bitmap could not take). */
void heap_forget_slow(void *p);
/* Forget a block (not NULL) about to be freed; call before the real free.  Inline so that
 * an unsampled block costs the hook no call: unmarked, and its usable size, as counted,
 * released (credit.h: into the thread's unflushed count and credit). */
static inline __attribute__((always_inline)) void heap_forget(void *p)
{
	churn_free(p);
	if (sample_active() && ptrtab_unmark((uintptr_t)p)) {
		cap_release(ACC_HEAP, heap_usable(p), CAP_CREDIT | CAP_LOCAL);
		return;
	}
	heap_forget_slow(p);
}

/* The uncommon ends of heap_malloc_fast, each as heap_alloc would finish: the real malloc
 * failed (charged: what the credit gave), the block is not the usual chunk or the bitmap
 * has no room (pre: charged beyond the request), its address was marked already (got: its
 * usable size). */
void heap_fast_failed(uint64_t charged);
void heap_fast_rest(void *p, uint64_t size, uint64_t pre);
void heap_fast_remarked(uint64_t got);

/* malloc(n) with sampling on glibc's chunks, for a block that is not sampled: the common
 * call, inline in the hook so that it costs no frame of its own.  left: sample_left(n),
 * read by the hook before it entered its guard (a signal handler's allocation in between
 * would only go uncounted by the countdown), above 0.  heap_alloc's steps for such a
 * block, on one thread slot (credit.h): the chunk's usable size taken from the credit
 * under a cap, glibc's malloc, the countdown, the bitmap's mark and the thread's count.
 * false with nothing done when anything is unusual (no slot yet, the credit short, a
 * request past HEAP_FAST_MAX): heap_alloc decides, sampling included. */
#define HEAP_FAST_MAX (UINT64_C(1) << 39)   /* requests and roundings heap_malloc_fast takes */

static inline __attribute__((always_inline)) bool heap_malloc_fast(size_t n, int64_t left,
								    void **out)
{
	credit_slot_t *s = credit_mine;
	if (__builtin_expect(n >= HEAP_FAST_MAX || !s || !nextalloc_glibc_chunks, 0))
		return false;
	bool capped = cap_on();
	uint64_t use = glibcchunk_size(n) - GLIBC_SIZE_SZ;
	if (capped && !credit_take_in(s, use))
		return false;
	void *p = nextalloc_glibc_malloc(n);
	*out = p;
	if (__builtin_expect(!p, 0)) {
		if (capped)
			heap_fast_failed(use);
		return true;
	}
	sample_countdown = left;
	writer_tick();
	/* counted at its usable size (heap.c): under a cap it must be what the credit gave */
	uint64_t got = glibcchunk_usable(p);
	int rc = ENOMEM;
	if (__builtin_expect((capped ? got != use : got - n >= HEAP_FAST_MAX) ||
			     (rc = ptrtab_mark((uintptr_t)p)) == ENOMEM, 0)) {
		heap_fast_rest(p, n, capped ? use - n : 0);
		return true;
	}
	if (__builtin_expect(rc == EEXIST, 0))
		heap_fast_remarked(got);
	int64_t flush = credit_count_in(s, (int64_t)got);
	if (__builtin_expect(flush != 0, 0))
		cap_count(ACC_HEAP, flush);
	churn_alloc(p, n, 0, 0);
	return true;
}

#endif
