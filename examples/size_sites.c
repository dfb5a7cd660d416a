/* size_sites.c: three sites with distinct profiles of requested sizes, for the per-site
 * size histograms: fixed_24 always asks 24 bytes, page_buffer asks 4-8 KiB, grow_buffer
 * grows one block by realloc.  Prints each site's own count per power-of-two bucket
 * ("SITE BUCKET:CALLS ..."; bucket k holds [2^(k-1), 2^k - 1]) for the tests to compare
 * with the report.  Usage: size_sites [ROUNDS] (default 50000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 65

static volatile size_t sink;
static unsigned long long fixed_n[BUCKETS], page_n[BUCKETS], grow_n[BUCKETS];

static unsigned bucket(size_t n)
{
	return n ? 64u - (unsigned)__builtin_clzll(n) : 0u;
}

__attribute__((noinline)) static void fixed_24(void)
{
	char *p = malloc(24);
	fixed_n[bucket(24)]++;
	p[0] = 1;
	sink += (size_t)p[0];
	free(p);
}

__attribute__((noinline)) static void *page_buffer(unsigned i)
{
	size_t n = 4096 + (size_t)(i * 2654435761u % 4096);
	char *p = malloc(n);
	page_n[bucket(n)]++;
	p[n - 1] = 2;
	return p;
}

__attribute__((noinline)) static char *grow_buffer(char *buf, size_t n)
{
	char *q = realloc(buf, n);
	grow_n[bucket(n)]++;
	q[n - 1] = 3;
	return q;
}

static void print_counts(const char *name, const unsigned long long *c)
{
	printf("%s", name);
	for (unsigned k = 0; k < BUCKETS; k++)
		if (c[k])
			printf(" %u:%llu", k, c[k]);
	printf("\n");
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 50000;
	void *ring[16] = { 0 };
	char *buf = NULL;
	for (unsigned i = 0; i < rounds; i++) {
		fixed_24();
		if (i % 5 == 0) {
			free(ring[i / 5 % 16]);
			ring[i / 5 % 16] = page_buffer(i);
		}
		if (i % 10 == 0)
			buf = grow_buffer(buf, 64 + (size_t)i * 8);
	}
	for (unsigned k = 0; k < 16; k++)
		free(ring[k]);
	free(buf);
	print_counts("fixed_24", fixed_n);
	print_counts("page_buffer", page_n);
	print_counts("grow_buffer", grow_n);
	return 0;
}
