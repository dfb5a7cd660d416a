/* account.h: the exact live totals (heap, committed mappings, swapped model files) and
 * their peaks.  Lock-free counters, written by cap.c only (cap.h is the way in): what may
 * be added is its decision, not ours.
 *
 * Two views.  The kinds (and their sum, tracked) count memory the program holds: what a
 * snapshot shows and what the peaks follow.  With a cap there is also the admitted total,
 * the cap's view: the kinds plus requests admitted and not yet obtained.  A request enters
 * the admitted total only if it fits under the limit (compare-and-swap), so a refused
 * request is never seen by anyone; without a cap the admitted total is not kept and
 * counting is one atomic add. */
#ifndef ALLOCGUARD_ACCOUNT_H
#define ALLOCGUARD_ACCOUNT_H

#include "check.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { ACC_HEAP, ACC_MAPPED, ACC_SWAPPED, ACC_KINDS } acc_kind_t;

typedef struct {
	uint64_t tracked, heap, mapped, swapped;
	uint64_t peak_tracked, peak_heap, peak_mapped;
} account_totals_t;

typedef struct {
	_Alignas(64) _Atomic uint64_t v;
} account_counter_t;

/* The kinds' totals, each on its own cache line so heap traffic does not bounce the mapping
 * counters; written through account_count only. */
extern account_counter_t account_kinds[ACC_KINDS];

/* Keep the admitted total from now on, starting from what the program holds (cap.c, when a
 * cap is set; the threads' credit was taken back first). */
void account_keep_admitted(void);
/* Admit bytes to the admitted total if it stays at or under limit: 0, or ENOMEM with
 * nothing changed.  *total is the admitted total the decision saw, before the request.
 * Without account_keep_admitted, always admits. */
int account_admit(uint64_t bytes, uint64_t limit, uint64_t *total);
/* Give back to the admitted total: an admission whose memory was never obtained, or
 * memory released. */
void account_unadmit(uint64_t bytes);

/* Move a kind's total by delta (obtained: up; released: down).  The admitted total and the
 * peaks are not touched.  A kind never goes below what it held, except the heap for an
 * instant when threads count on their own (credit.h: one thread's release may be flushed
 * before another's allocation), so the heap's is not asserted. */
static inline void account_count(acc_kind_t kind, int64_t delta)
{
	uint64_t had = atomic_fetch_add_explicit(&account_kinds[kind].v, (uint64_t)delta,
						 memory_order_relaxed);
	AG_ASSERT(kind == ACC_HEAP || delta >= 0 || had >= (uint64_t)-delta);
	(void)had;
}
/* Raise the peaks to the current totals; called once memory was really obtained. */
void account_raise_peaks(void);
/* The kinds' sum, and the admitted total (the kinds' sum without a cap). */
uint64_t account_tracked(void);
uint64_t account_admitted(void);
/* One coherent set of figures for a snapshot: tracked is the sum of the kinds read (the
 * heap with what threads counted and did not flush yet, credit.h), and
 * every peak is at least its current value (peaks are raised to what was read, so a peak
 * never falls from one snapshot to the next either). */
void account_read(account_totals_t *t);

#endif
