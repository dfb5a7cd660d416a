/* sys.h: the preload's own access to the kernel: raw syscalls that bypass our hooks,
 * internal memory for tables (never counted, never from malloc), clocks and thread ids.
 * Every internal region is registered so the exit scan can skip our own tables. */
#ifndef ALLOCGUARD_SYS_H
#define ALLOCGUARD_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* syscall(2) without the hook of that name: -1 and errno on failure.  Call it as
 * sys_syscall(SYS_x, args...) with up to six arguments. */
long sys_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6);
#define SYS_SYSCALL_(n, a1, a2, a3, a4, a5, a6, ...) \
	sys_syscall6((n), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), (long)(a6))
#define sys_syscall(...) SYS_SYSCALL_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)
/* close(2) and read(2), never the library's own hooks of those names. */
int sys_close(int fd);
ssize_t sys_read(int fd, void *buf, size_t n);

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int sys_munmap(void *addr, size_t len);
void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
int sys_mprotect(void *addr, size_t len, int prot);

/* Zeroed read-write memory for internal tables, rounded up to pages; NULL on failure.
 * `reserve` maps with MAP_NORESERVE for large sparse tables. */
void *sys_alloc(size_t bytes, bool reserve);
/* The same with every page made present at once (one call instead of a read fault on the
 * zero page and a copy-on-write fault per page), for a table about to be filled. */
void *sys_alloc_populated(size_t bytes);
void sys_free(void *p, size_t bytes);
/* Copy the internal regions, sorted by address, into out; returns how many (at most max).
 * The kernel merges neighbouring anonymous mappings, so one line of /proc/self/maps may
 * hold internal memory and the program's memory side by side. */
size_t sys_internal_regions(uintptr_t (*out)[2], size_t max);

/* fork support: the region registry's lock is the innermost of the preload's locks. */
void sys_lock(void);
void sys_unlock(void);
bool sys_trylock(void);   /* without waiting: whether it is ours now */
void sys_reinit_lock(void);

uint64_t sys_now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t sys_wall_ns(void);     /* CLOCK_REALTIME */
pid_t sys_gettid(void);
size_t sys_page_size(void);

#endif
