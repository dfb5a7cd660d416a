/* unwindshim.c: what stack capture needs from libc's names.  libunwind validates memory
 * with read, pipe2 and syscall(2): only calls made from libunwind's own code are answered
 * by fdguard.h (without descriptors), everyone else's go to libc or the kernel unchanged.
 * pthread_getattr_np is marked for stacks.c.  syscall(2) is an assembly entry (arch.h),
 * which also sends syscall(SYS_seccomp, ...) to hooks_priv.c. */
#include "arch.h"
#include "fdguard.h"
#include "hooks.h"
#include "stacks.h"
#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* syscall(2): an assembly entry of its own (arch.h), which hands libunwind's calls to
 * fdguard_syscall, SYS_seccomp to priv_seccomp_syscall (hooks_priv.c), and everyone
 * else's straight to the kernel. */
__asm__(ARCH_SYSCALL_HOOK_ASM);

/* glibc's pthread_getattr_np holds the thread's lock while it reallocs: an allocation hook
 * must not ask for its own thread's stack then (stacks.c). */
EXPORT int pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	static void *fn;
	int (*real)(pthread_t, pthread_attr_t *) =
		(int (*)(pthread_t, pthread_attr_t *))hooks_next("pthread_getattr_np", &fn);
	if (!real)
		return ENOSYS;
	stacks_getattr(1);
	int rc = real(th, attr);
	stacks_getattr(-1);
	return rc;
}
