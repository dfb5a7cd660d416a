/* churn.h: how hard the program works the allocator: temporary allocations (freed by the
 * same thread before its next allocation, heaptrack's definition), counted per stack in
 * stacktab, and the histogram of requested sizes (logfmt.h's buckets).  Calls themselves
 * are the stacks' allocation counts (stacktab).  heap.c tells us each allocation and free;
 * the log writer reads the histogram. */
#ifndef ALLOCGUARD_CHURN_H
#define ALLOCGUARD_CHURN_H

#include <stdint.h>

#include "logfmt.h"

/* The calling thread allocated p (size bytes requested), attributed to stack (0: not
 * sampled) with weight count (COUNT_ONE units). */
void churn_alloc(const void *p, uint64_t size, uint32_t stack, uint64_t count);
/* The calling thread frees p (or reallocs it): a temporary allocation when p is the
 * thread's last one. */
void churn_free(const void *p);
/* The histogram so far: out[k] calls of a size in bucket k (ag_size_bucket). */
void churn_sizes(uint64_t out[AG_SIZE_BUCKETS]);

#endif
