/* fdguard.c: libunwind's memory validation without descriptors (see fdguard.h).  Checked
 * against libunwind 1.6.2's src/x86_64/Ginit.c: write_validate reads mem_validate_pipe[0]
 * (a failure other than EAGAIN makes open_pipe close both ends, skipping -1, and call
 * pipe2 again), then syscall(SYS_write, mem_validate_pipe[1], addr, 1); only -1 means
 * "invalid".  Nothing here touches a descriptor. */
#include "fdguard.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

uintptr_t fdguard_unw_lo, fdguard_unw_len;

void fdguard_init(uintptr_t lo, uintptr_t hi)
{
	if (hi <= lo)
		return;
	fdguard_unw_lo = lo;
	fdguard_unw_len = hi - lo;
}

static long raw6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

long fdguard_syscall_error(long rax)
{
	errno = (int)-rax;
	return -1;
}

/* Is the byte at p readable?  process_vm_readv on ourselves copies it with the kernel's
 * checks, as write(2) from it would; where that call is not allowed (seccomp), a private
 * FUTEX_WAIT with a zero timeout reads the word holding it (EFAULT only when unreadable). */
static bool readable(const void *p)
{
	char byte;
	struct iovec here = { &byte, 1 }, there = { (void *)p, 1 };
	long pid = raw6(SYS_getpid, 0, 0, 0, 0, 0, 0);
	long r = raw6(SYS_process_vm_readv, pid, (long)&here, 1, (long)&there, 1, 0);
	if (r == 1)
		return true;
	if (r == -EFAULT)
		return false;
	struct timespec zero = { 0, 0 };
	uintptr_t word = (uintptr_t)p & ~(uintptr_t)3;
	r = raw6(SYS_futex, (long)word, FUTEX_WAIT_PRIVATE, 0x5a5a5a5a, (long)&zero, 0, 0);
	return r != -EFAULT;
}

ssize_t fdguard_read(int fd, void *buf, size_t n)
{
	errno = EAGAIN;   /* an empty non-blocking pipe: nothing to drain, nothing to re-create */
	return -1;
}

int fdguard_pipe2(int fds[2], int flags)
{
	fds[0] = fds[1] = -1;   /* any later read or write on -1 fails without touching an fd */
	return 0;
}

long fdguard_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	if (n == SYS_write && a3 == 1) {
		if (readable((const void *)a2))
			return 1;
		errno = EFAULT;
		return -1;
	}
	long r = raw6(n, a1, a2, a3, a4, a5, a6);
	return r < 0 && r >= -4095 ? fdguard_syscall_error(r) : r;
}
