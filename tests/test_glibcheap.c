/* test_glibcheap.c: preload/glibcheap.c and glibcchunk.h read glibc's heaps as this
 * machine's glibc lays them out, with their invariants asserted (the test build compiles
 * check.h's AG_ASSERT in): a main-arena block is in no heap of its own, a thread arena's
 * block is in its HEAP_MAX-aligned heap, which is found again from its heap_info alone, a
 * large block is its own mapping, the word pointing at the next chunk's header is told
 * apart, and every block lies in one of the ranges the scan skips. */
#include <criterion/criterion.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glibcchunk.h"
#include "glibcheap.h"

/* The writable mappings and the [heap] line, as the scan reads them. */
static size_t writable_lines(addrsort_range_t *out, size_t max, addrsort_range_t *brk)
{
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512];
	size_t n = 0;
	*brk = (addrsort_range_t){ 0, 0 };
	while (n < max && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (strstr(line, "[heap]"))
			*brk = (addrsort_range_t){ lo, hi };
		if (perms[0] == 'r' && perms[1] == 'w')
			out[n++] = (addrsort_range_t){ lo, hi };
	}
	fclose(f);
	return n;
}

/* The compiler knows how large a fresh block is: the chunk header below it is read through
 * a pointer it cannot follow. */
static void *opaque(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

static void *thread_blocks(void *arg)
{
	void **out = arg;
	for (int i = 0; i < 64; i++)
		out[i] = malloc(24 + (size_t)i * 40);
	return NULL;
}

Test(glibcheap, chunk_sizes_as_glibc_serves_them)
{
	for (size_t n = 0; n < 4096; n += 1 + n / 16) {
		void *p = opaque(malloc(n));
		cr_assert_not_null(p);
		cr_assert_geq(glibcchunk_usable(p) + GLIBC_SIZE_SZ, glibcchunk_size(n), "%zu", n);
		cr_assert_geq(glibcchunk_usable(p), n);
		free(p);
	}
}

Test(glibcheap, main_arena_block_and_next_chunk_header)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), exact = 0;
	for (size_t n = 1; n <= 200; n++) {
		char *p = opaque(malloc(n)), *after = malloc(16);   /* p's chunk is not the top one */
		uintptr_t a = (uintptr_t)p, lo = 0, hi = 0;
		cr_assert_eq(glibcheap_block_heap(a, n, page, &lo, &hi), ENOENT, "%zu bytes", n);
		/* a chunk larger than the request (a bin's whole chunk) has its header elsewhere */
		size_t chunk = ((size_t *)p)[-1] & ~(size_t)GLIBC_FLAG_BITS;
		uintptr_t next = a - GLIBC_CHUNK_HDR + glibcchunk_size(n);
		cr_assert_eq(glibcheap_next_chunk_header(a, n, next), chunk == glibcchunk_size(n),
			     "%zu bytes in a chunk of %zu", n, chunk);
		exact += chunk == glibcchunk_size(n);
		cr_assert_not(glibcheap_next_chunk_header(a, n, next + GLIBC_ALIGN));
		cr_assert_not(glibcheap_next_chunk_header(a, n, a));
		free(after);
		free(p);
	}
	cr_assert_gt(exact, 100, "glibc served only %zu of 200 requests with their own size", exact);
}

Test(glibcheap, mmapped_block_is_its_own_mapping)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 3 << 20;
	char *p = malloc(n);
	cr_assert_not_null(p);
	uintptr_t a = (uintptr_t)p, lo = 0, hi = 0;
	cr_assert_eq(glibcheap_block_heap(a, n, page, &lo, &hi), 0, "head %zx",
		     ((size_t *)opaque(p))[-1]);
	cr_assert_eq(lo % page, 0);
	cr_assert(lo <= a - GLIBC_CHUNK_HDR && hi >= a + n && hi - lo < n + 2 * page,
		  "[%lx, %lx) for a block at %lx", (unsigned long)lo, (unsigned long)hi,
		  (unsigned long)a);
	free(p);
}

Test(glibcheap, thread_arena_heap_found_from_block_and_alone)
{
	static void *blocks[64];
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, thread_blocks, blocks), 0);
	pthread_join(t, NULL);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)blocks[5], lo = 0, hi = 0;
	cr_assert(((size_t *)blocks[5])[-1] & GLIBC_NON_MAIN_ARENA,
		  "the thread's blocks come from an arena of its own");
	cr_assert_eq(glibcheap_block_heap(a, 24 + 5 * 40, page, &lo, &hi), 0);
	cr_assert(lo < a && a < hi && lo % (2 * 4 * 1024 * 1024 * sizeof(long)) == 0,
		  "[%lx, %lx) for a block at %lx", (unsigned long)lo, (unsigned long)hi,
		  (unsigned long)a);
	static addrsort_range_t lines[4096];
	addrsort_range_t brk;
	size_t nlines = writable_lines(lines, 4096, &brk);
	bool found = false;
	for (size_t l = 0; l < nlines; l++) {
		uintptr_t h = 0;
		if (lines[l].lo == lo && glibcheap_arena_heap(lines[l].lo, lines[l].hi, &h)) {
			found = true;
			cr_assert(h > a && h <= hi, "the heap's end, from its heap_info");
		}
	}
	cr_assert(found, "the thread arena's heap at %lx is not recognised by its heap_info",
		  (unsigned long)lo);
	for (int i = 0; i < 64; i++)
		free(blocks[i]);
}

Test(glibcheap, every_block_lies_in_a_skipped_range)
{
	static void *blocks[64];
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, thread_blocks, blocks), 0);
	pthread_join(t, NULL);
	/* an aligned large block's chunk is cut at its front (a size not in whole pages): its
	 * whole mapping is skipped instead */
	enum { N = 4 };
	void *mine[N] = { malloc(100), malloc(1 << 20), blocks[7], memalign(1 << 16, 3 << 20) };
	size_t sizes[N] = { 100, 1 << 20, 24 + 7 * 40, 3 << 20 };
	ptr_entry_t e[N];
	for (int i = 0; i < N; i++)
		e[i] = (ptr_entry_t){ .addr = (uintptr_t)mine[i], .size = sizes[i] };
	addrsort_blocks(e, N);
	static addrsort_range_t lines[4096], out[4096 + N + 1];
	addrsort_range_t brk;
	size_t nlines = writable_lines(lines, 4096, &brk);
	size_t n = glibcheap_ranges(e, N, brk, lines, nlines, (size_t)sysconf(_SC_PAGESIZE), out);
	for (int i = 0; i < N; i++) {
		bool in = false;
		for (size_t k = 0; k < n; k++)
			in |= e[i].addr >= out[k].lo && e[i].addr + e[i].size <= out[k].hi;
		cr_assert(in, "the block at %lx of %lu bytes is in no skipped range",
			  (unsigned long)e[i].addr, (unsigned long)e[i].size);
	}
	free(mine[0]);
	free(mine[1]);
	free(mine[3]);
	for (int i = 0; i < 64; i++)
		free(blocks[i]);
}
