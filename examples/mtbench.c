/* mtbench.c: allocation-heavy multi-threaded benchmark for bench/run.sh.  Each thread does a
 * fixed number of operations on its own slot table: malloc of mixed sizes (mostly small,
 * some page-sized, a few large), realloc, free; the work is the same on every run.
 * Usage: mtbench [THREADS [OPS_PER_THREAD]] (default 4 1000000).
 * Prints "threads=N ops=N seconds=X ops_per_s=N checksum=N", then "mallocs=N malloc_bytes=N
 * reallocs=N" (exact counts of the calls made from bench_malloc and bench_realloc, for
 * checking a profiler's totals). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 4096

typedef struct {
	uint64_t seed;
	long ops;
	uint64_t checksum;
	uint64_t mallocs, malloc_bytes, reallocs;
} job_t;

/* The only call sites, so each has one stack per thread start routine. */
static void *bench_malloc(job_t *j, size_t n)
{
	j->mallocs++;
	j->malloc_bytes += n;
	return malloc(n);
}

static void *bench_realloc(job_t *j, void *p, size_t n)
{
	j->reallocs++;
	return realloc(p, n);
}

static uint64_t next(uint64_t *s)
{
	/* xorshift64*: cheap and the same everywhere */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static size_t pick_size(uint64_t r)
{
	unsigned k = (unsigned)(r % 100);
	if (k < 70)
		return 8 + (size_t)(r >> 8) % 256;          /* small objects */
	if (k < 95)
		return 256 + (size_t)(r >> 8) % 4096;       /* buffers */
	if (k < 99)
		return 4096 + (size_t)(r >> 8) % 65536;     /* big buffers */
	return 131072 + (size_t)(r >> 8) % 262144;          /* large (mmap'd by libc) */
}

static void *worker(void *arg)
{
	job_t *j = arg;
	void **slot = calloc(SLOTS, sizeof *slot);
	for (long op = 0; op < j->ops; op++) {
		uint64_t r = next(&j->seed);
		size_t i = (size_t)(r >> 40) % SLOTS;
		unsigned what = (unsigned)(r >> 32) % 10;
		if (slot[i] && what < 4) {
			free(slot[i]);
			slot[i] = NULL;
		} else if (slot[i] && what == 4) {
			size_t n = pick_size(next(&j->seed));
			void *q = bench_realloc(j, slot[i], n);
			if (q) {
				slot[i] = q;
				((unsigned char *)q)[n - 1] = (unsigned char)op;
			}
		} else {
			size_t n = pick_size(next(&j->seed));
			free(slot[i]);
			unsigned char *p = bench_malloc(j, n);
			if (p) {
				p[0] = (unsigned char)n;
				p[n - 1] = (unsigned char)op;
				j->checksum += p[0];
			}
			slot[i] = p;
		}
	}
	for (size_t i = 0; i < SLOTS; i++)
		free(slot[i]);
	free(slot);
	return NULL;
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 4;
	long ops = argc > 2 ? atol(argv[2]) : 1000000;
	if (nt < 1 || nt > 256 || ops < 1) {
		fprintf(stderr, "usage: mtbench [THREADS [OPS_PER_THREAD]]\n");
		return 2;
	}
	pthread_t t[256];
	job_t jobs[256];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < nt; i++) {
		jobs[i] = (job_t){ .seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1), .ops = ops };
		pthread_create(&t[i], NULL, worker, &jobs[i]);
	}
	uint64_t sum = 0, mallocs = 0, malloc_bytes = 0, reallocs = 0;
	for (int i = 0; i < nt; i++) {
		pthread_join(t[i], NULL);
		sum += jobs[i].checksum;
		mallocs += jobs[i].mallocs;
		malloc_bytes += jobs[i].malloc_bytes;
		reallocs += jobs[i].reallocs;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("threads=%d ops=%ld seconds=%.3f ops_per_s=%.0f checksum=%llu\n", nt,
	       ops * nt, s, (double)ops * nt / s, (unsigned long long)sum);
	printf("mallocs=%llu malloc_bytes=%llu reallocs=%llu\n", (unsigned long long)mallocs,
	       (unsigned long long)malloc_bytes, (unsigned long long)reallocs);
	return 0;
}
