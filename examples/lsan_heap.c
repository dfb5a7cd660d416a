/* lsan_heap.c: LeakSanitizer's single-threaded heap scenarios (compiler-rt/test/lsan
 * TestCases) as a plain program, for the exit scan's verdicts against LSan's and memcheck's.
 * Usage: lsan_heap MODE
 *   malloc0     malloc(0), its only pointer dropped: lost, 0 bytes in 1 block
 *   malloc0-kept malloc(0) kept in a global: reachable
 *   arena       a 1337-byte block of main's, whose only pointer left is a stale copy in a
 *               freed block of a thread arena that holds no live block any more: lost
 *   global      a 1337-byte block in a global: reachable
 *   lost        a 1337-byte block dropped: lost (the control) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile kept;
static void *volatile handoff;

__attribute__((noinline)) static void zero_stack(void)
{
	volatile long buf[16 * 1024];
	for (size_t i = 0; i < sizeof buf / sizeof *buf; i++)
		buf[i] = 0;
}

/* The thread's arena gets a block holding the pointer far from glibc's free-list words,
 * then the block is freed: only the stale copy is left, in glibc's free memory. */
static void *arena_user(void *arg)
{
	void **slab = malloc(4096);
	for (int i = 0; i < 512; i++)
		slab[i] = handoff;
	handoff = NULL;
	free(slab);
	zero_stack();
	return arg;
}

__attribute__((noinline)) static void drop(size_t size)
{
	void *volatile p = malloc(size);
	p = NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "malloc0";
	if (strcmp(mode, "malloc0") == 0) {
		drop(0);
	} else if (strcmp(mode, "malloc0-kept") == 0) {
		kept = malloc(0);
	} else if (strcmp(mode, "arena") == 0) {
		handoff = malloc(1337);
		pthread_t t;
		pthread_create(&t, NULL, arena_user, NULL);
		pthread_join(t, NULL);
	} else if (strcmp(mode, "global") == 0) {
		kept = malloc(1337);
	} else if (strcmp(mode, "lost") == 0) {
		drop(1337);
	} else {
		fprintf(stderr, "lsan_heap: unknown mode '%s'\n", mode);
		return 2;
	}
	zero_stack();
	return 0;
}
