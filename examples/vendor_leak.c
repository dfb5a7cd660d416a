/* vendor_leak.c: a program whose "vendor" library code leaks at start-up (a cache it never
 * frees, as many libraries do) and whose own code leaks too.  For suppressions: with the
 * vendor's function suppressed the program's own leak still fails the gate, with both
 * suppressed it passes.
 *
 *   vendor_leak [own]   without "own", only the vendor leaks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

/* What a third-party library does: 4 KiB it never frees. */
__attribute__((noinline)) void vendor_cache_init(void)
{
	sink = malloc(4096);
	memset(sink, 0, 4096);
	sink = NULL;
}

__attribute__((noinline)) static void own_forgotten_buffer(void)
{
	sink = malloc(300);
	memset(sink, 1, 300);
	sink = NULL;
}

int main(int argc, char **argv)
{
	vendor_cache_init();
	if (argc > 1 && strcmp(argv[1], "own") == 0)
		own_forgotten_buffer();
	puts("vendor_leak done");
	return 0;
}
