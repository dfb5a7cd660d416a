/* account.h: the exact live totals (heap, committed mappings, swapped model files) and
 * their peaks.  Lock-free counters; what may be added is cap.c's decision, not ours.
 *
 * Two views.  The kinds (and their sum, tracked) count memory the program holds: what a
 * snapshot shows and what the peaks follow.  With a cap there is also the admitted total,
 * the cap's view: the kinds plus requests admitted and not yet obtained.  A request enters
 * the admitted total only if it fits under the limit (compare-and-swap), so a refused
 * request is never seen by anyone; without a cap the admitted total is not kept and
 * counting is one atomic add. */
#ifndef ALLOCGUARD_ACCOUNT_H
#define ALLOCGUARD_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { ACC_HEAP, ACC_MAPPED, ACC_SWAPPED, ACC_KINDS } acc_kind_t;

typedef struct {
	uint64_t tracked, heap, mapped, swapped;
	uint64_t peak_tracked, peak_heap, peak_mapped;
} account_totals_t;

/* Keep the admitted total from now on, starting from the kinds' sum (cap.c, at init). */
void account_keep_admitted(void);
/* Admit bytes to the admitted total if it stays at or under limit: 0, or ENOMEM with
 * nothing changed.  *total is the admitted total the decision saw, before the request.
 * Without account_keep_admitted, always admits. */
int account_admit(uint64_t bytes, uint64_t limit, uint64_t *total);
/* Give back an admission whose memory was never obtained. */
void account_unadmit(uint64_t bytes);
/* Admitted memory was obtained: it now counts in its kind.  Peaks are not touched (see
 * account_raise_peaks). */
void account_obtained(acc_kind_t kind, uint64_t bytes);
/* Admit without a limit and count at once; returns the admitted total after (or the
 * tracked total, without a cap). */
uint64_t account_add(acc_kind_t kind, uint64_t bytes);
/* Raise the peaks to the current totals; called once memory was really obtained. */
void account_raise_peaks(void);
/* Out of its kind only: the admitted total keeps the bytes (as a thread's credit). */
void account_forget(acc_kind_t kind, uint64_t bytes);
/* Memory given back: out of its kind and out of the admitted total. */
void account_sub(acc_kind_t kind, uint64_t bytes);
/* The kinds' sum, and the admitted total (the kinds' sum without a cap). */
uint64_t account_tracked(void);
uint64_t account_admitted(void);
/* One coherent set of figures for a snapshot: tracked is the sum of the kinds read (the
 * heap with what threads counted and did not flush yet, credit.h), and
 * every peak is at least its current value (peaks are raised to what was read, so a peak
 * never falls from one snapshot to the next either). */
void account_read(account_totals_t *t);

#endif
