/* chain_paths.c: two call paths into one malloc call site whose frames are laid out
 * alike (via_a and via_b have the same body, so helper's return-address slot and value
 * are the same on both), interleaved, at several depths: the case a cache of stacks keyed
 * by the innermost frame alone would get wrong.  Usage: chain_paths [N].  Keeps every
 * block; prints "a=N b=N" (blocks allocated through via_a and via_b). */
#include <stdio.h>
#include <stdlib.h>

static void *keep[1 << 20];

__attribute__((noinline)) static void *helper(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) static void *via_a(size_t n)
{
	return helper(n);
}

__attribute__((noinline)) static void *via_b(size_t n)
{
	return helper(n);
}

/* The same depth for both paths, and a second depth through recurse. */
__attribute__((noinline)) static void *recurse(int d, int which, size_t n)
{
	if (d > 0)
		return recurse(d - 1, which, n);
	return which ? via_b(n) : via_a(n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 30000;
	if (n > (long)(sizeof keep / sizeof *keep))
		n = sizeof keep / sizeof *keep;
	long a = 0, b = 0;
	for (long i = 0; i < n; i++) {
		int which = (i % 3) != 0;
		keep[i] = recurse((int)(i % 2), which, 24);
		if (which)
			b++;
		else
			a++;
	}
	printf("a=%ld b=%ld\n", a, b);
	return 0;
}
