/* glibcheap.c: glibc malloc's heaps, as the exit scan needs them (see glibcheap.h).  With
 * glibcchunk.h this is the one file to change when glibc's chunk or heap_info layout
 * changes (2.26 .. 2.36 read the same way here).
 *
 * The layout's invariants (asserted in the test build, check.h; tests/test_glibcheap.c
 * checks them against this machine's glibc):
 * - The main arena's chunks live in the brk heap ([heap]) unless brk failed; its
 *   malloc_state is a static of libc.
 * - A non-main arena's chunks live in heaps of at most HEAP_MAX bytes, each aligned to
 *   HEAP_MAX (so a chunk's heap is its address rounded down), each starting with a
 *   heap_info: ar_ptr, prev (the arena's previous heap, 0 for its first), size and
 *   mprotect_size (then pagesize and padding since 2.35).  The arena's malloc_state follows
 *   the heap_info of its first heap.
 * - An mmapped chunk is its own mapping (glibcchunk.h).
 * - Every range returned holds the block it was found from, and is non-empty. */
#include "glibcheap.h"
#include "addrfind.h"
#include "check.h"
#include "glibcchunk.h"
#include "scan.h"

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#define HEAP_MAX ((uintptr_t)2 * 4 * 1024 * 1024 * sizeof(long))   /* HEAP_MAX_SIZE */
_Static_assert((HEAP_MAX & (HEAP_MAX - 1)) == 0, "heaps are aligned to their largest size");

typedef struct {
	uintptr_t ar_ptr, prev;
	size_t size, mprotect_size;
} heap_info_t;
_Static_assert(offsetof(heap_info_t, mprotect_size) == 3 * sizeof(size_t),
	       "heap_info's fields are four words");

static size_t peek(uintptr_t addr, void *out, size_t len)
{
	return scanmem_peek(getpid(), addr, out, len);
}

/* When a block's request leaves no slack (n mod 16 in 1..8), the next chunk's header
 * starts inside the block's requested bytes: a word pointing exactly there, at a real chunk
 * boundary, is glibc's. */
bool glibcheap_next_chunk_header(uintptr_t addr, uint64_t size, uintptr_t v)
{
	size_t c = glibcchunk_size(size);
	if (v != addr - GLIBC_CHUNK_HDR + c)
		return false;
	size_t hdr;
	if (peek(addr - sizeof hdr, &hdr, sizeof hdr) != sizeof hdr)
		return false;
	bool next = !(hdr & GLIBC_IS_MMAPPED) && (hdr & ~(size_t)GLIBC_FLAG_BITS) == c;
	AG_ASSERT(!next || v + GLIBC_SIZE_SZ >= addr + size);   /* inside the block, or at its end */
	return next;
}

static size_t heap_len(const heap_info_t *info)
{
	return info->size > info->mprotect_size ? info->size : info->mprotect_size;
}

static bool heap_info_at(uintptr_t h, heap_info_t *info)
{
	if (peek(h, info, sizeof *info) != sizeof *info)
		return false;
	size_t len = heap_len(info);
	return len && len <= HEAP_MAX && info->ar_ptr;
}

/* The mapping of an mmapped chunk at c (its header hdr); ENOENT when the header makes no
 * sense for a block of size bytes, or the chunk is not whole pages (memalign cuts an
 * mmapped chunk at its front: the block's whole line is skipped instead). */
static int mmapped_chunk(uintptr_t c, const size_t hdr[2], uint64_t size, size_t page,
			 uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t csize = hdr[1] & ~(size_t)GLIBC_FLAG_BITS;
	if (csize < size + GLIBC_CHUNK_HDR || (csize & (page - 1)) || hdr[0] > c ||
	    ((c - hdr[0]) & (page - 1)))
		return ENOENT;
	*lo = c - hdr[0];
	*hi = c + csize;
	AG_ASSERT(!(*lo & (page - 1)) && *lo <= c && *hi >= c + GLIBC_CHUNK_HDR + size);
	return 0;
}

int glibcheap_block_heap(uintptr_t p, uint64_t size, size_t page, uintptr_t *lo, uintptr_t *hi)
{
	size_t hdr[2];
	if (p < GLIBC_CHUNK_HDR || peek(p - GLIBC_CHUNK_HDR, hdr, sizeof hdr) != sizeof hdr)
		return EFAULT;
	uintptr_t c = p - GLIBC_CHUNK_HDR;
	if (hdr[1] & GLIBC_IS_MMAPPED)
		return mmapped_chunk(c, hdr, size, page, lo, hi);
	if (!(hdr[1] & GLIBC_NON_MAIN_ARENA))
		return ENOENT;
	uintptr_t h = c & ~(HEAP_MAX - 1);
	heap_info_t info;
	if (!heap_info_at(h, &info))
		return ENOENT;
	size_t len = heap_len(&info);
	if (h + len < p + size)
		return ENOENT;
	*lo = h;
	*hi = h + len;
	AG_ASSERT(*lo <= c && *hi >= p + size && *hi - *lo <= HEAP_MAX);
	return 0;
}

bool glibcheap_arena_heap(uintptr_t lo, uintptr_t map_hi, uintptr_t *hi)
{
	heap_info_t info, first;
	if (lo & (HEAP_MAX - 1) || !heap_info_at(lo, &info))
		return false;
	/* the arena lives in its first heap, just past that heap's heap_info */
	uintptr_t fh = info.ar_ptr & ~(HEAP_MAX - 1);
	if (info.ar_ptr - fh > 4096 || !heap_info_at(fh, &first) || first.ar_ptr != info.ar_ptr)
		return false;
	if (fh == lo ? info.prev != 0 : (info.prev & (HEAP_MAX - 1)) != 0)
		return false;
	size_t len = heap_len(&info);
	*hi = lo + len < map_hi ? lo + len : map_hi;
	AG_ASSERT(*hi <= map_hi && *hi - lo <= HEAP_MAX);
	return true;
}

static bool in_any(const addrsort_range_t *r, size_t n, uintptr_t p)
{
	for (size_t k = 0; k < n; k++)
		if (p >= r[k].lo && p < r[k].hi)
			return true;
	return false;
}

size_t glibcheap_ranges(const ptr_entry_t *blocks, size_t n, addrsort_range_t brk_heap,
			const addrsort_range_t *lines, size_t nlines, size_t page,
			addrsort_range_t *out)
{
	size_t k = 0;
	if (brk_heap.hi > brk_heap.lo)
		out[k++] = brk_heap;
	for (size_t l = 0; l < nlines; l++) {
		uintptr_t hi;
		if (glibcheap_arena_heap(lines[l].lo, lines[l].hi, &hi))
			out[k++] = (addrsort_range_t){ lines[l].lo, hi };
	}
	size_t known = k;   /* the blocks of these need no look at their headers */
	for (size_t i = 0; i < n; i++) {
		uintptr_t p = blocks[i].addr;
		bool in = k > known && p >= out[k - 1].lo && p < out[k - 1].hi;
		if (in || in_any(out, known, p))
			continue;
		addrsort_range_t r = { 0, 0 };
		int rc = glibcheap_block_heap(p, blocks[i].size, page, &r.lo, &r.hi);
		if (rc == EFAULT)
			continue;   /* freed behind our back: nothing to exclude */
		if (rc) {
			size_t l = ADDRFIND_HOLDING(lines, nlines, p);
			if (l == SIZE_MAX)
				continue;
			r = lines[l];
		}
		AG_ASSERT(r.lo <= p && p <= r.hi);
		out[k++] = r;
	}
	return k;
}
