/* other_alloc.c: allocates under a cap the way a program using jemalloc or tcmalloc does,
 * and asks malloc_usable_size about every block (issue 9: with another allocator loaded,
 * the size went to a different allocator than the block: SIGSEGV or wrong sizes).  Takes
 * up to 256 MiB in 1 MiB blocks through each allocation call in turn, then frees them.
 * Prints got=MiB refused=0|1 usable_bad=N; exit 0, or 1 when a size was wrong.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB ((size_t)1 << 20)
#define STEPS 256

static void *take(int i, size_t n)
{
	void *p = NULL;
	switch (i % 6) {
	case 0: return malloc(n);
	case 1: return calloc(1, n);
	case 2: return realloc(malloc(64), n);
	case 3: return posix_memalign(&p, 64, n) ? NULL : p;
	case 4: return aligned_alloc(4096, n);
	default: return memalign(256, n);
	}
}

int main(void)
{
	static void *blocks[STEPS];
	size_t got = 0, bad = 0;
	int refused = 0, n = 0;
	for (; n < STEPS; n++) {
		void *p = take(n, MiB);
		if (!p) {
			refused = 1;
			break;
		}
		memset(p, 1, MiB);
		bad += malloc_usable_size(p) < MiB;
		blocks[n] = p;
		got += MiB;
	}
	/* Small blocks too, where allocators differ most in their size classes: the program
	 * may use every usable byte, so a size from the wrong allocator overwrites the next
	 * block's header (glibc then aborts in free). */
	static char *small[64];
	int ns = 0;
	for (size_t sz = 1; sz <= 4096 && ns < 64; sz = sz * 3 + 1) {
		for (int k = 0; k < 4 && ns < 64; k++) {
			char *p = malloc(sz);
			if (!p)
				continue;
			size_t u = malloc_usable_size(p);
			bad += u < sz;
			memset(p, 0xab, u);
			small[ns++] = p;
		}
	}
	for (int i = 0; i < ns; i++)
		free(small[i]);
	for (int i = 0; i < n; i++)
		free(blocks[i]);
	printf("got=%zu refused=%d usable_bad=%zu\n", got / MiB, refused, bad);
	return bad ? 1 : 0;
}
