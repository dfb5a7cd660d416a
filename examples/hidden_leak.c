/* hidden_leak.c: a leak hidden in a churning cache at the same line: session_cache is
 * called from two places, one keeping a working set that rises and falls at random
 * (0-400 KiB), the other never giving back (about 85 KiB/s).  The site's sum hardly
 * trends; the leaking path alone plainly grows.  Arguments: seconds to run (default 4),
 * the working set's block size (default 1024: 0-400 KiB).  Prints "rate=B/s", the rate
 * the leak grew at (by the clock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 400

static void *slots[SLOTS];

__attribute__((noinline)) static void *session_cache(size_t n)
{
	void *p = malloc(n);
	memset(p, 7, n);
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 4;
	size_t block = argc > 2 ? (size_t)atol(argv[2]) : 1024;
	unsigned seed = 12345;
	size_t target = 0;
	long ticks = (long)(secs * 100);
	double t0 = now_s();
	for (long i = 0; i < ticks; i++) {
		/* the working set: a random level of 1 KiB blocks every tenth of a second */
		if (i % 10 == 0)
			target = (size_t)(rand_r(&seed) % (SLOTS + 1));
		for (size_t k = 0; k < SLOTS; k++) {
			if (k < target && !slots[k])
				slots[k] = session_cache(block);
			else if (k >= target && slots[k]) {
				free(slots[k]);
				slots[k] = NULL;
			}
		}
		/* the leak: 850 bytes every 10 ms */
		(void)session_cache(850);
		sleep_ms(10);
	}
	printf("rate=%.0f\n", 850.0 * (double)ticks / (now_s() - t0));
	return 0;
}
