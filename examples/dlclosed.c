/* dlclosed.c: allocations from libraries that are gone before any snapshot.  Opens each
 * LIB in turn, calls its `void *make(size_t)` (which allocates and the program keeps:
 * reachable at exit), and dlcloses it before opening the next, so a later library may be
 * placed where an earlier one was.  Usage: dlclosed LIB.so... ; prints for each library
 * "lib=PATH bytes=N base=0x..." with the load base it had. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *kept[64];

int main(int argc, char **argv)
{
	for (int i = 1; i < argc && i < 64; i++) {
		void *h = dlopen(argv[i], RTLD_NOW);
		if (!h) {
			fprintf(stderr, "dlclosed: %s\n", dlerror());
			return 2;
		}
		void *(*make)(size_t) = (void *(*)(size_t))dlsym(h, "make");
		Dl_info di;
		if (!make || !dladdr((void *)make, &di))
			return 2;
		size_t n = 1000u * (size_t)i + 24;
		kept[i] = make(n);
		printf("lib=%s bytes=%zu base=%p\n", argv[i], n, di.dli_fbase);
		dlclose(h);
	}
	return kept[1] ? 0 : 1;
}
