/* sample_reach.c: for the sampled mode's exit scan.  Builds a list of N 48-byte nodes kept
 * from a global (reachable) and a list of N more whose head is dropped (lost: one direct,
 * N - 1 indirect), so the lost bytes are exactly N * 48 and, with sampling, a sampled node
 * of the kept list is reachable only through unsampled ones.  Usage: sample_reach [N].
 * Prints "lost_bytes=N lost_count=N". */
#include <stdio.h>
#include <stdlib.h>

struct node {
	struct node *next;
	unsigned long v[5];
};

struct node *kept;

static struct node *build(long n)
{
	struct node *head = NULL;
	for (long i = 0; i < n; i++) {
		struct node *x = malloc(sizeof *x);
		if (!x)
			exit(1);
		x->next = head;
		x->v[0] = (unsigned long)i;
		head = x;
	}
	return head;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	kept = build(n);
	struct node *volatile dropped = build(n);
	dropped = NULL;
	printf("lost_bytes=%lu lost_count=%ld\n", (unsigned long)n * sizeof(struct node), n);
	return 0;
}
