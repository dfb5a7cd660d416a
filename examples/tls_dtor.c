/* tls_dtor.c: allocation in thread-exit destructors.  Each of many short-lived threads sets
 * a pthread key whose destructor, run as the thread dies (possibly after a profiler's own
 * per-thread state was torn down), frees the thread's block and allocates another one kept
 * in a global table.  Usage: tls_dtor [THREADS] (default 300).
 * Prints "threads=N kept_count=N kept_bytes=N"; the kept blocks are reachable at exit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEPT_SIZE 72

static pthread_key_t key;
static void **kept;
static long nkept;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void dtor_alloc(void *value)
{
	free(value);
	void *p = malloc(KEPT_SIZE);
	memset(p, 0x5a, KEPT_SIZE);
	pthread_mutex_lock(&mu);
	kept[nkept++] = p;
	pthread_mutex_unlock(&mu);
}

static void *body(void *arg)
{
	void *v = malloc(500);
	memset(v, 1, 500);
	pthread_setspecific(key, v);
	for (int i = 0; i < 50; i++)
		free(malloc((size_t)(32 + i)));
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 300;
	kept = calloc((size_t)n, sizeof *kept);
	pthread_key_create(&key, dtor_alloc);
	for (long i = 0; i < n; i += 4) {
		pthread_t t[4];
		int k = 0;
		for (; k < 4 && i + k < n; k++)
			pthread_create(&t[k], NULL, body, NULL);
		for (int j = 0; j < k; j++)
			pthread_join(t[j], NULL);
	}
	printf("threads=%ld kept_count=%ld kept_bytes=%ld\n", n, nkept, nkept * KEPT_SIZE);
	return 0;
}
