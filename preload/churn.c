/* churn.c: temporary allocations and requested sizes (see churn.h).  The thread's last
 * allocation lives in initial-exec TLS.  The histogram is split in shards, each thread
 * writing to one of its own choosing, so threads rarely share a cache line; the writer
 * adds the shards up. */
#include "churn.h"
#include "stacktab.h"

#define SHARDS 32

__thread churn_thread_t churn_me __attribute__((tls_model("initial-exec")));
static _Atomic uint32_t next_shard;
static _Atomic uint64_t hist[SHARDS][AG_SIZE_BUCKETS];

_Atomic uint64_t *churn_row(void)
{
	uint32_t s = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % SHARDS;
	churn_me.row = hist[s];
	return churn_me.row;
}

void churn_temporary(void)
{
	churn_me.hidden = 0;
	if (churn_me.stack)
		stacktab_temporary(churn_me.stack, churn_me.count);
}

void churn_sizes(uint64_t out[AG_SIZE_BUCKETS])
{
	for (unsigned k = 0; k < AG_SIZE_BUCKETS; k++) {
		out[k] = 0;
		for (unsigned s = 0; s < SHARDS; s++)
			out[k] += atomic_load_explicit(&hist[s][k], memory_order_relaxed);
	}
}
