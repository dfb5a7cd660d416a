/* credit_setcap.c: threads holding credit (preload/credit.h) when the program lowers its
 * cap at run time, for the test that a cap set by allocguard_set_cap takes every thread's
 * credit back first.  Each thread takes SMALL_BYTES in small blocks (far below the starting
 * cap: credit is handed out), frees GIVE_BACK of them (its credit fills up) and waits; the
 * main thread sets the cap to what is tracked now plus ROOM, then every thread allocates
 * blocks of 65-200 KiB until its first refusal and keeps them.  Credit left with the
 * threads would let them pass the new cap without asking.
 * Usage: credit_setcap [THREADS].  Prints "threads=N set_cap=RC cap=BYTES refusals=N
 * wrong_errno=N tracked=BYTES" (tracked: allocguard_get_usage once all were refused), then
 * exits without freeing. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocguard.h"

#define SMALL_BYTES (2u << 20)
#define ROOM (256u << 10)
#define GIVE_BACK (400u << 10)
/* after the cap is set: blocks above the recovery headroom's small size (cap.h), which
 * after a refusal could go past the cap by design */
#define BIG_MIN (65u << 10)
#define BIG_MAX (200u << 10)
#define MAX_BLOCKS 40000

static pthread_barrier_t ready, capped, done;

typedef struct {
	void *blocks[MAX_BLOCKS];
	size_t n;
	unsigned seed;
	int refused, wrong;
} racer_t;

static racer_t racers[16];

static int keep(racer_t *r, size_t size)
{
	errno = 0;
	void *p = malloc(size);
	if (!p) {
		r->refused = 1;
		r->wrong = errno != ENOMEM;
		return 0;
	}
	memset(p, 1, size < 64 ? size : 64);
	r->blocks[r->n++] = p;
	return 1;
}

static void *race(void *arg)
{
	racer_t *r = arg;
	for (size_t got = 0; got < SMALL_BYTES && r->n < MAX_BLOCKS / 2; got += 550)
		if (!keep(r, 100 + rand_r(&r->seed) % 900))
			break;
	/* frees give their bytes to the thread's credit: each holds close to the most it may */
	for (size_t gave = 0; gave < GIVE_BACK && r->n > 0; gave += 550)
		free(r->blocks[--r->n]);
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&capped);
	while (!r->refused && r->n < MAX_BLOCKS)
		keep(r, BIG_MIN + rand_r(&r->seed) % (BIG_MAX - BIG_MIN));
	pthread_barrier_wait(&done);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 4;
	if (nthreads < 1 || nthreads > 16)
		return 2;
	printf("credit_setcap\n");   /* stdout's buffer is allocated now */
	fflush(stdout);
	pthread_barrier_init(&ready, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&capped, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&done, NULL, (unsigned)nthreads + 1);
	pthread_t t[16];
	for (int i = 0; i < nthreads; i++) {
		racers[i].seed = (unsigned)i * 7919u + 1;
		pthread_create(&t[i], NULL, race, &racers[i]);
	}
	pthread_barrier_wait(&ready);
	allocguard_usage_t u;
	if (allocguard_get_usage(&u) != 0)
		return 3;
	uint64_t cap = u.tracked + ROOM;
	int rc = allocguard_set_cap(cap);
	pthread_barrier_wait(&capped);
	pthread_barrier_wait(&done);
	int refusals = 0, wrong = 0;
	for (int i = 0; i < nthreads; i++) {
		refusals += racers[i].refused;
		wrong += racers[i].wrong;
	}
	if (allocguard_get_usage(&u) != 0)
		return 3;
	printf("threads=%d set_cap=%d cap=%llu refusals=%d wrong_errno=%d tracked=%llu\n", nthreads,
	       rc, (unsigned long long)cap, refusals, wrong, (unsigned long long)u.tracked);
	fflush(stdout);
	exit(0);
}
