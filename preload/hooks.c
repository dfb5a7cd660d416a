/* hooks.c: the only file that defines libc symbols.  Each hook reads the same way: pass
 * nested calls straight through, else call the policy module (heap.c, mapping.c), which
 * charges the cap, calls the real function and records the result. */
#include "gotpatch.h"
#include "heap.h"
#include "mapping.h"
#include "state.h"
#include "sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

static void *fn_malloc(size_t a, size_t b) { return __libc_malloc(a); }
static void *fn_calloc(size_t a, size_t b) { return __libc_calloc(a, b); }
static void *fn_memalign(size_t a, size_t b) { return __libc_memalign(a, b); }
static void *fn_valloc(size_t a, size_t b) { return __libc_valloc(a); }
static void *fn_pvalloc(size_t a, size_t b) { return __libc_pvalloc(a); }

EXPORT void *malloc(size_t n)
{
	if (!guard_enter())
		return __libc_malloc(n);
	void *p = heap_alloc(n, "malloc", fn_malloc, n, 0);
	guard_leave();
	return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (!guard_enter())
		return __libc_calloc(n, size);
	void *p = heap_alloc(n * size, "calloc", fn_calloc, n, size);
	guard_leave();
	return p;
}

EXPORT void *realloc(void *old, size_t n)
{
	if (!guard_enter())
		return __libc_realloc(old, n);
	void *p = heap_realloc(old, n, __libc_realloc);
	guard_leave();
	return p;
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, n * size);
}

EXPORT void free(void *p)
{
	if (!p)
		return;
	if (!guard_enter()) {
		__libc_free(p);
		return;
	}
	heap_forget(p);
	__libc_free(p);
	guard_leave();
}

EXPORT void *memalign(size_t align, size_t n)
{
	if (!guard_enter())
		return __libc_memalign(align, n);
	void *p = heap_alloc(n, "memalign", fn_memalign, align, n);
	guard_leave();
	return p;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (!guard_enter())
		return __libc_memalign(align, n);
	void *p = heap_alloc(n, "aligned_alloc", fn_memalign, align, n);
	guard_leave();
	return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	int saved = errno;
	void *p;
	if (!guard_enter()) {
		p = __libc_memalign(align, n);
	} else {
		p = heap_alloc(n, "posix_memalign", fn_memalign, align, n);
		guard_leave();
	}
	errno = saved;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *valloc(size_t n)
{
	if (!guard_enter())
		return __libc_valloc(n);
	void *p = heap_alloc(n, "valloc", fn_valloc, n, 0);
	guard_leave();
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	if (!guard_enter())
		return __libc_pvalloc(n);
	void *p = heap_alloc(n, "pvalloc", fn_pvalloc, n, 0);
	guard_leave();
	return p;
}

EXPORT size_t malloc_usable_size(void *p)
{
	static size_t (*real)(void *);
	if (!real) {
		int outer = guard_enter();
		real = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
		if (outer)
			guard_leave();
	}
	return real ? real(p) : 0;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!guard_enter())
		return sys_mmap(addr, len, prot, flags, fd, off);
	void *r = mapping_mmap(addr, len, prot, flags, fd, off);
	guard_leave();
	return r;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	if (!guard_enter())
		return sys_munmap(addr, len);
	int rc = mapping_munmap(addr, len);
	guard_leave();
	return rc;
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		__builtin_va_list ap;
		__builtin_va_start(ap, flags);
		new_addr = __builtin_va_arg(ap, void *);
		__builtin_va_end(ap);
	}
	if (!guard_enter())
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	void *r = mapping_mremap(old, old_len, new_len, flags, new_addr);
	guard_leave();
	return r;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	if (!guard_enter())
		return sys_mprotect(addr, len, prot);
	int rc = mapping_mprotect(addr, len, prot);
	guard_leave();
	return rc;
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
