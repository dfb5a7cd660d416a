/* cap_race.c: several threads race toward the cap at once, half through malloc, half through
 * anonymous mmap, 256 KiB at a time; each stops at its first refusal, then all give their
 * memory back and race again.  Usage: cap_race [THREADS [ROUNDS]] (default 4 20).
 * Prints "rounds=N refusals=N wrong_errno=N"; exit 0 when every refusal was ENOMEM. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define STEP (256 * 1024)
#define MAXB 8192

static pthread_barrier_t start, done;
static int rounds;
static long refusals[64], wrong[64];

static void *racer(void *arg)
{
	long id = (long)arg;
	int use_mmap = id % 2;
	static __thread void *held[MAXB];
	for (int r = 0; r < rounds; r++) {
		pthread_barrier_wait(&start);
		int n = 0;
		for (; n < MAXB; n++) {
			errno = 0;
			void *p = use_mmap ? mmap(NULL, STEP, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
					   : malloc(STEP);
			if (p == NULL || p == MAP_FAILED) {
				refusals[id]++;
				wrong[id] += errno != ENOMEM;
				break;
			}
			((char *)p)[0] = 1;
			held[n] = p;
		}
		pthread_barrier_wait(&done);
		for (int i = 0; i < n; i++) {
			if (use_mmap)
				munmap(held[i], STEP);
			else
				free(held[i]);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 4;
	rounds = argc > 2 ? atoi(argv[2]) : 20;
	if (nt < 1 || nt > 64)
		return 2;
	pthread_barrier_init(&start, NULL, (unsigned)nt);
	pthread_barrier_init(&done, NULL, (unsigned)nt);
	pthread_t t[64];
	for (long i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, racer, (void *)i);
	long ref = 0, bad = 0;
	for (int i = 0; i < nt; i++) {
		pthread_join(t[i], NULL);
		ref += refusals[i];
		bad += wrong[i];
	}
	printf("rounds=%d refusals=%ld wrong_errno=%ld\n", rounds, ref, bad);
	return bad != 0;
}
