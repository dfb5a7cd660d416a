/* peak.c: the peak epoch and the totals by kind at the peak (see peak.h).
 *
 * Exactness: in a single-threaded program every stack change comes before the peak_moved()
 * of the same allocation, so the figures kept at the epoch are exactly those at the peak.
 * With threads, another thread's allocation or free may sit between its stack update and
 * its accounting (or between our CAS and the epoch bump) when the peak moves: the per-site
 * figures at the peak can then be off by at most one block per other thread in flight. */
#include "peak.h"

_Atomic uint64_t peak_epoch_now = 1;
_Atomic uint64_t peak_mark;
static _Atomic uint64_t at_heap, at_mapped, at_swapped;

void peak_moved(const uint64_t kinds[ACC_KINDS])
{
	uint64_t tracked = kinds[ACC_HEAP] + kinds[ACC_MAPPED] + kinds[ACC_SWAPPED];
	uint64_t cur = atomic_load_explicit(&peak_mark, memory_order_relaxed);
	while (tracked > cur) {
		if (!atomic_compare_exchange_weak_explicit(&peak_mark, &cur, tracked, memory_order_relaxed,
							   memory_order_relaxed))
			continue;
		atomic_fetch_add_explicit(&peak_epoch_now, 1, memory_order_acq_rel);
		atomic_store_explicit(&at_heap, kinds[ACC_HEAP], memory_order_relaxed);
		atomic_store_explicit(&at_mapped, kinds[ACC_MAPPED], memory_order_relaxed);
		atomic_store_explicit(&at_swapped, kinds[ACC_SWAPPED], memory_order_relaxed);
		return;
	}
}

void peak_read(peak_totals_t *p)
{
	p->tracked = atomic_load_explicit(&peak_mark, memory_order_relaxed);
	p->heap = atomic_load_explicit(&at_heap, memory_order_relaxed);
	p->mapped = atomic_load_explicit(&at_mapped, memory_order_relaxed);
	p->swapped = atomic_load_explicit(&at_swapped, memory_order_relaxed);
}
