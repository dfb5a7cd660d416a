/* live_blocks.c: builds a large structure, N live malloc(32) blocks (default 1M) chained
 * into a list, then exits without freeing: the bookkeeping cost per live block and the
 * exit scan, for bench/suite.sh.  Usage: live_blocks [N] [shapes].  Prints
 * "blocks=N sum=S".
 *
 * With "shapes", a workload for the exit scan's own test: a kept list of N nodes of mixed
 * sizes (some larger than the scan's read buffer, some mmapped chunks far from the heap),
 * linked through interior pointers every other node; a dropped list of N / 2 nodes (one
 * directly lost, the rest indirectly); a dropped 3-cycle; and blocks full of pointers into
 * the kept list (more pointers than the scan keeps as edges), some kept, some dropped.  It
 * prints the lost figures to expect, in lostkinds' format. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *next;
	unsigned long v[3];
};

static size_t node_size(long i)
{
	if (i % 5000 == 4999)
		return 300 * 1024;   /* mmapped by glibc: a cluster of its own */
	if (i % 1000 == 999)
		return 100 * 1024;   /* larger than the scan's buffer */
	return 32 + (size_t)(i % 7) * 24;
}

/* A list of n nodes; every odd node's link points 8 bytes into the next node. */
static char *list(long n, size_t *bytes, char **nodes)
{
	char *head = NULL;
	*bytes = 0;
	for (long i = 0; i < n; i++) {
		size_t sz = node_size(i);
		char *x = malloc(sz);
		if (!x)
			exit(1);
		memset(x, 0, sz);
		*(char **)x = head && (i & 1) ? head + 8 : head;
		head = x;
		*bytes += sz;
		if (nodes)
			nodes[i] = x;
	}
	return head;
}

static void *volatile keep_list, *volatile keep_fans;

__attribute__((noinline)) static int shapes(long n)
{
	size_t kept, lost, bytes;
	char **nodes = malloc((size_t)n * sizeof *nodes);
	if (!nodes)
		return 1;
	keep_list = list(n, &kept, nodes);
	char *lost_head = list(n / 2, &lost, NULL);
	size_t lost_direct = node_size(n / 2 - 1);
	lost_head = NULL;
	/* a dropped 3-cycle: one of it is directly lost */
	char *c[3];
	for (int i = 0; i < 3; i++)
		c[i] = malloc(48);
	for (int i = 0; i < 3; i++)
		*(char **)c[i] = c[(i + 1) % 3];
	c[0] = c[1] = c[2] = NULL;
	lost += 3 * 48;
	lost_direct += 48;
	/* blocks of pointers into the kept list: every other one dropped */
	enum { FAN = 60000 };
	long nfans = n / 500 + 2;
	char **fans = calloc((size_t)nfans, sizeof *fans);
	size_t lost_fans = 0;
	for (long f = 0; f < nfans; f++) {
		char **w = malloc(FAN);
		if (!w)
			return 1;
		for (size_t k = 0; k < FAN / sizeof *w; k++)
			w[k] = nodes[((size_t)f * 7919 + k) % (size_t)n] + (k % 3 == 0 ? 8 : 0);
		if (f & 1)
			lost_fans++;
		else
			fans[f] = (char *)w;
	}
	keep_fans = fans;
	free(nodes);
	lost += lost_fans * FAN;
	lost_direct += lost_fans * FAN;
	bytes = lost - lost_direct;
	long nlost = n / 2 + 3 + (long)lost_fans;
	long nindirect = n / 2 - 1 + 2;
	printf("expect lost_bytes=%zu lost_count=%ld indirect_bytes=%zu indirect_count=%ld "
	       "map_lost_bytes=0\n", lost, nlost, bytes, nindirect);
	printf("kept=%zu\n", kept);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	if (argc > 2 && strcmp(argv[2], "shapes") == 0)
		return shapes(n);
	struct node *head = NULL;
	for (long i = 0; i < n; i++) {
		struct node *x = malloc(sizeof *x);
		if (!x)
			return 1;
		x->next = head;
		x->v[0] = (unsigned long)i;
		head = x;
	}
	unsigned long sum = 0;
	for (struct node *x = head; x; x = x->next)
		sum += x->v[0];
	printf("blocks=%ld sum=%lu\n", n, sum);
	return 0;
}
