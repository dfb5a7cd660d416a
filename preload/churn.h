/* churn.h: how hard the program works the allocator: temporary allocations (freed by the
 * same thread before its next allocation, heaptrack's definition), counted per stack in
 * stacktab, and the histogram of requested sizes (logfmt.h's buckets).  Calls themselves
 * are the stacks' allocation counts (stacktab).  heap.c tells us each allocation and free
 * (inline: a few stores and one atomic add per allocation, one compare per free); the log
 * writer reads the histogram. */
#ifndef ALLOCGUARD_CHURN_H
#define ALLOCGUARD_CHURN_H

#include <stdatomic.h>
#include <stdint.h>

#include "logfmt.h"

/* The calling thread's last allocation, and its histogram shard (NULL until its first).
 * The address is kept disguised (CHURN_HIDE): the exit scan reads threads' TLS for
 * pointers, and ours must not make the program's last block look reachable. */
#define CHURN_HIDE ((uintptr_t)0xa5c3f00fd2e1b44bULL)
typedef struct {
	uintptr_t hidden;            /* the address ^ CHURN_HIDE; 0 = none */
	uint32_t stack;              /* 0: not sampled */
	uint32_t count;              /* its weight, COUNT_ONE units */
	_Atomic uint64_t *row;
} churn_thread_t;
extern __thread churn_thread_t churn_me __attribute__((tls_model("initial-exec")));

_Atomic uint64_t *churn_row(void);
void churn_temporary(void);

/* The calling thread allocated p (size bytes requested), attributed to stack (0: not
 * sampled) with weight count (COUNT_ONE units). */
static inline void churn_alloc(const void *p, uint64_t size, uint32_t stack, uint64_t count)
{
	churn_thread_t *m = &churn_me;
	m->hidden = (uintptr_t)p ^ CHURN_HIDE;
	m->stack = stack;
	m->count = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
	_Atomic uint64_t *row = m->row;
	if (__builtin_expect(!row, 0))
		row = churn_row();
	atomic_fetch_add_explicit(&row[ag_size_bucket(size)], 1, memory_order_relaxed);
}

/* The calling thread frees p (or reallocs it): a temporary allocation when p is the
 * thread's last one. */
static inline void churn_free(const void *p)
{
	if (__builtin_expect(((uintptr_t)p ^ CHURN_HIDE) == churn_me.hidden, 0) && p)
		churn_temporary();
}

/* The histogram so far: out[k] calls of a size in bucket k (ag_size_bucket). */
void churn_sizes(uint64_t out[AG_SIZE_BUCKETS]);

#endif
