/* exit_twice.c: two threads call exit() at the same moment (undefined behaviour in C, and
 * common in practice: a worker that fails while main finishes).  The process exits with
 * one of the statuses; its allocations must still be logged.
 * Usage: exit_twice.  Exits 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int ready;
static void *keep[1000];

static void *worker(void *arg)
{
	atomic_fetch_add(&ready, 1);
	while (atomic_load(&ready) < 2)
		;
	exit(0);
}

int main(void)
{
	for (int i = 0; i < 1000; i++) {
		keep[i] = malloc(1000);
		memset(keep[i], 1, 1000);
	}
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	atomic_fetch_add(&ready, 1);
	while (atomic_load(&ready) < 2)
		;
	exit(0);
}
