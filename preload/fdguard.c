/* fdguard.c: the guard's descriptors kept apart from the program's (see fdguard.h).
 * libunwind's memory validation without descriptors is checked
 * against libunwind 1.6.2's src/x86_64/Ginit.c: write_validate reads mem_validate_pipe[0]
 * (a failure other than EAGAIN makes open_pipe close both ends, skipping -1, and call
 * pipe2 again), then syscall(SYS_write, mem_validate_pipe[1], addr, 1); only -1 means
 * "invalid".  Nothing here touches a descriptor. */
#include "fdguard.h"
#include "arch.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <sys/resource.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

uintptr_t fdguard_unw_lo, fdguard_unw_len;

long fdguard_syscall_error(long rax)
{
	errno = (int)-rax;
	return -1;
}

extern int __close(int);

static _Atomic int held = -1;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

/* Guard sections and program calls exclude each other (a Dekker pair of counters); a
 * thread inside a guard section (a signal handler there closing something) never waits. */
static _Atomic int guard_active, program_active;
static __thread int in_guard __attribute__((tls_model("initial-exec")));
static __thread int in_program __attribute__((tls_model("initial-exec")));

void fdguard_begin(void)
{
	if (in_guard++ || in_program)
		return;   /* nested, or exit() from a signal handler inside a program call */
	for (;;) {
		atomic_fetch_add(&guard_active, 1);
		if (atomic_load(&program_active) == 0)
			return;
		atomic_fetch_sub(&guard_active, 1);
		while (atomic_load(&program_active))
			sched_yield();
	}
}

void fdguard_end(void)
{
	if (--in_guard == 0 && !in_program)
		atomic_fetch_sub(&guard_active, 1);
}

static void program_begin(void)
{
	if (in_guard || in_program++)
		return;
	for (;;) {
		atomic_fetch_add(&program_active, 1);
		if (atomic_load(&guard_active) == 0)
			return;
		atomic_fetch_sub(&program_active, 1);
		while (atomic_load(&guard_active))
			sched_yield();
	}
}

static void program_end(void)
{
	if (!in_guard && --in_program == 0)
		atomic_fetch_sub(&program_active, 1);
}

void fdguard_lock(void) { pthread_mutex_lock(&held_lock); }
void fdguard_unlock(void) { pthread_mutex_unlock(&held_lock); }

void fdguard_reinit_lock(void)
{
	pthread_mutex_init(&held_lock, NULL);
	/* Only the forking thread lives on, and it was in neither kind of section. */
	atomic_store(&guard_active, 0);
	atomic_store(&program_active, 0);
	in_guard = in_program = 0;
}
int fdguard_held(void) { return atomic_load(&held); }
void fdguard_forget(void) { atomic_store(&held, -1); }

/* Above what programs usually pick (shells use 10 and 255), below the usual 1024 limit
 * (select() users), and never where it would grow the descriptor table much. */
static int high_number(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 64)
		return 3;
	return rl.rlim_cur >= 1024 ? 1000 : (int)rl.rlim_cur - 24;
}

/* Called inside a guard section (fdguard_begin), where the program cannot be in the middle
 * of a dup2 onto the number chosen. */
int fdguard_hold(int fd)
{
	int n = (int)arch_syscall6(SYS_fcntl, fd, F_DUPFD_CLOEXEC, high_number(), 0, 0, 0);
	if (n >= 0) {
		arch_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
		fd = n;
	}
	atomic_store(&held, fd);
	return fd;
}

int fdguard_close(int fd)
{
	program_begin();
	int r;
	if (fd >= 0 && fd == atomic_load(&held)) {
		errno = EBADF;   /* what the program gets for any number it never opened */
		r = -1;
	} else {
		r = __close(fd);
	}
	program_end();
	return r;
}

static int close_span(unsigned lo, unsigned hi, int flags)
{
	if (lo > hi)
		return 0;
	long r = arch_syscall6(SYS_close_range, lo, hi, flags, 0, 0, 0);
	return r < 0 ? (int)fdguard_syscall_error(r) : 0;
}

