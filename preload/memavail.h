/* memavail.h: how much more memory this process can fill before the kernel must kill
 * something: the tightest of the system's MemAvailable and, for every memory cgroup the
 * process is in (v2 and v1, and each of their ancestors), the limit minus the anonymous
 * memory already in it.  Read on demand from /proc and /sys; no malloc. */
#ifndef ALLOCGUARD_MEMAVAIL_H
#define ALLOCGUARD_MEMAVAIL_H

#include <stdint.h>

typedef struct {
	uint64_t bytes;      /* UINT64_MAX when nothing could be read */
	const char *where;   /* "cgroup" or "system" (MemAvailable), for messages */
} memavail_t;

memavail_t memavail_now(void);

#endif
