/* snap_stress.c: threads allocate and free hard through malloc, realloc and anonymous mmap,
 * each climbing to a working set and falling back, while the guard writes snapshots; at exit
 * every thread still holds part of its set, so the exit snapshot has something to show.
 * Usage: snap_stress [THREADS [MILLISECONDS [KIB_PER_THREAD]]] (default 4 300 8192).
 * Prints "threads=N ops=N held=BYTES"; exit 0. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define SLOTS 512

static long ms = 300;
static size_t budget = 8192 * 1024;
static _Atomic unsigned long ops;
static _Atomic unsigned long long held;

typedef struct {
	void *p;
	size_t n;
	int mapped;
} slot_t;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void drop(slot_t *s)
{
	if (!s->p)
		return;
	if (s->mapped)
		munmap(s->p, s->n);
	else
		free(s->p);
	s->p = NULL;
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
	static __thread slot_t slot[SLOTS];
	uint64_t end = now_ms() + (uint64_t)ms;
	size_t live = 0;
	unsigned long n = 0;
	int climbing = 1;
	while (now_ms() < end) {
		for (int k = 0; k < 256; k++, n++) {
			slot_t *s = &slot[rand_r(&seed) % SLOTS];
			if (climbing && live > budget)
				climbing = 0;
			else if (!climbing && live < budget / 4)
				climbing = 1;
			if (s->p) {
				live -= s->n;
				if (!climbing || rand_r(&seed) % 4 == 0) {
					drop(s);
					continue;
				}
				if (!s->mapped) {
					/* grow or shrink in place or by moving */
					size_t m = 16 + rand_r(&seed) % (budget / SLOTS * 2);
					void *q = realloc(s->p, m);
					if (q) {
						s->p = q;
						s->n = m;
					}
					live += s->n;
					continue;
				}
				drop(s);
			}
			if (!climbing)
				continue;
			int r = rand_r(&seed) % 16;
			if (r == 0) {
				size_t m = (1 + rand_r(&seed) % 16) * 4096;
				void *p = mmap(NULL, m, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
					       -1, 0);
				if (p == MAP_FAILED)
					continue;
				*(char *)p = 1;
				*s = (slot_t){ p, m, 1 };
			} else {
				size_t m = r < 8 ? 1 + rand_r(&seed) % 256 : 1 + rand_r(&seed) % (budget / SLOTS * 2);
				void *p = r == 1 ? calloc(1, m) : malloc(m);
				if (!p)
					continue;
				memset(p, 1, m < 64 ? m : 64);
				*s = (slot_t){ p, m, 0 };
			}
			live += s->n;
		}
	}
	/* keep about half: the exit snapshot sees live memory */
	for (int i = 0; i < SLOTS; i += 2)
		drop(&slot[i]);
	unsigned long long h = 0;
	for (int i = 1; i < SLOTS; i += 2)
		if (slot[i].p)
			h += slot[i].n;
	held += h;
	ops += n;
	return NULL;
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		ms = atol(argv[2]);
	if (argc > 3)
		budget = (size_t)atol(argv[3]) * 1024;
	if (nt < 1 || nt > 64 || ms < 0 || budget < SLOTS)
		return 2;
	pthread_t t[64];
	for (long i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	printf("threads=%d ops=%lu held=%llu\n", nt, (unsigned long)ops, (unsigned long long)held);
	return 0;
}
