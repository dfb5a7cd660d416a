/* peak.h: the moment of the peak of tracked bytes.  An epoch that moves each time the
 * peak rises (stacktab.c keeps per stack what was live at the current epoch), and the
 * totals by kind at that moment.  When memory may be added is cap.c's and account.c's
 * business; this only notes that the peak moved. */
#ifndef ALLOCGUARD_PEAK_H
#define ALLOCGUARD_PEAK_H

#include "account.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Starts at 1: a stack record's epoch starts at 0, so a stack never touched since it was
 * made is never mistaken for one that copied its figures at the current peak. */
extern _Atomic uint64_t peak_epoch_now;

static inline uint64_t peak_epoch(void)
{
	return atomic_load_explicit(&peak_epoch_now, memory_order_acquire);
}

/* The totals by kind (indexed by acc_kind_t) were just read;
 * if their sum is above every earlier one, the peak moved: a new epoch, and the totals by
 * kind are noted.  Call after the stacks of the allocation that got there were updated, so
 * it counts at the peak. */
void peak_moved(const uint64_t kinds[ACC_KINDS]);

/* The highest tracked total peak_moved has seen: a total at or under it moves nothing. */
extern _Atomic uint64_t peak_mark;

static inline bool peak_above(uint64_t tracked)
{
	return tracked > atomic_load_explicit(&peak_mark, memory_order_relaxed);
}

typedef struct {
	uint64_t tracked, heap, mapped, swapped;
} peak_totals_t;

void peak_read(peak_totals_t *p);

#endif
