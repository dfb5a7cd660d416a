/* glibcheap.c: glibc malloc's layout, as the exit scan needs it (see glibcheap.h).  This is
 * the one file to change when glibc's chunk or heap_info layout changes (2.26 .. 2.36 read
 * the same way here). */
#include "glibcheap.h"

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

/* The chunk header, just below each block: prev_size, then size with three flag bits. */
#define CHUNK_HDR (2 * sizeof(size_t))
#define CHUNK_IS_MMAPPED 2
#define CHUNK_NON_MAIN 4
#define CHUNK_FLAGS 7
#define HEAP_MAX ((uintptr_t)2 * 4 * 1024 * 1024 * sizeof(long))   /* HEAP_MAX_SIZE */

/* heap_info at the start of each non-main heap (HEAP_MAX aligned): ar_ptr, prev, size,
 * mprotect_size (then pagesize and padding since 2.35).  A first heap's arena follows it. */
typedef struct {
	uintptr_t ar_ptr, prev;
	size_t size, mprotect_size;
} heap_info_t;

static size_t peek(uintptr_t addr, void *out, size_t len)
{
	struct iovec local = { out, len }, remote = { (void *)addr, len };
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return got > 0 ? (size_t)got : 0;
}

static size_t chunk_size(size_t n)
{
	size_t c = (n + sizeof(size_t) + 15) & ~(size_t)15;
	return c < 32 ? 32 : c;
}

/* When a block's request leaves no slack (n mod 16 in 1..8), the next chunk's header
 * starts inside the block's requested bytes: a word pointing exactly there, at a real chunk
 * boundary, is glibc's. */
bool glibcheap_next_chunk_header(uintptr_t addr, uint64_t size, uintptr_t v)
{
	size_t c = chunk_size(size);
	if (v != addr - CHUNK_HDR + c)
		return false;
	size_t hdr;
	if (peek(addr - sizeof hdr, &hdr, sizeof hdr) != sizeof hdr)
		return false;
	return !(hdr & CHUNK_IS_MMAPPED) && (hdr & ~(size_t)CHUNK_FLAGS) == c;
}

static bool heap_info_at(uintptr_t h, heap_info_t *info)
{
	if (peek(h, info, sizeof *info) != sizeof *info)
		return false;
	size_t len = info->size > info->mprotect_size ? info->size : info->mprotect_size;
	return len && len <= HEAP_MAX && info->ar_ptr;
}

int glibcheap_block_heap(uintptr_t p, uint64_t size, size_t page, uintptr_t *lo, uintptr_t *hi)
{
	size_t hdr[2];
	if (p < CHUNK_HDR || peek(p - CHUNK_HDR, hdr, sizeof hdr) != sizeof hdr)
		return EFAULT;
	uintptr_t c = p - CHUNK_HDR, csize = hdr[1] & ~(size_t)CHUNK_FLAGS;
	if (hdr[1] & CHUNK_IS_MMAPPED) {
		if (csize < size + CHUNK_HDR || (csize & (page - 1)) || hdr[0] > c ||
		    ((c - hdr[0]) & (page - 1)))
			return ENOENT;
		*lo = c - hdr[0];
		*hi = c + csize;
		return 0;
	}
	if (!(hdr[1] & CHUNK_NON_MAIN))
		return ENOENT;
	uintptr_t h = c & ~(HEAP_MAX - 1);
	heap_info_t info;
	if (!heap_info_at(h, &info))
		return ENOENT;
	size_t len = info.size > info.mprotect_size ? info.size : info.mprotect_size;
	if (h + len < p + size)
		return ENOENT;
	*lo = h;
	*hi = h + len;
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
	size_t len = info.size > info.mprotect_size ? info.size : info.mprotect_size;
	*hi = lo + len < map_hi ? lo + len : map_hi;
	return true;
}
