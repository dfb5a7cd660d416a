/* hooks.c: the only file that defines libc symbols, each a short forward:
 * - the malloc family and the mappings (mmap, munmap, mremap, mprotect, sbrk, brk): a nested
 *   call goes straight to the next allocator or the kernel, any other to heap.c or
 *   mapping.c, which admit under the cap, call the real function and record the result;
 * - the exec family (exec.c: the snapshot before the image goes), dlopen (gotpatch.c),
 *   descriptors (fdguard.c), privilege drops (logwrite.c creates the log first), seccomp
 *   filters (sandbox.c: prctl and syscall(SYS_seccomp));
 * - libunwind's read, pipe2 and syscall (fdguard.c), pthread_getattr_np (stacks.c).
 * A hook that calls another uses its local alias, never the PLT. */
#include "arch.h"
#include "exec.h"
#include "gotpatch.h"
#include "fdguard.h"
#include "heap.h"
#include "logwrite.h"
#include "mapping.h"
#include "nextalloc.h"
#include "sandbox.h"
#include "stacks.h"
#include "state.h"
#include "sys.h"
#include "writer.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* The real allocator is glibc's or the one loaded after us (nextalloc.h). */
#define REAL (nextalloc())

/* A hook that calls another calls it by a local alias, bound inside the library at link
 * time: the library never calls its own exported names through the PLT. */
#define LOCAL_ALIAS(name) \
	static __typeof(name) local_##name \
		__attribute__((copy(name), alias(#name)))

static void *fn_malloc(size_t a, size_t b) { return REAL->malloc(a); }
static void *fn_calloc(size_t a, size_t b) { return REAL->calloc(a, b); }
static void *fn_memalign(size_t a, size_t b) { return REAL->memalign(a, b); }
static void *fn_valloc(size_t a, size_t b) { return REAL->valloc(a); }
static void *fn_pvalloc(size_t a, size_t b) { return REAL->pvalloc(a); }

EXPORT void *malloc(size_t n)
{
	if (!ag_guard_enter())
		return REAL->malloc(n);
	void *p = heap_alloc(n, "malloc", fn_malloc, n, 0, STACKS_CALLER);
	ag_guard_leave();
	return p;
}
LOCAL_ALIAS(malloc);

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
	REAL->free(p);
	ag_guard_leave();
}

EXPORT void *memalign(size_t align, size_t n)
{
	if (!ag_guard_enter())
		return REAL->memalign(align, n);
	void *p = heap_alloc(n, "memalign", fn_memalign, align, n, STACKS_CALLER);
	ag_guard_leave();
	return p;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (!ag_guard_enter())
		return REAL->memalign(align, n);
	void *p = heap_alloc(n, "aligned_alloc", fn_memalign, align, n, STACKS_CALLER);
	ag_guard_leave();
	return p;
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

EXPORT void *valloc(size_t n)
{
	if (!ag_guard_enter())
		return REAL->valloc(n);
	void *p = heap_alloc(n, "valloc", fn_valloc, n, 0, STACKS_CALLER);
	ag_guard_leave();
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	if (!ag_guard_enter())
		return REAL->pvalloc(n);
	void *p = heap_alloc(n, "pvalloc", fn_pvalloc, n, 0, STACKS_CALLER);
	ag_guard_leave();
	return p;
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (p && nextalloc_arena_owns(p))
		return nextalloc_arena_size(p);
	return REAL->usable(p);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!ag_guard_enter())
		return sys_mmap(addr, len, prot, flags, fd, off);
	void *r = mapping_mmap(addr, len, prot, flags, fd, off);
	ag_guard_leave();
	return r;
}
LOCAL_ALIAS(mmap);

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return local_mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	if (!ag_guard_enter())
		return sys_munmap(addr, len);
	int rc = mapping_munmap(addr, len);
	ag_guard_leave();
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
	if (!ag_guard_enter())
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	void *r = mapping_mremap(old, old_len, new_len, flags, new_addr);
	ag_guard_leave();
	return r;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	if (!ag_guard_enter())
		return sys_mprotect(addr, len, prot);
	int rc = mapping_mprotect(addr, len, prot);
	ag_guard_leave();
	return rc;
}

/* The exec family: glibc's execv* and execl* call execve internally, not through the PLT,
 * so each one is hooked.  The l forms gather their arguments and go through the v forms. */
typedef int (*exec_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexec_fn)(int, char *const[], char *const[]);
typedef int (*execat_fn)(int, const char *, char *const[], char *const[], int);

/* The next definition of name (libc's), looked up once into *cache. */
static void *next_cached(const char *name, void **cache)
{
	if (!*cache) {
		int outer = ag_guard_enter();
		*cache = dlsym(RTLD_NEXT, name);
		if (outer)
			ag_guard_leave();
	}
	return *cache;
}

#define CALL_NEXT(type, name, ...) do { \
		static void *fn; \
		type real = (type)next_cached(name, &fn); \
		if (!real) { \
			errno = ENOSYS; \
			return -1; \
		} \
		exec_prepare(); \
		return real(__VA_ARGS__); \
	} while (0)

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	CALL_NEXT(exec_fn, "execve", path, argv, envp);
}
LOCAL_ALIAS(execve);

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	CALL_NEXT(exec_fn, "execvpe", file, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	CALL_NEXT(execv_fn, "execv", path, argv);
}
LOCAL_ALIAS(execv);

