/* refusal_race.c: one thread keeps asking for far more than the cap (each request refused)
 * while the others make small allocations that fit easily; a refusal must be invisible to
 * them.  Usage: refusal_race [THREADS [MILLISECONDS [HUGE_MIB]]] (default 3 300 8192).
 * Prints "huge_refused=N huge_granted=N small=N small_failed=N"; exit 0. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long ms = 300;
static size_t huge = (size_t)8192 << 20;
static _Atomic int stop;
static _Atomic unsigned long small_n, small_failed, huge_refused, huge_granted;

static void *hugger(void *arg)
{
	while (!stop) {
		void *p = malloc(huge);
		if (p) {
			huge_granted++;
			free(p);
		} else {
			huge_refused++;
		}
	}
	return NULL;
}

static void *smaller(void *arg)
{
	void *keep[16] = { 0 };
	unsigned long n = 0, failed = 0;
	for (unsigned i = 0; !stop; i++, n++) {
		void *p = malloc(64);
		if (!p) {
			failed++;
			continue;
		}
		free(keep[i % 16]);
		keep[i % 16] = p;
	}
	for (int i = 0; i < 16; i++)
		free(keep[i]);
	small_n += n;
	small_failed += failed;
	return NULL;
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 3;
	if (argc > 2)
		ms = atol(argv[2]);
	if (argc > 3)
		huge = (size_t)atol(argv[3]) << 20;
	if (nt < 1 || nt > 63)
		return 2;
	pthread_t t[64];
	pthread_create(&t[0], NULL, hugger, NULL);
	for (int i = 1; i <= nt; i++)
		pthread_create(&t[i], NULL, smaller, NULL);
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
	nanosleep(&ts, NULL);
	stop = 1;
	for (int i = 0; i <= nt; i++)
		pthread_join(t[i], NULL);
	printf("huge_refused=%lu huge_granted=%lu small=%lu small_failed=%lu\n",
	       (unsigned long)huge_refused, (unsigned long)huge_granted, (unsigned long)small_n,
	       (unsigned long)small_failed);
	return 0;
}
