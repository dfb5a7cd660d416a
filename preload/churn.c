/* churn.c: temporary allocations and requested sizes (see churn.h).  The thread's last
 * allocation lives in initial-exec TLS (three stores per allocation, one compare per
 * free).  The histogram is split in shards, a thread writing to its own, so threads do
 * not fight over one cache line; the writer adds the shards up. */
#include "churn.h"
#include "stacktab.h"

#include <stdatomic.h>

#define SHARDS 16

static __thread const void *last_ptr;
static __thread uint32_t last_stack;
static __thread uint32_t last_count;
static __thread uint32_t shard;        /* 0: not chosen yet; else index + 1 */
static _Atomic uint32_t next_shard;
static _Atomic uint64_t hist[SHARDS][AG_SIZE_BUCKETS];

void churn_alloc(const void *p, uint64_t size, uint32_t stack, uint64_t count)
{
	last_ptr = p;
	last_stack = stack;
	last_count = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
	if (__builtin_expect(!shard, 0))
		shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % SHARDS + 1;
	atomic_fetch_add_explicit(&hist[shard - 1][ag_size_bucket(size)], 1,
				  memory_order_relaxed);
}

void churn_free(const void *p)
{
	if (p != last_ptr || !p)
		return;
	last_ptr = 0;
	if (last_stack)
		stacktab_temporary(last_stack, last_count);
}

void churn_sizes(uint64_t out[AG_SIZE_BUCKETS])
{
	for (unsigned k = 0; k < AG_SIZE_BUCKETS; k++) {
		out[k] = 0;
		for (unsigned s = 0; s < SHARDS; s++)
			out[k] += atomic_load_explicit(&hist[s][k], memory_order_relaxed);
	}
}
