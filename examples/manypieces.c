/* manypieces.c: commits a 200-page reservation page by page (one kernel mapping, 200
 * pieces in the preload's table), then moves and copies it: more pieces than the preload's
 * move buffer holds, which it must say once. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t n = 200, len = n * (size_t)page;
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (mprotect(p + i * page, (size_t)page, PROT_READ | PROT_WRITE) != 0)
			return 1;
	memset(p, 1, len);
	char *q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return 1;
	char *r = mremap(q, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	printf("moved, %s\n", r == MAP_FAILED ? "not copied" : "copied");
	return 0;
}
