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

#endif
