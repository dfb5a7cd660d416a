/* hooks_malloc.c: the malloc family, and dlopen for the libraries that would bind it past
 * us.  Each hook is a forward: a nested call (the unwinder's, the loader's) goes straight
 * to the next allocator (nextalloc.h), any other to heap.h, which charges the cap, calls
 * the real function and records the block.  libc's argument checks that fail before any
 * allocation (calloc's overflow, posix_memalign's alignment) are made here, as libc does. */
#include "gotpatch.h"
#include "heap.h"
#include "hooks.h"
#include "nextalloc.h"
#include "stacks.h"

#include <errno.h>
#include <stdint.h>

/* The real allocator is glibc's or the one loaded after us (nextalloc.h). */
#define REAL (nextalloc())

static void *fn_malloc(size_t a, size_t b)
{
	return nextalloc_glibc_chunks ? nextalloc_glibc_malloc(a) : REAL->malloc(a);
}
static void *fn_calloc(size_t a, size_t b) { return REAL->calloc(a, b); }
static void *fn_memalign(size_t a, size_t b) { return REAL->memalign(a, b); }
static void *fn_valloc(size_t a, size_t b) { return REAL->valloc(a); }
static void *fn_pvalloc(size_t a, size_t b) { return REAL->pvalloc(a); }

/* An allocating hook: a nested call goes straight to the real allocator (`nested`), any
 * other through heap_alloc, which charges `bytes` and calls fn(a, b). */
#define ALLOC_HOOK(name, params, nested, bytes, fn, a, b)                      \
	EXPORT void *name params                                               \
	{                                                                      \
		if (!ag_guard_enter())                                         \
			return nested;                                         \
		void *p = heap_alloc(bytes, #name, fn, a, b, STACKS_CALLER);   \
		ag_guard_leave();                                              \
		return p;                                                      \
	}

/* malloc: every block recorded, or this one sampled, goes through heap_alloc; one that
 * sampling leaves out (the countdown left after it is above 0) through heap_malloc_fast,
 * inline.  Two bodies reached by tail calls, so that each keeps only the registers it
 * needs. */
static __attribute__((noinline)) void *malloc_recorded(size_t n)
{
	if (!ag_guard_enter())
		return REAL->malloc(n);
	void *p = heap_alloc(n, "malloc", fn_malloc, n, 0, STACKS_CALLER);
	ag_guard_leave();
	return p;
}

static __attribute__((noinline)) void *malloc_sampled_out(size_t n, int64_t left)
{
	if (!ag_guard_enter())
		return REAL->malloc(n);
	void *p;
	if (!heap_malloc_fast(n, left, &p))
		p = heap_alloc(n, "malloc", fn_malloc, n, 0, STACKS_CALLER);
	ag_guard_leave();
	return p;
}

EXPORT void *malloc(size_t n)
{
	int64_t left = sample_left(n);
	if (left > 0)
		return malloc_sampled_out(n, left);
	return malloc_recorded(n);
}
LOCAL_ALIAS(malloc);
ALLOC_HOOK(memalign, (size_t al, size_t n), REAL->memalign(al, n), n, fn_memalign, al, n)
ALLOC_HOOK(aligned_alloc, (size_t al, size_t n), REAL->memalign(al, n), n, fn_memalign, al, n)
ALLOC_HOOK(valloc, (size_t n), REAL->valloc(n), n, fn_valloc, n, 0)
ALLOC_HOOK(pvalloc, (size_t n), REAL->pvalloc(n), n, fn_pvalloc, n, 0)

EXPORT void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (!ag_guard_enter())
		return REAL->calloc(n, size);
	void *p = heap_alloc(n * size, "calloc", fn_calloc, n, size, STACKS_CALLER);
	ag_guard_leave();
	return p;
}

EXPORT void *realloc(void *old, size_t n)
{
	if (old && nextalloc_arena_owns(old)) {
		void *p = local_malloc(n);
		size_t had = nextalloc_arena_size(old);
		if (p)
			__builtin_memcpy(p, old, had < n ? had : n);
		return p;
	}
	if (!ag_guard_enter())
		return REAL->realloc(old, n);
	void *p = heap_realloc(old, n, REAL->realloc, STACKS_CALLER);
	ag_guard_leave();
	return p;
}
LOCAL_ALIAS(realloc);

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return local_realloc(old, n * size);
}

EXPORT void free(void *p)
{
	if (!p || nextalloc_arena_owns(p))
		return;
	if (!ag_guard_enter()) {
		REAL->free(p);
		return;
	}
	heap_forget(p);
	if (__builtin_expect(nextalloc_glibc_chunks, 1)) {
		/* glibc's free calls nothing of ours: outside the guard, as a tail call */
		ag_guard_leave();
		nextalloc_glibc_free(p);
		return;
	}
	REAL->free(p);
	ag_guard_leave();
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	int saved = errno;
	void *p;
	if (!ag_guard_enter()) {
		p = REAL->memalign(align, n);
	} else {
		p = heap_alloc(n, "posix_memalign", fn_memalign, align, n, STACKS_CALLER);
		ag_guard_leave();
	}
	errno = saved;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (p && nextalloc_arena_owns(p))
		return nextalloc_arena_size(p);
	return REAL->usable(p);
}

/* Libraries opened with RTLD_DEEPBIND bind malloc & co. past us: gotpatch.c opens them
 * and points them back.  Every other open is a tail call, so the loader still sees the
 * program as the caller (its RUNPATH, its namespace). */
EXPORT void *dlopen(const char *file, int flags)
{
	if (gotpatch_needed(flags))
		return gotpatch_dlopen(file, flags, __builtin_return_address(0));
	return gotpatch_next_dlopen()(file, flags);
}
