/* peak_mid.c: programs whose peak of tracked memory is mid-run and gone by exit, for the
 * "live at the peak" records.  Each prints "expect FUNC bytes=N count=M" for what its
 * functions had live at the peak, then exits with nothing left.  Modes (argv[1]):
 *   phases    several sites (malloc, calloc, realloc growth, anonymous mmap) rise to the
 *             peak, all are freed, then a lower second phase
 *   sawtooth  three rises, the second the highest: only its site counts
 *   threads   four threads hold blocks while the main thread makes the peak (barriers keep
 *             the threads still at that moment), then all free and churn below the peak
 *   racing    four threads allocate and free 4 KiB blocks at once with nothing held still:
 *             prints "bound bytes=N", the most the per-site figures may be off (one block
 *             per other thread) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))

static void *keep[64];
static int nkeep;

NOINLINE static void *peak_small(size_t n) { void *p = malloc(n); memset(p, 1, n); return p; }
NOINLINE static void *peak_zeroed(size_t n) { return calloc(n, 1); }
NOINLINE static void *peak_grow(void *p, size_t n) { p = realloc(p, n); memset(p, 2, n); return p; }
NOINLINE static void *peak_map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 3, n);
	return p;
}
NOINLINE static void *after_peak(size_t n) { void *p = malloc(n); memset(p, 4, n); return p; }

static void free_kept(void)
{
	for (int i = 0; i < nkeep; i++)
		free(keep[i]);
	nkeep = 0;
}

static void phases(void)
{
	for (int i = 0; i < 10; i++)
		keep[nkeep++] = peak_small(1000 + (size_t)i);          /* 10045 in 10 */
	keep[nkeep++] = peak_zeroed(70000);
	void *g = peak_grow(NULL, 100);
	g = peak_grow(g, 5000);
	g = peak_grow(g, 300000);                                   /* one block of 300000 */
	void *m = peak_map(1 << 20);
	free_kept();
	free(g);
	munmap(m, 1 << 20);
	for (int i = 0; i < 3; i++)
		free(after_peak(200000));                           /* below the peak */
	printf("expect peak_small bytes=10045 count=10\n");
	printf("expect peak_zeroed bytes=70000 count=1\n");
	printf("expect peak_grow bytes=300000 count=1\n");
	printf("expect peak_map bytes=1048576 count=1\n");
	printf("expect after_peak bytes=0 count=0\n");
}

NOINLINE static void *rise_a(size_t n) { void *p = malloc(n); memset(p, 5, n); return p; }
NOINLINE static void *rise_b(size_t n) { void *p = malloc(n); memset(p, 6, n); return p; }
NOINLINE static void *rise_c(size_t n) { void *p = malloc(n); memset(p, 7, n); return p; }

static void sawtooth(void)
{
	for (int i = 0; i < 8; i++)
		keep[nkeep++] = rise_a(100000);
	free_kept();
	for (int i = 0; i < 16; i++)
		keep[nkeep++] = rise_b(100000);
	free_kept();
	for (int i = 0; i < 12; i++)
		keep[nkeep++] = rise_c(100000);
	free_kept();
	printf("expect rise_a bytes=0 count=0\n");
	printf("expect rise_b bytes=1600000 count=16\n");
	printf("expect rise_c bytes=0 count=0\n");
}

#define NT 4
static pthread_barrier_t bar;

NOINLINE static void *thread_hold(size_t n) { void *p = malloc(n); memset(p, 8, n); return p; }
NOINLINE static void *thread_churn(size_t n) { void *p = malloc(n); memset(p, 9, n); return p; }
NOINLINE static void *main_peak(size_t n) { void *p = malloc(n); memset(p, 10, n); return p; }

static void *worker(void *arg)
{
	size_t id = (size_t)arg;
	void *held[5];
	for (int i = 0; i < 5; i++)
		held[i] = thread_hold(20000 + id);
	pthread_barrier_wait(&bar);   /* all held */
	pthread_barrier_wait(&bar);   /* the main thread made the peak */
	for (int i = 0; i < 5; i++)
		free(held[i]);
	for (int i = 0; i < 2000; i++)
		free(thread_churn(64 + (size_t)(i % 50)));
	return NULL;
}

static void threads(void)
{
	pthread_t t[NT];
	pthread_barrier_init(&bar, NULL, NT + 1);
	for (size_t i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_barrier_wait(&bar);
	void *p = main_peak(400000);
	pthread_barrier_wait(&bar);
	free(p);
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	unsigned long long held = 0;
	for (size_t i = 0; i < NT; i++)
		held += 5 * (20000 + i);
	printf("expect thread_hold bytes=%llu count=%d\n", held, 5 * NT);
	printf("expect main_peak bytes=400000 count=1\n");
	printf("expect thread_churn bytes=0 count=0\n");
}

NOINLINE static void *race_block(void) { void *p = malloc(4096); memset(p, 11, 4096); return p; }

static void *racer(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg;
	void *held[256] = { 0 };
	for (int i = 0; i < 20000; i++) {
		int k = (int)(rand_r(&seed) % 256);
		if (held[k]) {
			free(held[k]);
			held[k] = NULL;
		} else {
			held[k] = race_block();
		}
	}
	for (int k = 0; k < 256; k++)
		free(held[k]);
	return NULL;
}

static void racing(void)
{
	pthread_t t[NT];
	for (size_t i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, racer, (void *)(i + 1));
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	printf("bound bytes=%d\n", NT * 4096);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "phases";
	if (strcmp(mode, "phases") == 0)
		phases();
	else if (strcmp(mode, "sawtooth") == 0)
		sawtooth();
	else if (strcmp(mode, "threads") == 0)
		threads();
	else if (strcmp(mode, "racing") == 0)
		racing();
	else
		return 2;
	return 0;
}
