/* heap.h: what a malloc-family call means for allocguard: charge the cap, attribute the
 * block to a (sampled) stack, remember it in ptrtab, and undo all of that on free.  The
 * hooks call these around the real libc function. */
#ifndef ALLOCGUARD_HEAP_H
#define ALLOCGUARD_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* The real allocator, called as fn(a, b): malloc(a), calloc(a, b), memalign(a, b). */
typedef void *(*heap_fn_t)(size_t a, size_t b);

/* Charge `bytes`, call fn(a, b), track the result.  NULL with errno ENOMEM when the cap
 * refuses; otherwise fn's result with the caller's errno kept on success.  caller: the
 * hook's STACKS_CALLER (stacks.h), or NULL. */
void *heap_alloc(size_t bytes, const char *what, heap_fn_t fn, size_t a, size_t b,
		 const uintptr_t *caller);
/* realloc semantics (glibc's, including realloc(p, 0) freeing p) around real_realloc. */
void *heap_realloc(void *old, size_t n, void *(*real_realloc)(void *, size_t),
		   const uintptr_t *caller);
/* Attribute the blocks allocated before the constructor (libstdc++'s emergency pool, ...)
 * to one frameless stack, so they are counted and judged at exit like any other. */
void heap_adopt_early(void);
/* Forget a block about to be freed; call before the real free. */
void heap_forget(void *p);

#endif
