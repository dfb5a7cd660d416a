/* glibcchunk.h: the one piece of glibc's malloc layout the hot path reads: a block's usable
 * size from its chunk header (glibc 2.26 and later, x86_64 and aarch64 without memory
 * tagging), as malloc_usable_size computes it, without the call.  Valid only for a block
 * glibc's malloc handed out and nobody freed yet; nextalloc.c says when glibc is the
 * allocator (nextalloc_glibc_chunks), and tests/test_glibcchunk.c checks it against
 * malloc_usable_size on this machine's glibc. */
#ifndef ALLOCGUARD_GLIBCCHUNK_H
#define ALLOCGUARD_GLIBCCHUNK_H

#include <stddef.h>

#define GLIBC_SIZE_SZ sizeof(size_t)
#define GLIBC_IS_MMAPPED 0x2
#define GLIBC_FLAG_BITS 0x7

static inline size_t glibcchunk_usable(const void *p)
{
	size_t head = ((const size_t *)p)[-1];
	size_t size = head & ~(size_t)GLIBC_FLAG_BITS;
	/* an mmapped chunk has no next chunk whose header field it may use */
	return head & GLIBC_IS_MMAPPED ? size - 2 * GLIBC_SIZE_SZ : size - GLIBC_SIZE_SZ;
}

#endif
