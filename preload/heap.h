/* heap.h: what a malloc-family call means for allocguard: charge the cap (cap.h, the only
 * way to the totals), attribute the block to a (sampled) stack, remember it in ptrtab, and
 * undo all of that on free.  The hooks call these around the real libc function. */
#ifndef ALLOCGUARD_HEAP_H
#define ALLOCGUARD_HEAP_H

#include "cap.h"
#include "ptrtab.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* The real allocator, called as fn(a, b): malloc(a), calloc(a, b), memalign(a, b). */
typedef void *(*heap_fn_t)(size_t a, size_t b);

/* Track a block the allocator returned for a charge of size (cap.h). */
void heap_track(void *p, uint64_t size, const uintptr_t *caller);

static inline uint64_t heap_clamp(size_t n)
{
	return n > PTRTAB_MAX_SIZE ? PTRTAB_MAX_SIZE : (uint64_t)n;
}

/* Charge `bytes` to the cap, call fn(a, b), track the result.  NULL with errno ENOMEM when
 * the cap refuses; otherwise fn's result, errno as fn left it (the steps that may touch
 * errno, cap_charge and the sampled path of heap_track, keep it themselves).  caller: the
 * hook's STACKS_CALLER (stacks.h), or NULL.  Inline so that each hook calls its allocator
 * directly, and without a cap calls nothing before it. */
static inline __attribute__((always_inline)) void *
heap_alloc(size_t bytes, const char *what, heap_fn_t fn, size_t a, size_t b,
	   const uintptr_t *caller)
{
	uint64_t size = heap_clamp(bytes);
	if (cap_charge(ACC_HEAP, size, bytes, what, CAP_CREDIT)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = fn(a, b);
	if (!p) {
		cap_refund(ACC_HEAP, size, CAP_CREDIT);
		return NULL;
	}
	heap_track(p, size, caller);
	return p;
}
/* realloc semantics (glibc's, including realloc(p, 0) freeing p) around real_realloc. */
void *heap_realloc(void *old, size_t n, void *(*real_realloc)(void *, size_t),
		   const uintptr_t *caller);
/* Attribute the blocks allocated before the constructor (libstdc++'s emergency pool, ...)
 * to one frameless stack, so they are counted and judged at exit like any other. */
void heap_adopt_early(void);
/* Forget a block about to be freed; call before the real free. */
void heap_forget(void *p);

#endif
