/* sys.c: raw syscalls and internal memory for the preload (see sys.h).  Nothing here calls
 * malloc or any hooked libc function. */
#include "sys.h"
#include "arch.h"
#include "fmt.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

long sys_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long r = arch_syscall6(n, a1, a2, a3, a4, a5, a6);
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

int sys_close(int fd)
{
	return (int)sys_syscall(SYS_close, fd);
}

ssize_t sys_read(int fd, void *buf, size_t n)
{
	return sys_syscall(SYS_read, fd, buf, n);
}

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)sys_syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int sys_munmap(void *addr, size_t len)
{
	return (int)sys_syscall(SYS_munmap, addr, len);
}

void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	return (void *)sys_syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

int sys_mprotect(void *addr, size_t len, int prot)
{
	return (int)sys_syscall(SYS_mprotect, addr, len, prot);
}

size_t sys_page_size(void)
{
	static size_t page;
	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

/* Registry of internal regions.  Small and rarely written, so one lock is fine here. */
#define SYS_MAX_REGIONS 2048
static struct { uintptr_t lo, hi; } regions[SYS_MAX_REGIONS];
static size_t nregions;
static pthread_mutex_t regions_lock = PTHREAD_MUTEX_INITIALIZER;

static void *alloc_flags(size_t bytes, int flags)
{
	size_t page = sys_page_size();
	bytes = (bytes + page - 1) & ~(page - 1);
	int saved = errno;
	void *p = sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags,
			   -1, 0);
	errno = saved;
	if (p == MAP_FAILED)
		return NULL;
	static bool said;
	bool say = false;
	pthread_mutex_lock(&regions_lock);
	if (nregions < SYS_MAX_REGIONS) {
		regions[nregions].lo = (uintptr_t)p;
		regions[nregions].hi = (uintptr_t)p + bytes;
		nregions++;
	} else if (!said) {
		said = say = true;
	}
	pthread_mutex_unlock(&regions_lock);
	if (say)
		fmt_say("internal region table full: the exit scan may see some of allocguard's "
			"own memory as the program's");
	return p;
}

void *sys_alloc(size_t bytes, bool reserve)
{
	return alloc_flags(bytes, reserve ? MAP_NORESERVE : 0);
}

void *sys_alloc_populated(size_t bytes)
{
	return alloc_flags(bytes, MAP_POPULATE);
}

void sys_free(void *p, size_t bytes)
{
	if (!p)
		return;
	size_t page = sys_page_size();
	bytes = (bytes + page - 1) & ~(page - 1);
	pthread_mutex_lock(&regions_lock);
	for (size_t i = 0; i < nregions; i++) {
		if (regions[i].lo == (uintptr_t)p) {
			regions[i] = regions[--nregions];
			break;
		}
	}
	pthread_mutex_unlock(&regions_lock);
	int saved = errno;
	sys_munmap(p, bytes);
	errno = saved;
}

size_t sys_internal_regions(uintptr_t (*out)[2], size_t max)
{
	pthread_mutex_lock(&regions_lock);
	size_t n = nregions < max ? nregions : max;
	for (size_t i = 0; i < n; i++) {
		out[i][0] = regions[i].lo;
		out[i][1] = regions[i].hi;
	}
	pthread_mutex_unlock(&regions_lock);
	for (size_t i = 1; i < n; i++) {   /* insertion sort: a few hundred entries */
		uintptr_t lo = out[i][0], hi = out[i][1];
		size_t j = i;
		for (; j > 0 && out[j - 1][0] > lo; j--) {
			out[j][0] = out[j - 1][0];
			out[j][1] = out[j - 1][1];
		}
		out[j][0] = lo;
		out[j][1] = hi;
	}
	return n;
}

void sys_lock(void) { pthread_mutex_lock(&regions_lock); }
void sys_unlock(void) { pthread_mutex_unlock(&regions_lock); }
bool sys_trylock(void) { return pthread_mutex_trylock(&regions_lock) == 0; }
void sys_reinit_lock(void) { pthread_mutex_init(&regions_lock, NULL); }

uint64_t sys_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sys_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

pid_t sys_gettid(void)
{
	return (pid_t)sys_syscall(SYS_gettid);
}
