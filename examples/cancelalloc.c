/* cancelalloc.c: threads that only allocate and free are cancelled (deferred cancellation,
 * the default).  malloc and free are not cancellation points, so a thread may only be
 * cancelled at its own pthread_testcancel, never inside them; many threads on few cores
 * make allocation wait for the allocator's locks.
 * Usage: cancelalloc [ROUNDS] [THREADS].  Prints "cancels=N inside=M" (M must be 0). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_int inside, started;
static __thread int in_alloc;

static void on_cancel(void *arg)
{
	if (in_alloc)
		atomic_fetch_add(&inside, 1);
}

static void *worker(void *arg)
{
	void *keep[256] = { 0 };
	pthread_cleanup_push(on_cancel, NULL);
	atomic_fetch_add(&started, 1);
	for (unsigned i = 0;; i++) {
		in_alloc = 1;
		free(keep[i % 256]);
		keep[i % 256] = malloc(24 + (i * 7919) % 3000);
		in_alloc = 0;
		if (i % 64 == 0)
			pthread_testcancel();
	}
	pthread_cleanup_pop(0);
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 40, nt = argc > 2 ? atoi(argv[2]) : 16;
	pthread_t t[256];
	if (nt > 256)
		nt = 256;
	int cancels = 0;
	for (int r = 0; r < rounds; r++) {
		atomic_store(&started, 0);
		for (int i = 0; i < nt; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		while (atomic_load(&started) < nt)
			sched_yield();
		struct timespec ts = { 0, 3 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		for (int i = 0; i < nt; i++)
			pthread_cancel(t[i]);
		for (int i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
		cancels += nt;
	}
	printf("cancels=%d inside=%d\n", cancels, atomic_load(&inside));
	return 0;
}
