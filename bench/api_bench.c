/* api_bench.c: what the in-process API costs (docs/api.md): a get_usage call, the delay from
 * the allocation that crosses warn to the listener's call, and a mid-run leak check over N
 * live blocks that the program still points to.
 *
 *   cc -O2 -Iinclude -o build/api_bench bench/api_bench.c
 *   build/allocguard run -q -- build/api_bench [N]         (N: blocks, default 100000) */
#include <allocguard.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAP (64ull << 20)
#define ROUNDS 20

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static _Atomic uint64_t heard_at;
static _Atomic int heard = -1;

static void listener(int level, const allocguard_usage_t *u, void *arg)
{
	(void)u;
	(void)arg;
	atomic_store(&heard_at, now_ns());
	atomic_store(&heard, level);
}

static void wait_for(int level, uint64_t since)
{
	while (atomic_load(&heard) != level && now_ns() - since < 5000000000ull) {
		struct timespec s = { 0, 100000 };
		nanosleep(&s, NULL);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	if (!allocguard_active()) {
		printf("not under allocguard\n");
		return 1;
	}
	allocguard_usage_t u;
	uint64_t t0 = now_ns();
	for (int i = 0; i < 100000; i++)
		allocguard_get_usage(&u);
	printf("get_usage: %.0f ns a call\n", (double)(now_ns() - t0) / 100000);

	void **v = malloc((size_t)n * sizeof *v);
	for (int i = 0; i < n; i++)
		v[i] = malloc(64);
	allocguard_leaks_t l;
	t0 = now_ns();
	allocguard_leak_check(&l);
	printf("leak_check: %.1f ms over %d live blocks (%llu reachable, %llu lost)\n",
	       (double)(now_ns() - t0) / 1e6, n, (unsigned long long)l.reachable_blocks,
	       (unsigned long long)l.lost_blocks);
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);

	allocguard_on_pressure(listener, NULL);
	allocguard_set_cap(CAP);
	double sum = 0, max = 0;
	for (int r = 0; r < ROUNDS; r++) {
		allocguard_get_usage(&u);
		size_t need = (size_t)(CAP * 81 / 100 - u.tracked);
		atomic_store(&heard, -1);
		uint64_t a = now_ns();
		char *volatile p = malloc(need);   /* crosses warn (volatile: not elided) */
		p[0] = 1;
		wait_for(1, a);
		double d = (double)(atomic_load(&heard_at) - a) / 1e3;
		sum += d;
		max = d > max ? d : max;
		free(p);
		wait_for(0, now_ns());
	}
	printf("listener: called %.0f us after the crossing on average, %.0f us at most (%d "
	       "crossings)\n", sum / ROUNDS, max, ROUNDS);
	return 0;
}
