/* chain_deep.c: two call paths into one malloc call site that share their four innermost
 * frames (leaf, mid, inner, vary) and differ only further out (root_a or root_b, each called
 * from main's one call site through a function pointer), taken alternately: the case a
 * cache of stacks that checks too few frames would get wrong.
 * Usage: chain_deep fixed|alloca [N].
 *   fixed:  every frame has a fixed size.
 *   alloca: vary takes a different alloca on each path and the roots a padding that makes
 *           up for it, so leaf's frame sits at the same address on both paths while vary's
 *           return address does not: where path a keeps it, path b's vary has a buffer it
 *           never writes, which still holds path a's copy.
 * Keeps every block; prints "a=N b=N same_leaf=0|1" (blocks allocated through root_a and
 * root_b; whether leaf's frame was at the same address on both paths). */
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *keep[1 << 20];
static int dry;                 /* only note where leaf's frame is */
static uintptr_t leaf_at;
static size_t vary_n[2] = { 16, 16 }, pad_n[2] = { 16, 16 };

#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

__attribute__((noinline)) static void *leaf(size_t n)
{
	if (dry) {
		leaf_at = (uintptr_t)__builtin_frame_address(0);
		return NULL;
	}
	return malloc(n);
}

__attribute__((noinline)) static void *mid(size_t n)
{
	void *p = leaf(n);
	ESCAPE(p);
	return p;
}

__attribute__((noinline)) static void *inner(size_t n)
{
	void *p = mid(n);
	ESCAPE(p);
	return p;
}

__attribute__((noinline)) static void *vary(int which, size_t n)
{
	char *buf = alloca(vary_n[which]);   /* never written */
	ESCAPE(buf);
	void *p = inner(n);
	ESCAPE(p);
	return p;
}

__attribute__((noinline)) static void *root_a(size_t n)
{
	char *pad = alloca(pad_n[0]);
	ESCAPE(pad);
	void *p = vary(0, n);
	ESCAPE(p);
	return p;
}

__attribute__((noinline)) static void *root_b(size_t n)
{
	char *pad = alloca(pad_n[1]);
	ESCAPE(pad);
	void *p = vary(1, n);
	ESCAPE(p);
	return p;
}

static void *(*volatile roots[2])(size_t) = { root_a, root_b };

__attribute__((noinline)) static uintptr_t where(int which)
{
	dry = 1;
	roots[which](1);
	dry = 0;
	return leaf_at;
}

/* Path b's vary takes 256 bytes more than path a's, its root 256 less (and whatever the
 * two roots' frames differ by), so leaf lands at the same address on both. */
static int align_paths(void)
{
	vary_n[1] = vary_n[0] + 256;
	pad_n[0] = 16 + 256;
	pad_n[1] = 16;
	for (int tries = 0; tries < 4; tries++) {
		uintptr_t a = where(0), b = where(1);
		if (a == b)
			return 1;
		if (a > b)
			pad_n[1] -= (a - b) < pad_n[1] ? (a - b) : 0;
		else
			pad_n[0] -= (b - a) < pad_n[0] ? (b - a) : 0;
	}
	return where(0) == where(1);
}

int main(int argc, char **argv)
{
	int var = argc > 1 && strcmp(argv[1], "alloca") == 0;
	long n = argc > 2 ? atol(argv[2]) : 20000;
	if (n > (long)(sizeof keep / sizeof *keep))
		n = sizeof keep / sizeof *keep;
	int same = var ? align_paths() : where(0) == where(1);
	long count[2] = { 0, 0 };
	for (long i = 0; i < n; i++) {
		int which = (int)(i & 1);
		keep[i] = roots[which](24);
		count[which]++;
	}
	printf("a=%ld b=%ld same_leaf=%d\n", count[0], count[1], same);
	return 0;
}
