/* abort_on_null.c: a program that aborts the moment an allocation fails, as many do (run it
 * under a cap of 100M).  C: abort() on NULL; CXX: an uncaught std::bad_alloc is the same in
 * C++ (see cxx_abort_on_null.cc).  The guard's refusal must be in the log.
 * Usage: abort_on_null. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	char *p = malloc(10 << 20);
	memset(p, 1, 10 << 20);
	char *q = malloc(200 << 20);   /* over the cap: refused */
	if (!q) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return 0;
}
