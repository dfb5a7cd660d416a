/* growth_shapes.c: one allocation shape per run, for testing `allocguard growth` on real
 * runs.  Amounts follow the clock, not a tick count, so the true rate is known exactly and
 * printed: "rate=B/s" is what the shape's site grows at (0 when level), in its growth phase.
 * Every shape allocates from one site, shape_site(), so one stack holds it all.
 *   leak_churn S     a working set that rises and falls at random (0..4 MiB, a new
 *                    target every 60 ms) with a steady leak of 2 MiB/s hidden in it
 *   pool_fast S      a pool of 2 MiB that triples in the first fifth, then holds
 *   grow_level A B   grows 2 MiB/s for A seconds, then holds for B seconds
 *   flat S           the random working set alone
 *   shrink S         12 MiB taken at once, then given back at 3 MiB/s
 *   teardown S       grows 2 MiB/s; at exit an atexit handler frees it all and lingers
 *                    (as node's teardown does) so an interval snapshot sees the fall
 * Usage: growth_shapes SHAPE ARGS... */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 16384
#define MAX_BLOCKS 8192
#define CHURN_MAX (4u << 20)

static void *blocks[MAX_BLOCKS];
static size_t nblocks;
static void *churn[MAX_BLOCKS];
static size_t nchurn;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

/* The one allocation site of every shape. */
static __attribute__((noinline)) void *shape_site(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 0x5a, n);
	return p;
}

static size_t churn_target;

/* Keep `want` bytes of held blocks and churn_target bytes of working set, every block
 * taken at the one site: the leak and the churn are one stack, as when some records of a
 * busy code path are never freed. */
static void hold(size_t want)
{
	unsigned seed = (unsigned)nchurn * 2654435761u + (unsigned)nblocks;
	while ((nblocks * BLOCK < want && nblocks < MAX_BLOCKS) ||
	       (nchurn * BLOCK < churn_target && nchurn < MAX_BLOCKS)) {
		void *p = shape_site(BLOCK);
		if (nblocks * BLOCK < want && nblocks < MAX_BLOCKS)
			blocks[nblocks++] = p;
		else
			churn[nchurn++] = p;
	}
	while (nblocks * BLOCK > want + BLOCK / 2 && nblocks > 0)
		free(blocks[--nblocks]);
	while (nchurn * BLOCK > churn_target + BLOCK / 2 && nchurn > 0) {
		/* a random block goes, as a cache evicting entries */
		size_t i = (size_t)rand_r(&seed) % nchurn;
		free(churn[i]);
		churn[i] = churn[--nchurn];
	}
}

/* The working set's target moves at random between 0 and CHURN_MAX every 60 ms. */
static void churn_step(unsigned *seed, double t, double *next)
{
	if (t >= *next) {
		churn_target = (size_t)((double)rand_r(seed) / RAND_MAX * CHURN_MAX);
		*next = t + 0.06;
	}
}

static void teardown(void)
{
	churn_target = 0;
	hold(0);
	for (int i = 0; i < 20; i++)
		nap();
}

int main(int argc, char **argv)
{
	const char *shape = argc > 1 ? argv[1] : "";
	double a = argc > 2 ? atof(argv[2]) : 3, b = argc > 3 ? atof(argv[3]) : 1;
	unsigned seed = (unsigned)time(NULL);
	double t0 = now(), t, next = 0, rate = 0;
	if (strcmp(shape, "leak_churn") == 0 || strcmp(shape, "flat") == 0) {
		int leak = shape[0] == 'l';
		rate = leak ? 2u << 20 : 0;
		while ((t = now() - t0) < a) {
			churn_step(&seed, t, &next);
			hold((size_t)(rate * t));
			nap();
		}
	} else if (strcmp(shape, "pool_fast") == 0) {
		double fill = a / 5;
		hold(2u << 20);
		while ((t = now() - t0) < a) {
			hold(t < fill ? (size_t)((2u << 20) + (4u << 20) * t / fill) : 6u << 20);
			nap();
		}
		rate = 0;
	} else if (strcmp(shape, "grow_level") == 0) {
		rate = 2u << 20;
		while ((t = now() - t0) < a + b) {
			hold((size_t)(rate * (t < a ? t : a)));
			nap();
		}
		rate = 0;   /* level now */
	} else if (strcmp(shape, "shrink") == 0) {
		rate = -3.0 * (1u << 20);
		hold(12u << 20);
		while ((t = now() - t0) < a) {
			double want = (12u << 20) + rate * t;
			hold(want > 0 ? (size_t)want : 0);
			nap();
		}
	} else if (strcmp(shape, "teardown") == 0) {
		rate = 2u << 20;
		atexit(teardown);
		while ((t = now() - t0) < a) {
			hold((size_t)(rate * t));
			nap();
		}
	} else {
		fprintf(stderr, "usage: growth_shapes leak_churn|pool_fast|grow_level|flat|shrink|"
			"teardown SECONDS [SECONDS]\n");
		return 2;
	}
	printf("shape=%s rate=%.0f held=%zu churn=%zu\n", shape, rate, nblocks * (size_t)BLOCK,
	       nchurn * (size_t)BLOCK);
	return 0;
}
