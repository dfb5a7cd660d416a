/* sampler.c: a large mixed workload with an exactly known live set, for checking sampled
 * estimates against exact totals.  Keeps ~120 MiB of small blocks (16 B..4 KiB) and
 * ~480 MiB of big ones (1..4 MiB) live at exit, while churning ~1 GiB more through
 * malloc/realloc/free.  Usage: sampler [SCALE_PERCENT] (default 100).
 * Prints "live_bytes=N live_count=N allocated_bytes=N allocations=N". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* Roughly log-uniform in [lo, hi) for powers of two lo < hi: a uniform octave, then
 * uniform inside it, so there are as many tiny blocks as big ones per octave. */
static size_t logu(size_t lo, size_t hi)
{
	unsigned octaves = 0;
	while ((lo << octaves) < hi)
		octaves++;
	size_t base = lo << (next() % octaves);
	return base + (size_t)(next() % base);
}

static size_t live_bytes, live_count, alloc_bytes, allocs;

static void *take(size_t n)
{
	unsigned char *p = malloc(n);
	if (!p) {
		perror("malloc");
		exit(1);
	}
	p[0] = 1;
	p[n - 1] = 2;
	alloc_bytes += n;
	allocs++;
	return p;
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 100;
	size_t small_target = (size_t)120 * scale / 100 << 20;
	size_t big_target = (size_t)480 * scale / 100 << 20;
	size_t churn_target = (size_t)1024 * scale / 100 << 20;

	size_t nkeep = 0, capkeep = 1 << 16;
	void **keep = malloc(capkeep * sizeof *keep);
	size_t kept_small = 0, kept_big = 0, churned = 0;
	void *ring[512] = { 0 };
	size_t ringsz[512] = { 0 };
	unsigned r = 0;
	/* Interleave the three streams so live and freed blocks share size classes and time. */
	while (kept_small < small_target || kept_big < big_target || churned < churn_target) {
		if (kept_small < small_target) {
			for (int i = 0; i < 8; i++) {
				size_t n = logu(16, 4096);
				if (nkeep == capkeep)
					keep = realloc(keep, (capkeep *= 2) * sizeof *keep);
				keep[nkeep++] = take(n);
				kept_small += n;
				live_bytes += n;
				live_count++;
			}
		}
		if (kept_big < big_target && next() % 64 == 0) {
			size_t n = logu(1 << 20, 4 << 20);
			if (nkeep == capkeep)
				keep = realloc(keep, (capkeep *= 2) * sizeof *keep);
			keep[nkeep++] = take(n);
			kept_big += n;
			live_bytes += n;
			live_count++;
		}
		if (churned < churn_target) {
			for (int i = 0; i < 4; i++) {
				unsigned k = r++ % 512;
				free(ring[k]);
				size_t n = logu(16, 256 << 10);
				ring[k] = take(n);
				ringsz[k] = n;
				churned += n;
				if (next() % 5 == 0) {
					size_t m = logu(16, 64 << 10);
					void *q = realloc(ring[k], m);
					if (q) {
						ring[k] = q;
						ringsz[k] = m;
						alloc_bytes += m;
						allocs++;
						churned += m;
					}
				}
			}
		}
	}
	for (int k = 0; k < 512; k++)
		free(ring[k]);
	/* keep[] itself is live too. */
	live_bytes += capkeep * sizeof *keep;
	live_count++;
	printf("live_bytes=%zu live_count=%zu allocated_bytes=%zu allocations=%zu\n", live_bytes,
	       live_count, alloc_bytes, allocs);
	fflush(stdout);
	return 0;
}
