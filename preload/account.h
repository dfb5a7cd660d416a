/* account.h: the exact live totals (heap, committed mappings, swapped model files) and
 * their peaks.  Lock-free counters; what may be added is cap.c's decision, not ours. */
#ifndef ALLOCGUARD_ACCOUNT_H
#define ALLOCGUARD_ACCOUNT_H

#include <stdint.h>

typedef enum { ACC_HEAP, ACC_MAPPED, ACC_SWAPPED, ACC_KINDS } acc_kind_t;

typedef struct {
	uint64_t tracked, heap, mapped, swapped;
	uint64_t peak_tracked, peak_heap, peak_mapped;
} account_totals_t;

/* Add bytes of a kind; returns the new tracked total.  Peaks are not touched: a request
 * the cap refuses is added and taken back, and must not show in the peak. */
uint64_t account_add(acc_kind_t kind, uint64_t bytes);
/* Record that the current totals were reached (after the cap accepted an add). */
void account_raise_peaks(acc_kind_t kind, uint64_t tracked);
void account_sub(acc_kind_t kind, uint64_t bytes);
uint64_t account_tracked(void);
void account_read(account_totals_t *t);

#endif