EXPORT int execvp(const char *file, char *const argv[])
{
	CALL_NEXT(execv_fn, "execvp", file, argv);
}
LOCAL_ALIAS(execvp);

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	CALL_NEXT(fexec_fn, "fexecve", fd, argv, envp);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		    int flags)
{
	CALL_NEXT(execat_fn, "execveat", dirfd, path, argv, envp, flags);
}

/* argv of an execl-style call: arg and the variadic arguments up to NULL; with env, the
 * pointer after the NULL is stored there. */
#define GATHER_ARGS(arg, argv, env) \
	size_t n_ = 1; \
	va_list ap_; \
	va_start(ap_, arg); \
	while (va_arg(ap_, char *)) \
		n_++; \
	va_end(ap_); \
	char *argv[n_ + 1]; \
	argv[0] = (char *)arg; \
	va_start(ap_, arg); \
	for (size_t i_ = 1; i_ <= n_; i_++) \
		argv[i_] = va_arg(ap_, char *); \
	env = va_arg(ap_, char *const *); \
	va_end(ap_)

EXPORT int execl(const char *path, const char *arg, ...)
{
	char *const *unused;
	GATHER_ARGS(arg, argv, unused);
	(void)unused;
	return local_execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *const *unused;
	GATHER_ARGS(arg, argv, unused);
	(void)unused;
	return local_execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	GATHER_ARGS(arg, argv, envp);
	return local_execve(path, argv, envp);
}

extern void *__sbrk(intptr_t);   /* glibc exports no __brk: brk is a move of sbrk's */

EXPORT void *sbrk(intptr_t inc)
{
	if (!ag_guard_enter())
		return __sbrk(inc);
	void *r = mapping_sbrk(inc);
	ag_guard_leave();
	return r;
}

EXPORT int brk(void *addr)
{
	if (!ag_guard_enter()) {
		char *cur = __sbrk(0);
		return cur == (void *)-1 || __sbrk((char *)addr - cur) == (void *)-1 ? -1 : 0;
	}
	int rc = mapping_brk(addr);
	ag_guard_leave();
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

static void before_drop(void)
{
	if (ag_ready() && !ag_in_hook)
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
	return (int)sys_syscall(SYS_pipe2, fds, flags);
}

/* syscall(SYS_seccomp, ...), entered by a jump from the syscall hook with the caller's
 * arguments in place: a filter installed is noted (sandbox.h). */
__attribute__((used)) static long seccomp_syscall(long n, long a1, long a2, long a3, long a4,
						 long a5, long a6)
{
	if (a1 == SECCOMP_SET_MODE_STRICT || a1 == SECCOMP_SET_MODE_FILTER) {
		before_drop();
		sandbox_before_filter();
	}
	long r = arch_syscall6(n, a1, a2, a3, a4, a5, a6);
	if (r < 0 && r >= -4095) {
		errno = (int)-r;
		return -1;
	}
	if (a1 == SECCOMP_SET_MODE_STRICT || a1 == SECCOMP_SET_MODE_FILTER)
		sandbox_note_filter();
	return r;
}

/* syscall(2): an assembly entry of its own (arch.h), which hands libunwind's calls to
 * fdguard_syscall and passes everyone else's straight to the kernel. */
__asm__(ARCH_SYSCALL_HOOK_ASM);

/* glibc's pthread_getattr_np holds the thread's lock while it reallocs: an allocation hook
 * must not ask for its own thread's stack then (stacks.c). */
EXPORT int pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	static void *fn;
	int (*real)(pthread_t, pthread_attr_t *) =
		(int (*)(pthread_t, pthread_attr_t *))next_cached("pthread_getattr_np", &fn);
	if (!real)
		return ENOSYS;
	stacks_getattr(1);
	int rc = real(th, attr);
	stacks_getattr(-1);
	return rc;
}

/* exit() from a second thread while the first is ending the process would end it in the
 * middle of the exit snapshot (writer.c). */
EXPORT void exit(int status)
{
	static void *fn;
	void (*real)(int) = (void (*)(int))next_cached("exit", &fn);
	writer_exit_called();
	if (real)
		real(status);
	_exit(status);
}

/* Seccomp (sandbox.h): a filter the program installs is noted, so that the exit path makes
 * no system call it could punish.  Both calls are passed on unchanged. */
EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a[4];
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	static void *fn;
	int (*real)(int, ...) = (int (*)(int, ...))next_cached("prctl", &fn);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (option == PR_SET_SECCOMP) {
		before_drop();   /* the log is created while opening files is still allowed */
		sandbox_before_filter();
	}
	int r = real(option, a[0], a[1], a[2], a[3]);
	if (option == PR_SET_SECCOMP && r == 0)
		sandbox_note_filter();   /* no system call: allowed even under strict mode */
	return r;
}
