/* glibcheap.h: what the exit scan knows of glibc's malloc heaps (the brk heap of the main
 * arena, the heaps of non-main arenas, mmapped chunks), so that glibc's own state and freed
 * chunks are never taken for the program's roots.  The chunk layout is glibcchunk.h's.
 * Every read goes through the kernel (never faults). */
#ifndef ALLOCGUARD_GLIBCHEAP_H
#define ALLOCGUARD_GLIBCHEAP_H

#include "addrsort.h"
#include "ptrtab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A root word v pointing exactly at the chunk header that follows the block [addr,
 * addr + size) (the arena's pointers to its top chunk, bins, last remainder) is glibc's. */
bool glibcheap_next_chunk_header(uintptr_t addr, uint64_t size, uintptr_t v);
/* The glibc heap memory holding the block [p, p + size): its mmapped chunk, or its
 * non-main arena's heap.  0; ENOENT when the header says neither (a main-arena block, or a
 * header that makes no sense); EFAULT when the header cannot be read (the block was freed
 * behind our back). */
int glibcheap_block_heap(uintptr_t p, uint64_t size, size_t page, uintptr_t *lo, uintptr_t *hi);
/* Whether a writable mapping starting at lo is a non-main arena's heap (a thread arena,
 * found with or without live blocks in it): its heap_info names an arena whose own first
 * heap names it back.  *hi is then the heap's end. */
bool glibcheap_arena_heap(uintptr_t lo, uintptr_t map_hi, uintptr_t *hi);
/* glibc's heap memory around the n blocks (sorted by address), which holds its state and
 * freed chunks: brk_heap (the [heap] mapping: the main arena, when it is not empty), each
 * non-main arena's heap among the writable mappings lines (sorted), each block's mmapped
 * chunk.  A block whose header makes no sense keeps the older rule: its whole line.  The
 * ranges go to out (room for 1 + nlines + n); returns how many. */
size_t glibcheap_ranges(const ptr_entry_t *blocks, size_t n, addrsort_range_t brk_heap,
			const addrsort_range_t *lines, size_t nlines, size_t page,
			addrsort_range_t *out);

#endif
