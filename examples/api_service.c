/* api_service.c: a service that sheds load when allocguard says memory is getting tight.
 * Built with only -I to include/ (allocguard.h needs no link flag); bare, it runs as if the
 * guard were absent, keeping its cache under its own fixed limit.
 *
 * Each request builds a 64 KiB response and keeps it in a cache.  Under the guard the
 * pressure listener (called from the guard's thread) records the level; the request loop
 * reads it: at warn it drops the older half of the cache, at critical all of it and pauses
 * intake until the level falls.  With `allocguard run --cap 64M` no request is ever refused.
 * It also labels a snapshot "warm" (for `allocguard diff LOG@warm LOG`) and runs a mid-run
 * leak check around a planted 777-byte block.
 *
 *   api_service [REQUESTS]      prints "key value" lines for tests and people */
#include <allocguard.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RESPONSE (64 * 1024)
#define CACHE_MAX 2048              /* its own limit, 128 MiB: all a bare run has */
#define LEVELS_MAX 64

static void *cache[CACHE_MAX];
static size_t cached;               /* entries 0 .. cached - 1, oldest first */
static _Atomic int level;           /* the last level the guard reported */
static _Atomic int levels[LEVELS_MAX];
static _Atomic int nlevels;

static void on_pressure(int lvl, const allocguard_usage_t *u, void *arg)
{
	(void)u;
	(void)arg;
	atomic_store(&level, lvl);
	int n = atomic_fetch_add(&nlevels, 1);
	if (n < LEVELS_MAX)
		atomic_store(&levels[n], lvl);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Drop the oldest entries so that keep remain. */
static void shed(size_t keep)
{
	if (cached <= keep)
		return;
	size_t drop = cached - keep;
	for (size_t i = 0; i < drop; i++)
		free(cache[i]);
	memmove(cache, cache + drop, keep * sizeof *cache);
	cached = keep;
}

/* One request: 0, or -1 when memory was refused. */
static int serve(unsigned id)
{
	if (cached == CACHE_MAX)
		shed(CACHE_MAX / 2);
	unsigned char *r = malloc(RESPONSE);
	if (!r)
		return -1;
	memset(r, (int)(id & 0xff), RESPONSE);
	cache[cached++] = r;
	nap_ms(1);   /* the request's I/O */
	return 0;
}

/* A block nobody points to once this returns: what a mid-run leak check must find. */
static void *volatile planted;
static __attribute__((noinline)) void plant_leak(void)
{
	planted = malloc(777);
	memset(planted, 7, 777);
	planted = NULL;
}

static void leak_check_demo(void)
{
	allocguard_leaks_t before, after;
	if (allocguard_leak_check(&before) != 0) {
		printf("leak-check unavailable\n");
		return;
	}
	plant_leak();
	if (allocguard_leak_check(&after) != 0)
		return;
	printf("planted-lost %llu\n", (unsigned long long)(after.lost_bytes - before.lost_bytes));
	printf("planted-blocks %llu\n",
	       (unsigned long long)(after.lost_blocks - before.lost_blocks));
}

int main(int argc, char **argv)
{
	unsigned requests = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3000;
	int guarded = allocguard_active();
	printf("mode %s\n", guarded ? "guarded" : "bare");
	if (guarded && allocguard_on_pressure(on_pressure, NULL) != 0)
		printf("listener refused\n");
	unsigned refused = 0, sheds = 0, paused = 0;
	for (unsigned i = 0; i < requests; i++) {
		int lvl = atomic_load(&level);
		if (lvl >= 2) {
			shed(0);
			sheds++;
			/* pause intake until the guard says it is over (bounded) */
			for (int w = 0; w < 2000 && atomic_load(&level) >= 1; w++)
				nap_ms(1);
			paused++;
		} else if (lvl == 1 && cached > 1) {
			shed(cached / 2);
			sheds++;
			for (int w = 0; w < 2000 && atomic_load(&level) == 1; w++)
				nap_ms(1);
		}
		if (serve(i) != 0)
			refused++;
		if (i == 100 && allocguard_snapshot("warm") == 0)
			printf("snapshot warm\n");
	}
	leak_check_demo();
	allocguard_usage_t u;
	if (allocguard_get_usage(&u) == 0)
		printf("usage tracked %llu peak %llu cap %llu level %d\n",
		       (unsigned long long)u.tracked, (unsigned long long)u.peak,
		       (unsigned long long)u.cap, u.level);
	printf("served %u\nrefused %u\nsheds %u\npaused %u\n", requests - refused, refused, sheds,
	       paused);
	int n = atomic_load(&nlevels);
	printf("levels");
	for (int i = 0; i < n && i < LEVELS_MAX; i++)
		printf(" %d", atomic_load(&levels[i]));
	printf("\n");
	shed(0);
	return refused ? 1 : 0;
}
