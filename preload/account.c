/* account.c: lock-free live totals and peaks (see account.h).  Each counter sits on its own
 * cache line so heap traffic does not bounce the mapping counters. */
#include "account.h"
#include "peak.h"

#include <stdatomic.h>

typedef struct {
	_Alignas(64) _Atomic uint64_t v;
} counter_t;

/* tracked = the sum of the kinds: one atomic add per allocation, not two. */
static counter_t kinds[ACC_KINDS], peak_tracked, peak_kind[ACC_KINDS];

static uint64_t others(acc_kind_t kind)
{
	uint64_t sum = 0;
	for (int k = 0; k < ACC_KINDS; k++)
		if (k != (int)kind)
			sum += atomic_load_explicit(&kinds[k].v, memory_order_relaxed);
	return sum;
}

static void raise_peak(counter_t *peak, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(&peak->v, memory_order_relaxed);
	while (v > cur &&
	       !atomic_compare_exchange_weak_explicit(&peak->v, &cur, v, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

uint64_t account_add(acc_kind_t kind, uint64_t bytes)
{
	uint64_t k = atomic_fetch_add_explicit(&kinds[kind].v, bytes, memory_order_relaxed) + bytes;
	return k + others(kind);
}

void account_raise_peaks(void)
{
	uint64_t sum = 0;
	for (int k = 0; k < ACC_KINDS; k++) {
		uint64_t v = atomic_load_explicit(&kinds[k].v, memory_order_relaxed);
		raise_peak(&peak_kind[k], v);
		sum += v;
	}
	raise_peak(&peak_tracked, sum);
	peak_moved(sum);
}

void account_sub(acc_kind_t kind, uint64_t bytes)
{
	atomic_fetch_sub_explicit(&kinds[kind].v, bytes, memory_order_relaxed);
}

uint64_t account_tracked(void)
{
	return others(ACC_KINDS);
}

void account_read(account_totals_t *t)
{
	t->heap = atomic_load_explicit(&kinds[ACC_HEAP].v, memory_order_relaxed);
	t->mapped = atomic_load_explicit(&kinds[ACC_MAPPED].v, memory_order_relaxed);
	t->swapped = atomic_load_explicit(&kinds[ACC_SWAPPED].v, memory_order_relaxed);
	t->tracked = t->heap + t->mapped + t->swapped;
	t->peak_tracked = atomic_load_explicit(&peak_tracked.v, memory_order_relaxed);
	t->peak_heap = atomic_load_explicit(&peak_kind[ACC_HEAP].v, memory_order_relaxed);
	t->peak_mapped = atomic_load_explicit(&peak_kind[ACC_MAPPED].v, memory_order_relaxed);
}