static int close_range_skipping_held(unsigned lo, unsigned hi, int flags)
{
	int h = atomic_load(&held);
	if (h < 0 || (unsigned)h < lo || (unsigned)h > hi)
		return close_span(lo, hi, flags);
	int r = (unsigned)h > lo ? close_span(lo, (unsigned)h - 1, flags) : 0;
	if (r == 0 && (unsigned)h < hi)
		r = close_span((unsigned)h + 1, hi, flags);
	return r;
}

int fdguard_close_range(unsigned lo, unsigned hi, int flags)
{
	program_begin();
	int r = close_range_skipping_held(lo, hi, flags);
	program_end();
	return r;
}

void fdguard_closefrom(int lo)
{
	int saved = errno;
	if (lo < 0)
		lo = 0;
	program_begin();
	if (close_range_skipping_held((unsigned)lo, ~0u, 0) != 0) {
		/* No close_range (Linux < 5.9): one by one, up to the limit. */
		struct rlimit rl;
		long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20)
				   ? (long)rl.rlim_cur : 1 << 20;
		for (long fd = lo; fd < max; fd++)
			if (fd != atomic_load(&held))
				arch_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
	}
	program_end();
	errno = saved;
}

/* Before the program's dup2/dup3 onto newfd: ours moves away. */
static void make_room(int newfd)
{
	if (newfd < 0 || newfd != atomic_load(&held))
		return;
	pthread_mutex_lock(&held_lock);
	int h = atomic_load(&held);
	if (h == newfd) {
		/* A copy elsewhere; the program's dup2 then replaces the old number. */
		int n = (int)arch_syscall6(SYS_fcntl, h, F_DUPFD_CLOEXEC, h + 1, 0, 0, 0);
		atomic_store(&held, n >= 0 ? n : -1);
	}
	pthread_mutex_unlock(&held_lock);
}

void fdguard_init(uintptr_t lo, uintptr_t hi)
{
	if (hi <= lo)
		return;
	fdguard_unw_lo = lo;
	fdguard_unw_len = hi - lo;
}

/* Is the byte at p readable?  process_vm_readv on ourselves copies it with the kernel's
 * checks, as write(2) from it would; where that call is not allowed (seccomp), a private
 * FUTEX_WAIT with a zero timeout reads the word holding it (EFAULT only when unreadable). */
static bool readable(const void *p)
{
	char byte;
	struct iovec here = { &byte, 1 }, there = { (void *)p, 1 };
	long pid = arch_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
	long r = arch_syscall6(SYS_process_vm_readv, pid, (long)&here, 1, (long)&there, 1, 0);
	if (r == 1)
		return true;
	if (r == -EFAULT)
		return false;
	struct timespec zero = { 0, 0 };
	uintptr_t word = (uintptr_t)p & ~(uintptr_t)3;
	r = arch_syscall6(SYS_futex, (long)word, FUTEX_WAIT_PRIVATE, 0x5a5a5a5a, (long)&zero, 0, 0);
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
	long r = arch_syscall6(n, a1, a2, a3, a4, a5, a6);
	return r < 0 && r >= -4095 ? fdguard_syscall_error(r) : r;
}

int fdguard_dup3(int old, int new, int flags, bool is_dup2)
{
	/* make_room may wait for a snapshot (held_lock), which may wait for program calls to
	 * drain: so outside the program section, and checked again inside it, where no new
	 * number can be held. */
	for (;;) {
		if (old != new)
			make_room(new);
		program_begin();
		if (old == new || new != atomic_load(&held))
			break;
		program_end();
	}
	long r = is_dup2 ? arch_syscall6(SYS_dup2, old, new, 0, 0, 0, 0)
			 : arch_syscall6(SYS_dup3, old, new, flags, 0, 0, 0);
	program_end();
	return r < 0 ? (int)fdguard_syscall_error(r) : (int)r;
}
