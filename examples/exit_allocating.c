/* exit_allocating.c: threads that still allocate and free while main exits.  Each of
 * THREADS threads (default 4) keeps replacing blocks of exactly 1,000,000 bytes in a ring
 * of 8, and a second site's blocks of 1000 bytes; main lets them run for MS milliseconds
 * (default 50) and returns.  Every figure of one site at exit must be read at one moment:
 * its live bytes are 1,000,000 (or 1000) times its live blocks, lost and reachable alike.
 * Usage: exit_allocating [THREADS] [MS] */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING 8

__attribute__((noinline)) static void *big(void)
{
	return malloc(1000000);
}

__attribute__((noinline)) static void *small(void)
{
	return malloc(1000);
}

static void *churn(void *arg)
{
	void *ring[RING] = { 0 }, *bits[RING] = { 0 };
	for (unsigned i = 0;; i++) {
		free(ring[i % RING]);
		ring[i % RING] = big();
		free(bits[i % RING]);
		bits[i % RING] = small();
		memset(bits[i % RING], 1, 16);
	}
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	int ms = argc > 2 ? atoi(argv[2]) : 50;
	for (int i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, churn, NULL);
		pthread_detach(t);
	}
	usleep((useconds_t)ms * 1000);
	return 0;
}
