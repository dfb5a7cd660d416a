/* deepbind.c: a library opened with RTLD_DEEPBIND binds malloc/free to libc directly,
 * bypassing an LD_PRELOAD hook; blocks then cross between the two: the program frees what
 * the library allocated and the library frees what the program allocated.
 * Usage: deepbind LIB.so [plain], where LIB exports void *lib_malloc(size_t) and
 * void lib_free(void *).  Prints "rounds=N ok" when every block survived intact.
 * With "plain" the library is opened without RTLD_DEEPBIND, after start-up, and leaks five
 * blocks from lib_malloc (printed as an expect line, like leaks.c): the guard must learn of
 * the new module to attribute them.
 * With "rounds N MB" (or "rounds-lazy N MB", opened RTLD_LAZY) N rounds each pass a block
 * of about MB MiB of ours to lib_free and one of lib_malloc's to free; prints
 * "rounds=N enomem=K".  Sizes grow a little each round so no block lands where an earlier
 * one was: a guard that misses the library's frees keeps them charged, and under a cap
 * runs out. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: deepbind LIB.so\n");
		return 2;
	}
	int plain = argc > 2 && !strcmp(argv[2], "plain");
	int lazy = argc > 2 && !strcmp(argv[2], "rounds-lazy");
	int big = argc > 4 && (lazy || !strcmp(argv[2], "rounds"));
	void *h = dlopen(argv[1], plain ? RTLD_NOW : (lazy ? RTLD_LAZY : RTLD_NOW) | RTLD_DEEPBIND);
	if (!h) {
		fprintf(stderr, "deepbind: %s\n", dlerror());
		return 2;
	}
	void *(*lib_malloc)(size_t) = (void *(*)(size_t))dlsym(h, "lib_malloc");
	void (*lib_free)(void *) = (void (*)(void *))dlsym(h, "lib_free");
	if (!lib_malloc || !lib_free)
		return 2;
	if (plain) {
		for (int i = 0; i < 5; i++)
			memset(lib_malloc(4321), 0x5a, 4321);
		printf("expect lib_malloc lost_bytes=21605 lost_count=5 reachable_bytes=0 "
		       "reachable_count=0\n");
		return 0;
	}
	if (big) {
		int n = atoi(argv[3]), enomem = 0;
		for (int i = 0; i < n; i++) {
			size_t sz = ((size_t)atoi(argv[4]) << 20) + (size_t)i * 65536;
			char *a = malloc(sz);        /* ours, freed by libc's free */
			char *b = lib_malloc(sz);    /* libc's, freed through the guard */
			enomem += !a + !b;
			if (a)
				memset(a, 'a', sz);
			if (b)
				memset(b, 'b', sz);
			lib_free(a);
			free(b);
		}
		printf("rounds=%d enomem=%d\n", n, enomem);
		return 0;
	}
	int bad = 0, rounds = 20000;
	for (int i = 0; i < rounds; i++) {
		size_t n = 16 + (size_t)(i * 37) % 4000;
		char *a = malloc(n);        /* the guard's malloc, freed by libc's free */
		char *b = lib_malloc(n);    /* libc's malloc, freed through the guard */
		memset(a, 'a', n);
		memset(b, 'b', n);
		bad += a[n - 1] != 'a' || b[n - 1] != 'b';
		lib_free(a);
		if (i % 3 == 0)
			b = realloc(b, n * 2);  /* a block the guard never saw, grown by it */
		free(b);
	}
	dlclose(h);
	printf("rounds=%d %s\n", rounds, bad ? "broken" : "ok");
	return bad != 0;
}
