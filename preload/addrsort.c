/* addrsort.c: sorting the exit scan's blocks and ranges by address (see addrsort.h), with
 * no allocation but the guard's own internal memory, and a heapsort when even that fails. */
#include "addrsort.h"
#include "sys.h"

#include <string.h>

/* Heapsort by an address key: no allocation, O(n log n) worst case.  Elements are at
 * most 32 bytes (blocks and ranges). */
static void heap_sort(void *base, size_t n, size_t size, uintptr_t (*key)(const void *))
{
	char *a = base, t[32];
#define AT(i) (a + (i) * size)
#define SWAP(i, j) (memcpy(t, AT(i), size), memcpy(AT(i), AT(j), size), memcpy(AT(j), t, size))
	for (size_t start = n / 2, end = n; end > 1;) {
		size_t root;
		if (start > 0) {
			root = --start;        /* building the heap */
		} else {
			end--;
			SWAP(0, end);          /* taking its largest out */
			root = 0;
		}
		for (;;) {
			size_t child = 2 * root + 1;
			if (child >= end)
				break;
			if (child + 1 < end && key(AT(child)) < key(AT(child + 1)))
				child++;
			if (key(AT(root)) >= key(AT(child)))
				break;
			SWAP(root, child);
			root = child;
		}
	}
#undef SWAP
#undef AT
}

_Static_assert(sizeof(ptr_entry_t) <= 32 && sizeof(addrsort_range_t) <= 32, "heap_sort's swap buffer");

static uintptr_t block_key(const void *e)
{
	return ((const ptr_entry_t *)e)->addr;
}

static uintptr_t range_key(const void *e)
{
	return ((const addrsort_range_t *)e)->lo;
}

/* In-place MSD radix sort by address (American flag sort): the digit is the top bits of
 * the range the bucket's addresses span, so clustered heaps take a few passes, and
 * no scratch copy of the blocks is needed (it was as large as the blocks: peak memory at
 * exit).  count holds 2 << RADIX_BITS counters per level of depth; a level takes at least
 * 4 bits off the span, so 16 levels cover any 64-bit range. */
#define RADIX_BITS 11
#define RADIX_DEPTH 16
#define RADIX_SMALL 24
#define RADIX_LARGE 4096
#define RADIX_LARGE_BITS 6
static void flag_sort(ptr_entry_t *a, size_t n, size_t *count)
{
	if (n < RADIX_SMALL) {
		for (size_t i = 1; i < n; i++) {
			ptr_entry_t v = a[i];
			size_t j = i;
			for (; j > 0 && a[j - 1].addr > v.addr; j--)
				a[j] = a[j - 1];
			a[j] = v;
		}
		return;
	}
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		lo = a[i].addr < lo ? a[i].addr : lo;
		hi = a[i].addr > hi ? a[i].addr : hi;
	}
	if (lo == hi)
		return;
	unsigned span = 64 - (unsigned)__builtin_clzl(hi - lo);   /* bits of addr - lo */
	/* About one block a bucket; a large array in few buckets, whose write cursors stay
	 * in the cache and the TLB (the swaps are a chain of dependent loads). */
	unsigned bits = 63 - (unsigned)__builtin_clzl(n);
	unsigned most = n > RADIX_LARGE ? RADIX_LARGE_BITS : RADIX_BITS;
	bits = bits > most ? most : bits;
	bits = bits > span ? span : bits;
	unsigned shift = span - bits;
	size_t nb = (size_t)1 << bits, *end = count, *next = count + nb;
#define DIGIT(e) (((e).addr - lo) >> shift)
	memset(end, 0, nb * sizeof *end);
	for (size_t i = 0; i < n; i++)
		end[DIGIT(a[i])]++;
	for (size_t b = 0, sum = 0; b < nb; b++) {
		next[b] = sum;
		sum += end[b];
		end[b] = sum;
	}
	for (size_t b = 0; b < nb; b++) {
		while (next[b] < end[b]) {
			ptr_entry_t v = a[next[b]];
			size_t d = DIGIT(v);
			while (d != b) {
				ptr_entry_t t = a[next[d]];
				a[next[d]++] = v;
				v = t;
				d = DIGIT(v);
			}
			a[next[b]++] = v;
		}
	}
#undef DIGIT
	if (!shift)
		return;   /* a bucket is one address */
	for (size_t b = 0, from = 0; b < nb; from = end[b++])
		if (end[b] - from > 1)
			flag_sort(a + from, end[b] - from, count + (2 << RADIX_BITS));
}

/* Sort the collected blocks by address.  ptrtab_collect lists the table's entries in hash
 * order, then the unsized blocks (those sampling left out) in address order: when that
 * sorted tail is most of the array, only the head is sorted, then merged into it. */
void addrsort_blocks(ptr_entry_t *a, size_t n)
{
	size_t head = n ? n - 1 : 0;   /* a[head .. n) is sorted */
	while (head > 0 && a[head - 1].addr < a[head].addr)
		head--;
	size_t count_bytes = (RADIX_DEPTH + 1) * sizeof(size_t) * (2 << RADIX_BITS);
	size_t tmp_bytes = head && head <= n / 2 ? head * sizeof(ptr_entry_t) : 0;
	size_t *count = sys_alloc(count_bytes, true);
	ptr_entry_t *tmp = tmp_bytes ? sys_alloc(tmp_bytes, true) : NULL;
	if (!count) {
		heap_sort(a, n, sizeof *a, block_key);
	} else if (!tmp) {
		flag_sort(a, n, count);
	} else {
		flag_sort(a, head, count);
		memcpy(tmp, a, head * sizeof *tmp);
		size_t i = 0, j = head, w = 0;   /* w < j while i < head: no entry is overwritten */
		while (i < head && j < n)
			a[w++] = tmp[i].addr < a[j].addr ? tmp[i++] : a[j++];
		while (i < head)
			a[w++] = tmp[i++];
	}
	if (tmp)
		sys_free(tmp, tmp_bytes);
	if (count)
		sys_free(count, count_bytes);
}

void addrsort_ranges(addrsort_range_t *r, size_t n)
{
	heap_sort(r, n, sizeof *r, range_key);
}
