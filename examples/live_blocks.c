/* live_blocks.c: builds a large structure, N live malloc(32) blocks (default 1M) chained
 * into a list, then exits without freeing: the bookkeeping cost per live block and the
 * exit scan, for bench/suite.sh.  Usage: live_blocks [N].  Prints "blocks=N sum=S". */
#include <stdio.h>
#include <stdlib.h>

struct node {
	struct node *next;
	unsigned long v[3];
};

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
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
