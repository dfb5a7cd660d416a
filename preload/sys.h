/* sys.h: the preload's own access to the kernel: raw mapping syscalls that bypass our hooks,
 * internal memory for tables (never counted, never from malloc), clocks and thread ids.
 * Every internal region is registered so the exit scan can skip our own tables. */
#ifndef ALLOCGUARD_SYS_H
#define ALLOCGUARD_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int sys_munmap(void *addr, size_t len);
void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
int sys_mprotect(void *addr, size_t len, int prot);

/* Zeroed read-write memory for internal tables, rounded up to pages; NULL on failure.
 * `reserve` maps with MAP_NORESERVE for large sparse tables. */
void *sys_alloc(size_t bytes, bool reserve);
void sys_free(void *p, size_t bytes);
/* Copy the internal regions, sorted by address, into out; returns how many (at most max).
 * The kernel merges neighbouring anonymous mappings, so one line of /proc/self/maps may
 * hold internal memory and the program's memory side by side. */
size_t sys_internal_regions(uintptr_t (*out)[2], size_t max);

/* fork support: the region registry's lock is the innermost of the preload's locks. */
void sys_lock(void);
void sys_unlock(void);
void sys_reinit_lock(void);

uint64_t sys_now_ns(void);      /* CLOCK_MONOTONIC */
uint64_t sys_wall_ns(void);     /* CLOCK_REALTIME */
pid_t sys_gettid(void);
/* close(2) past our own hook (which refuses the guard's numbers) and never a cancellation
 * point. */
int sys_close(int fd);
size_t sys_page_size(void);

#endif
