/* glibcchunk.h: glibc malloc's chunk layout (glibc 2.26 and later, x86_64 and aarch64
 * without memory tagging), the one place the guard spells it: a block's usable size for the
 * hot path (as malloc_usable_size computes it, without the call), and the chunk geometry
 * the exit scan reads (glibcheap.c).  nextalloc.c says when glibc is the allocator
 * (nextalloc_glibc_chunks); tests/test_glibcchunk.c and tests/test_glibcheap.c check this
 * layout against this machine's glibc.
 *
 * The layout's invariants (asserted in the test build, check.h):
 * - Every block has a chunk header of two words just below it: prev_size, then the chunk's
 *   size with three flag bits (PREV_INUSE 1, IS_MMAPPED 2, NON_MAIN_ARENA 4).
 * - A chunk's size is a multiple of GLIBC_ALIGN and at least GLIBC_MINSIZE; a request of n
 *   bytes is served by a chunk of at least glibcchunk_size(n).
 * - An in-use chunk that is not mmapped may use the next chunk's prev_size word: its usable
 *   size is its size less one word; an mmapped chunk has no next chunk (size less two).
 * - An mmapped chunk's prev_size is its offset from the start of its own mapping, which is
 *   page-aligned and ends where the chunk ends. */
#ifndef ALLOCGUARD_GLIBCCHUNK_H
#define ALLOCGUARD_GLIBCCHUNK_H

#include "check.h"

#include <stddef.h>

#define GLIBC_SIZE_SZ sizeof(size_t)
#define GLIBC_CHUNK_HDR (2 * GLIBC_SIZE_SZ)      /* prev_size, size */
#define GLIBC_ALIGN (2 * GLIBC_SIZE_SZ)          /* MALLOC_ALIGNMENT */
#define GLIBC_MINSIZE (4 * GLIBC_SIZE_SZ)        /* MINSIZE */
#define GLIBC_IS_MMAPPED 0x2
#define GLIBC_NON_MAIN_ARENA 0x4
#define GLIBC_FLAG_BITS 0x7

/* The chunk size glibc's request2size gives a request of n bytes. */
static inline size_t glibcchunk_size(size_t n)
{
	size_t c = (n + GLIBC_SIZE_SZ + GLIBC_ALIGN - 1) & ~(size_t)(GLIBC_ALIGN - 1);
	c = c < GLIBC_MINSIZE ? GLIBC_MINSIZE : c;
	AG_ASSERT(c >= n + GLIBC_SIZE_SZ && c % GLIBC_ALIGN == 0);
	return c;
}

static inline size_t glibcchunk_usable(const void *p)
{
	size_t head = ((const size_t *)p)[-1];
	size_t size = head & ~(size_t)GLIBC_FLAG_BITS;
	AG_ASSERT(size >= GLIBC_MINSIZE && size % GLIBC_ALIGN == 0);
	/* an mmapped chunk has no next chunk whose header field it may use */
	return head & GLIBC_IS_MMAPPED ? size - 2 * GLIBC_SIZE_SZ : size - GLIBC_SIZE_SZ;
}

#endif
