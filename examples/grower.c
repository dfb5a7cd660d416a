/* grower.c: three allocation patterns side by side over ~2.5 s, for growth reports: a
 * steady grower (grow_steady keeps 64 KiB more every tick), a warm-up pool that fills
 * during the first 0.8 s and then holds (pool_warm), and churn that frees all it takes
 * (churn_tick).  Usage: grower [TICKS] (10 ms each, default 250).  Deterministic output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_TICKS 80
#define POOL_BLOCK 32768

static void **grown, **pool;
static size_t ngrown, npool;

static void grow_steady(void)
{
	void *p = malloc(65536);
	memset(p, 1, 65536);
	grown[ngrown++] = p;
}

static void pool_warm(int tick)
{
	/* Fill 4 blocks per tick while warming up; afterwards replace one block per tick, so
	 * the pool's live bytes stay flat while it keeps allocating. */
	if (tick < POOL_TICKS) {
		for (int i = 0; i < 4; i++) {
			pool[npool] = malloc(POOL_BLOCK);
			memset(pool[npool++], 2, POOL_BLOCK);
		}
	} else {
		size_t i = (size_t)tick % npool;
		free(pool[i]);
		pool[i] = malloc(POOL_BLOCK);
		memset(pool[i], 3, POOL_BLOCK);
	}
}

static size_t churn_tick(int tick)
{
	size_t sum = 0;
	for (int i = 0; i < 200; i++) {
		size_t n = (size_t)(24 + (tick * 131 + i * 17) % 3000);
		char *p = malloc(n);
		memset(p, i, n);
		sum += (unsigned char)p[n / 2];
		free(p);
	}
	return sum;
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 250;
	grown = calloc((size_t)ticks + 1, sizeof *grown);
	pool = calloc(POOL_TICKS * 4, sizeof *pool);
	size_t sum = 0;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int t = 0; t < ticks; t++) {
		grow_steady();
		pool_warm(t);
		sum += churn_tick(t);
		nanosleep(&ts, NULL);
	}
	printf("ticks=%d grown_bytes=%zu pool_bytes=%zu churn_sum=%zu\n", ticks,
	       ngrown * (size_t)65536, npool * (size_t)POOL_BLOCK, sum);
	/* The grown blocks and the pool stay live (and reachable) at exit, as a cache would. */
	return 0;
}
