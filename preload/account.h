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
 * is charged before libc or the kernel is asked, and one that is refused or fails must not
 * show in the peak. */
uint64_t account_add(acc_kind_t kind, uint64_t bytes);
/* Raise the peaks to the current totals; called once memory was really obtained. */
void account_raise_peaks(void);
void account_sub(acc_kind_t kind, uint64_t bytes);
uint64_t account_tracked(void);
void account_read(account_totals_t *t);

#endif
