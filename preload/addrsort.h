/* addrsort.h: sorting by address for the exit scan: the collected blocks (an in-place
 * radix sort, the table's sorted tail merged) and address ranges (a heapsort). */
#ifndef ALLOCGUARD_ADDRSORT_H
#define ALLOCGUARD_ADDRSORT_H

#include "ptrtab.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uintptr_t lo, hi;
} addrsort_range_t;

void addrsort_blocks(ptr_entry_t *a, size_t n);
void addrsort_ranges(addrsort_range_t *r, size_t n);

#endif
