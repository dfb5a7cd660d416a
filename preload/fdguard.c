/* fdguard.c: the guard's descriptors kept apart from the program's (see fdguard.h).
 * libunwind's memory validation without descriptors is checked
 * against libunwind 1.6.2's src/x86_64/Ginit.c: write_validate reads mem_validate_pipe[0]
 * (a failure other than EAGAIN makes open_pipe close both ends, skipping -1, and call
 * pipe2 again), then syscall(SYS_write, mem_validate_pipe[1], addr, 1); only -1 means
 * "invalid".  Nothing here touches a descriptor. */
#include "fdguard.h"
#include "arch.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* Guard sections (the guard's own brief descriptor) and the program's descriptor calls.
 * Only the guard publishes state: the program's calls wait (boundedly) for a section to
 * end and keep no state of their own across the real call, so a call that never returns
 * (a thread cancelled inside close, a signal handler that siglongjmps out of it, a close
 * lingering for seconds) can hold nothing up.  The guard never waits for the program. */
static _Atomic uint32_t sections;       /* futex word: guard sections in progress */
static _Atomic int brief[2] = { -1, -1 };   /* the section's descriptors, once opened */
static __thread int in_guard __attribute__((tls_model("initial-exec")));

/* A section is a few system calls; a longer one (the guard's thread stopped, or a jump out
 * of it) is given up on after this, so the program is never held for longer. */
#define SECTION_WAIT_MS 200

void fdguard_begin(void)
{
	if (in_guard++ == 0)
		atomic_fetch_add(&sections, 1);
}

void fdguard_brief(int fd)
{
	int expected = -1;
	if (!atomic_compare_exchange_strong(&brief[0], &expected, fd))
		atomic_store(&brief[1], fd);
}

static void unbrief(int fd)
{
	for (int i = 0; i < 2; i++) {
		int expected = fd;
		atomic_compare_exchange_strong(&brief[i], &expected, -1);
	}
}

void fdguard_brief_close(int fd)
{
	arch_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
	unbrief(fd);
}

void fdguard_end(void)
{
	if (--in_guard == 0) {
		atomic_store(&brief[0], -1);
		atomic_store(&brief[1], -1);
		if (atomic_fetch_sub(&sections, 1) == 1)
			arch_syscall6(SYS_futex, (long)&sections, FUTEX_WAKE_PRIVATE, 0x7fffffff, 0, 0, 0);
	}
}

/* Before a program call that could close or replace a descriptor: no guard section in
 * another thread.  A raw futex wait: not a cancellation point, errno untouched. */
static void program_wait(void)
{
	if (in_guard)
		return;   /* a signal handler inside our own section: it must not wait for itself */
	for (int waited = 0; waited < SECTION_WAIT_MS; waited += 10) {
		uint32_t n = atomic_load(&sections);
		if (n == 0)
			return;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		arch_syscall6(SYS_futex, (long)&sections, FUTEX_WAIT_PRIVATE, n, (long)&ts, 0, 0);
	}
}

/* A number the program must not close or replace: ours. */
static bool guards(int fd)
{
	return fd >= 0 && (fd == atomic_load(&held) || fd == atomic_load(&brief[0]) ||
			   fd == atomic_load(&brief[1]));
}

void fdguard_lock(void) { pthread_mutex_lock(&held_lock); }
void fdguard_unlock(void) { pthread_mutex_unlock(&held_lock); }
bool fdguard_trylock(void) { return pthread_mutex_trylock(&held_lock) == 0; }

void fdguard_reinit_lock(void)
{
	pthread_mutex_init(&held_lock, NULL);
	/* Only the forking thread lives on, and it was in no section. */
	atomic_store(&sections, 0);
	atomic_store(&brief[0], -1);
	atomic_store(&brief[1], -1);
	in_guard = 0;
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
		fdguard_brief_close(fd);
		fd = n;
	}
	atomic_store(&held, fd);
	return fd;
}

int fdguard_close(int fd)
{
	program_wait();
	if (guards(fd)) {
		errno = EBADF;   /* what the program gets for any number it never opened */
		return -1;
	}
	return __close(fd);   /* a cancellation point, as the program expects; nothing after */
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
	if (lo > hi) {
		errno = EINVAL;   /* as the kernel answers; the spans below would skip it */
		return -1;
	}
	program_wait();
	return close_range_skipping_held(lo, hi, flags);
}

void fdguard_closefrom(int lo)
{
	int saved = errno;
	if (lo < 0)
		lo = 0;
	program_wait();
	if (close_range_skipping_held((unsigned)lo, ~0u, 0) != 0) {
		/* No close_range (Linux < 5.9): one by one, up to the limit. */
		struct rlimit rl;
		long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20)
				   ? (long)rl.rlim_cur : 1 << 20;
		for (long fd = lo; fd < max; fd++)
			if (!guards((int)fd))
				arch_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
	}
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
	long r = 0;
	if (!sandbox_filtered()) {   /* a filter may kill or trap process_vm_readv */
		long pid = arch_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
		r = arch_syscall6(SYS_process_vm_readv, pid, (long)&here, 1, (long)&there, 1, 0);
	}
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
	/* A negative or equal target is the kernel's to refuse (or, for dup2, a no-op):
	 * nothing of ours can be in the way. */
	for (int tries = 0; new >= 0 && old != new && tries < 3; tries++) {
		make_room(new);
		program_wait();   /* a section may have taken the number meanwhile: look again */
		if (!guards(new))
			break;
	}
	long r = is_dup2 ? arch_syscall6(SYS_dup2, old, new, 0, 0, 0, 0)
			 : arch_syscall6(SYS_dup3, old, new, flags, 0, 0, 0);
	return r < 0 ? (int)fdguard_syscall_error(r) : (int)r;
}
