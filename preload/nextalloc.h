/* nextalloc.h: the allocator behind the hooks.  glibc's malloc normally; another malloc
 * (jemalloc, tcmalloc) when one is loaded after the guard or linked into the program, so
 * that every block is allocated, sized and freed by one allocator.  Found on the first hook
 * call; calls made while looking (dlsym may allocate) are served from a small static arena
 * whose blocks are never freed.  Says at start when an allocator ahead of the guard takes
 * the malloc calls, so the cap cannot be enforced on its heap. */
#ifndef ALLOCGUARD_NEXTALLOC_H
#define ALLOCGUARD_NEXTALLOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*usable)(void *);
} nextalloc_t;

extern nextalloc_t nextalloc_fns;
extern _Atomic int nextalloc_state;   /* 2 once found */

void nextalloc_find(void);

/* The functions to forward to (the static arena's while they are being looked up). */
static inline const nextalloc_t *nextalloc(void)
{
	if (__builtin_expect(atomic_load_explicit(&nextalloc_state, memory_order_acquire) != 2, 0))
		nextalloc_find();
	return &nextalloc_fns;
}

/* p came from the static arena: never passed to the real allocator. */
#define NEXTALLOC_ARENA_SIZE (256u << 10)
extern unsigned char nextalloc_arena[NEXTALLOC_ARENA_SIZE];
static inline bool nextalloc_arena_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)nextalloc_arena < NEXTALLOC_ARENA_SIZE;
}
/* The allocator is glibc's own malloc, whose chunk headers glibcchunk.h reads; its
 * functions may then be called directly (set before nextalloc_fns is published). */
extern bool nextalloc_glibc_chunks;
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
static inline void *nextalloc_glibc_malloc(size_t n)
{
	return __libc_malloc(n);
}
static inline void nextalloc_glibc_free(void *p)
{
	__libc_free(p);
}
/* Size of an arena block (for realloc and malloc_usable_size). */
size_t nextalloc_arena_size(const void *p);

/* At start: one stderr line when the malloc calls go past the guard (an allocator loaded
 * ahead of it, or linked statically), naming it.  reached_us says whether a block obtained
 * through the program's own binding of malloc reached our hooks: an address comparison
 * cannot tell, since a non-PIE executable (node) makes its PLT entry malloc's canonical
 * address.  Returns true when the calls go past. */
bool nextalloc_check_order(bool (*reached_us)(void *(*)(size_t), void (*)(void *)));

#endif
