/* thread_churn.c: many short-lived threads, each allocating from the same call site and
 * keeping a few blocks (stored in a global table, so reachable) before it exits: per-thread
 * caches in a profiler must not lose what dead threads did.
 * Usage: thread_churn [THREADS [BATCH]] (default 600 8).
 * Prints "threads=N allocations=N live_count=N live_bytes=N". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define PER_THREAD 100
#define KEEP 10
#define SIZE 48

static void **kept;

static void *churn_thread_alloc(long id)
{
	void *mine[PER_THREAD];
	for (int i = 0; i < PER_THREAD; i++) {
		mine[i] = malloc(SIZE);
		((char *)mine[i])[0] = (char)i;
	}
	for (int i = KEEP; i < PER_THREAD; i++)
		free(mine[i]);
	for (int i = 0; i < KEEP; i++)
		kept[id * KEEP + i] = mine[i];
	return NULL;
}

static void *body(void *arg)
{
	return churn_thread_alloc((long)arg);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 600;
	long batch = argc > 2 ? atol(argv[2]) : 8;
	if (n < 1 || batch < 1 || batch > 256)
		return 2;
	kept = calloc((size_t)(n * KEEP), sizeof *kept);
	pthread_t t[256];
	for (long done = 0; done < n;) {
		long k = 0;
		for (; k < batch && done + k < n; k++)
			pthread_create(&t[k], NULL, body, (void *)(done + k));
		for (long i = 0; i < k; i++)
			pthread_join(t[i], NULL);
		done += k;
	}
	printf("threads=%ld allocations=%ld live_count=%ld live_bytes=%ld\n", n, n * PER_THREAD,
	       n * KEEP, n * KEEP * SIZE);
	return 0;
}
