/* memavail.h: the process's memory room, the one place that reads cgroups: how much more
 * memory it can fill before the kernel must kill something (the tightest of the system's
 * MemAvailable and, for every memory cgroup the process is in (v2 and v1, and each of
 * their ancestors), the limit minus the anonymous memory already in it), and the memory
 * it may use at all (the tightest cgroup limit, else physical memory).  Read on demand
 * from /proc and /sys; no malloc.  Shared by the preload and the CLI. */
#ifndef ALLOCGUARD_MEMAVAIL_H
#define ALLOCGUARD_MEMAVAIL_H

#include <stdint.h>

typedef struct {
	uint64_t bytes;      /* UINT64_MAX when nothing could be read */
	const char *where;   /* "cgroup" or "system" (MemAvailable), for messages */
	uint64_t limit;      /* the tightest cgroup limit, else physical memory; 0 unknown */
} memavail_t;

memavail_t memavail_now(void);
/* memavail_now().limit: what "N%" of memory means in options. */
uint64_t memavail_limit(void);

#endif
