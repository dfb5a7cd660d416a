/* churn_sites.c: three allocation habits for the churn view: a site that frees each block
 * at once (temporary allocations), a site that keeps what it allocates, and a buffer that
 * grows by realloc.  Compared with heaptrack_print by the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

__attribute__((noinline)) static void scratch(size_t n)
{
	char *p = malloc(n);
	memset(p, 1, n);
	sink += (size_t)p[n / 2];
	free(p);
}

__attribute__((noinline)) static void *keep(size_t n)
{
	char *p = malloc(n);
	memset(p, 2, n);
	return p;
}

__attribute__((noinline)) static char *grow(char *buf, size_t n)
{
	char *q = realloc(buf, n);
	q[n - 1] = 3;
	return q;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20000;
	void **kept = malloc((size_t)rounds / 4 * sizeof *kept);
	char *buf = NULL;
	for (int i = 0; i < rounds; i++) {
		scratch(16 + (size_t)(i % 200) * 8);
		if (i % 4 == 0)
			kept[i / 4] = keep(64 + (size_t)(i % 7) * 32);
		if (i % 2 == 0)
			buf = grow(buf, 32 + (size_t)i * 4);
	}
	printf("%zu\n", sink);
	for (int i = 0; i < rounds / 4; i++)
		free(kept[i]);
	free(kept);
	free(buf);
	return 0;
}
