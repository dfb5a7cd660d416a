/* signal_storm.c: allocator threads keep the heap busy while the process is sent SIGUSR2 over
 * and over (each one a snapshot request) from another thread; must finish with every signal
 * delivered and nothing deadlocked.  Usage: signal_storm [SIGNALS] (default 200).
 * Prints "signals=N allocations=N". */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long allocations;

static void *churn(void *arg)
{
	unsigned s = (unsigned)(long)arg;
	void *slot[512] = { 0 };
	while (!atomic_load(&stop)) {
		s = s * 1103515245u + 12345u;
		unsigned i = (s >> 8) % 512;
		free(slot[i]);
		slot[i] = malloc(16 + (s >> 12) % 3000);
		atomic_fetch_add(&allocations, 1);
	}
	for (int i = 0; i < 512; i++)
		free(slot[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	pthread_t t[3];
	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, churn, (void *)(i + 1));
	struct timespec gap = { 0, 2 * 1000 * 1000 };
	for (int i = 0; i < n; i++) {
		kill(getpid(), SIGUSR2);
		nanosleep(&gap, NULL);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("signals=%d allocations=%s\n", n, atomic_load(&allocations) > 0 ? "many" : "none");
	return 0;
}
