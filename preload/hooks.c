/* hooks.c: the only file that defines libc symbols.  Each hook reads the same way: pass
 * nested calls straight through, else call the policy module (heap.c, mapping.c), which
 * charges the cap, calls the real function and records the result. */
#include "fdguard.h"
#include "heap.h"
#include "logwrite.h"
#include "mapping.h"
#include "state.h"
#include "sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* Descriptors (fdguard.h): the guard's held log descriptor is not the program's to close
 * or replace. */
EXPORT int close(int fd)
{
	return fdguard_close(fd);
}

EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	return fdguard_close_range(lo, hi, flags);
}

EXPORT void closefrom(int lo)
{
	fdguard_closefrom(lo);
}

EXPORT int dup2(int old, int new)
{
	return fdguard_dup3(old, new, 0, true);
}

EXPORT int dup3(int old, int new, int flags)
{
	return fdguard_dup3(old, new, flags, false);
}

/* Privileges: before the program gives up the right to create its log (another user, a
 * chroot), the log is created and held open (logwrite.c).  The real calls are glibc's,
 * which apply a uid change to every thread. */
static void *next_cached(const char *name, void **cache)
{
	if (!*cache) {
		int outer = guard_enter();
		*cache = dlsym(RTLD_NEXT, name);
		if (outer)
			guard_leave();
	}
	return *cache;
}

static void before_drop(void)
{
	if (state_ready() && !ag_in_hook)
		logwrite_create();
}

#define DROP_HOOK(name, params, args)                                   \
	EXPORT int name params                                          \
	{                                                               \
		static void *fn;                                        \
		before_drop();                                          \
		int (*real) params = (int (*) params)next_cached(#name, &fn); \
		if (!real) {                                            \
			errno = ENOSYS;                                 \
			return -1;                                      \
		}                                                       \
		return real args;                                       \
	}

DROP_HOOK(setuid, (uid_t uid), (uid))
DROP_HOOK(seteuid, (uid_t uid), (uid))
DROP_HOOK(setreuid, (uid_t r, uid_t e), (r, e))
DROP_HOOK(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
DROP_HOOK(chroot, (const char *path), (path))

/* libunwind's memory validation (fdguard.h): only calls made from libunwind's own code are
 * answered by fdguard; everyone else gets libc. */
extern ssize_t __read(int, void *, size_t);

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (n == 1 && fdguard_from_unwinder(__builtin_return_address(0)))
		return fdguard_read(fd, buf, n);
	return __read(fd, buf, n);
}

EXPORT int pipe2(int fds[2], int flags)
{
	if (fdguard_from_unwinder(__builtin_return_address(0)))
		return fdguard_pipe2(fds, flags);
	return (int)syscall(SYS_pipe2, fds, flags);
}

/* syscall(2) must stay glibc's frameless leaf for everyone else (a raw clone or vfork
 * returns through it on another stack), so the check and the pass-through are assembly:
 * a call from libunwind jumps to fdguard_syscall with the arguments untouched. */
__asm__(".text\n"
	".globl syscall\n"
	".type syscall, @function\n"
	".p2align 4\n"
	"syscall:\n"
	"	.cfi_startproc\n"
	"	movq (%rsp), %rax\n"
	"	subq fdguard_unw_lo(%rip), %rax\n"
	"	cmpq fdguard_unw_len(%rip), %rax\n"
	"	jb fdguard_syscall\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movq %rdx, %rsi\n"
	"	movq %rcx, %rdx\n"
	"	movq %r8, %r10\n"
	"	movq %r9, %r8\n"
	"	movq 8(%rsp), %r9\n"
	"	syscall\n"
	"	cmpq $-4095, %rax\n"
	"	jae 1f\n"
	"	ret\n"
	"1:	movq %rax, %rdi\n"
	"	jmp fdguard_syscall_error\n"
	"	.cfi_endproc\n"
	".size syscall, .-syscall\n");
