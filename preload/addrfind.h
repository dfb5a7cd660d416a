/* addrfind.h: the one binary search over arrays sorted by an address field (ranges by
 * their start or end, blocks by their start), shared by the mapping table and the exit
 * scan.  Header only: every caller's element type and key field inline to a plain loop. */
#ifndef ALLOCGUARD_ADDRFIND_H
#define ALLOCGUARD_ADDRFIND_H

#include <stddef.h>
#include <stdint.h>

/* How many of the n items (stride bytes apart, sorted by the uintptr_t at byte key of
 * each) have a key at or below addr: the index of the first item whose key is past it. */
static inline size_t addrfind_upper(const void *items, size_t n, size_t stride, size_t key,
				    uintptr_t addr)
{
	const char *base = items;
	size_t a = 0, b = n;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (*(const uintptr_t *)(const void *)(base + m * stride + key) <= addr)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* addrfind_upper over the array arr of n items, by its field `key`. */
#define ADDRFIND_UPPER(arr, n, key, at) \
	addrfind_upper((arr), (n), sizeof *(arr), offsetof(__typeof__(*(arr)), key), (at))

/* The index of the item of arr (n sorted, disjoint [lo, hi) ranges) holding at, or
 * SIZE_MAX. */
#define ADDRFIND_HOLDING(arr, n, at)                                                        \
	__extension__({                                                                    \
		size_t addrfind_a_ = ADDRFIND_UPPER(arr, n, lo, at);                       \
		addrfind_a_ && (at) < (arr)[addrfind_a_ - 1].hi ? addrfind_a_ - 1 : SIZE_MAX; \
	})

#endif
