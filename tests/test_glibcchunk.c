/* test_glibcchunk.c: preload/glibcchunk.h reads a block's usable size from glibc's chunk
 * header as malloc_usable_size does, on this machine's glibc: blocks from the small bins,
 * the heap top, mmapped ones, aligned ones, calloc'd and realloc'd ones. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "glibcchunk.h"

static void same(void *p, size_t asked)
{
	cr_assert_not_null(p);
	cr_assert_eq(glibcchunk_usable(p), malloc_usable_size(p), "%zu bytes asked", asked);
}

Test(glibcchunk, usable_size_as_glibc_says)
{
	enum { N = 3000 };
	static void *keep[N];
	uint64_t r = 88172645463325252ull;
	for (int i = 0; i < N; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		size_t n = 1 + (i % 10 == 0 ? 100000 + r % 900000 : r % (i % 3 ? 600 : 70000));
		switch (i % 4) {
		case 0: keep[i] = malloc(n); break;
		case 1: keep[i] = calloc(1, n); break;
		case 2: keep[i] = memalign((size_t)16 << (r % 9), n); break;
		default: keep[i] = realloc(malloc(n / 2 + 1), n); break;
		}
		same(keep[i], n);
		if (i % 3 == 0) {   /* holes, so later blocks come from the bins */
			free(keep[i / 2]);
			keep[i / 2] = malloc(n / 3);
			same(keep[i / 2], n / 3);
		}
	}
	for (int i = 0; i < N; i++)
		free(keep[i]);
}
