/* credit_race.c: threads race toward the cap with blocks of mixed sizes, for the test of the
 * cap's exactness when threads hold credit (preload/credit.h).  Each thread first takes
 * SMALL_BYTES in small blocks (far below the cap: where credit is handed out), then blocks
 * of 65-200 KiB (above the recovery headroom's small size at the tested cap) until its first
 * refusal, and keeps everything.  Once all were refused, the main thread frees the largest
 * block and probes, by bisection, the largest single malloc the cap still admits.
 * Usage: credit_race CAP_BYTES [THREADS [snap]].  Prints "threads=N refusals=N
 * wrong_errno=N held=BYTES freed=BYTES smax=BYTES" (freed: the usable size of the block
 * freed before the probe); exits before freeing anything else, so the exit snapshot's
 * tracked total is what the probe saw.  With "snap", a snapshot is asked for (SIGUSR2)
 * once all were refused. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define SMALL_BYTES (1u << 20)
#define MAX_BLOCKS 40000

static pthread_barrier_t small_done, all_refused;
static int nthreads;

typedef struct {
	void *blocks[MAX_BLOCKS];
	size_t n;
	unsigned seed;
	int refused, wrong;
	size_t held;
} racer_t;

static racer_t racers[16];

static void *keep(racer_t *r, size_t size)
{
	errno = 0;
	void *p = malloc(size);
	if (!p) {
		r->refused = 1;
		r->wrong = errno != ENOMEM;
		return NULL;
	}
	memset(p, 1, size < 64 ? size : 64);
	r->blocks[r->n++] = p;
	r->held += size;
	return p;
}

static void *race(void *arg)
{
	racer_t *r = arg;
	for (size_t got = 0; got < SMALL_BYTES && r->n < MAX_BLOCKS / 2;) {
		size_t size = 200 + rand_r(&r->seed) % 1800;
		if (!keep(r, size))
			break;
		got += size;
	}
	/* every thread's small blocks first: after a refusal they could use the headroom */
	pthread_barrier_wait(&small_done);
	while (!r->refused && r->n < MAX_BLOCKS)
		keep(r, 65 * 1024 + rand_r(&r->seed) % (135 * 1024));
	pthread_barrier_wait(&all_refused);
	pthread_barrier_wait(&all_refused);   /* the main thread probes meanwhile */
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	size_t cap = strtoull(argv[1], NULL, 0);
	nthreads = argc > 2 ? atoi(argv[2]) : 4;
	if (nthreads < 1 || nthreads > 16)
		return 2;
	printf("credit_race\n");   /* stdout's buffer is allocated now, not after the probe */
	fflush(stdout);
	pthread_barrier_init(&small_done, NULL, (unsigned)nthreads);
	pthread_barrier_init(&all_refused, NULL, (unsigned)nthreads + 1);
	pthread_t t[16];
	for (int i = 0; i < nthreads; i++) {
		racers[i].seed = (unsigned)i * 7919u + 1;
		pthread_create(&t[i], NULL, race, &racers[i]);
	}
	pthread_barrier_wait(&all_refused);
	int refusals = 0, wrong = 0;
	size_t held = 0;
	for (int i = 0; i < nthreads; i++) {
		refusals += racers[i].refused;
		wrong += racers[i].wrong;
		held += racers[i].held;
	}
	/* a snapshot of this moment (the writer serves SIGUSR2), then room for the probe:
	 * give back one of the big blocks */
	if (argc > 3) {
		usleep(300000);   /* the cap's own snapshots first: one reason per snapshot */
		raise(SIGUSR2);
		usleep(300000);
	}
	void **big = NULL;
	size_t big_size = 0;
	for (int i = 0; i < nthreads; i++) {
		for (size_t k = 0; k < racers[i].n; k++) {
			size_t u = malloc_usable_size(racers[i].blocks[k]);
			if (u > big_size) {
				big_size = u;
				big = &racers[i].blocks[k];
			}
		}
	}
	if (big) {
		free(*big);
		*big = NULL;
	}
	size_t lo = 0, hi = cap;   /* lo fits (or is 0), hi does not */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		void *p = malloc(mid);
		if (p) {
			lo = mid;
			free(p);
		} else {
			hi = mid;
		}
	}
	printf("threads=%d refusals=%d wrong_errno=%d held=%zu freed=%zu smax=%zu\n", nthreads,
	       refusals, wrong, held, big_size, lo);
	fflush(stdout);
	exit(0);   /* no frees, no joins: the exit snapshot sees what the probe saw */
}
