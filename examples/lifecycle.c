/* lifecycle.c: allocation at the edges of a process's life: in constructors, atexit
 * handlers and destructors (after the guard may have written its exit snapshot), blocks
 * crossing those edges, and threads still allocating while main returns.
 * Usage: lifecycle [THREADS] (default 4).  Prints what each stage saw; exit 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *from_ctor;
static volatile int running = 1;

__attribute__((constructor)) static void early(void)
{
	from_ctor = malloc(100);
	strcpy(from_ctor, "from constructor");
}

static void at_exit_handler(void)
{
	char *p = malloc(5000);
	memset(p, 1, 5000);
	p = realloc(p, 50000);
	printf("atexit: %s, realloc %s\n", from_ctor, p ? "ok" : "failed");
	fflush(stdout);
	free(p);
}

__attribute__((destructor)) static void late(void)
{
	/* May run after the guard's exit snapshot: the hooks must still behave like libc. */
	char *p = calloc(10, 1000);
	char *q = strdup(from_ctor);
	int ok = p && q && p[9999] == 0 && !strcmp(q, "from constructor");
	free(q);
	free(p);
	free(from_ctor);
	from_ctor = NULL;
	const char msg[] = "destructor: ok\n", bad[] = "destructor: broken\n";
	if (ok)
		write(1, msg, sizeof msg - 1);
	else
		write(1, bad, sizeof bad - 1);
}

static void *busy(void *arg)
{
	void *slot[64] = { 0 };
	unsigned s = (unsigned)(long)arg;
	while (running) {
		s = s * 1103515245u + 12345u;
		unsigned i = (s >> 8) % 64;
		free(slot[i]);
		slot[i] = malloc(16 + (s >> 12) % 5000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int nt = argc > 1 ? atoi(argv[1]) : 4;
	atexit(at_exit_handler);
	printf("main: %s\n", from_ctor);
	pthread_t t;
	for (long i = 0; i < nt && i < 64; i++) {
		pthread_create(&t, NULL, busy, (void *)(i + 1));
		pthread_detach(t);
	}
	usleep(50 * 1000);
	/* Return with the threads still allocating: exit runs (and the exit snapshot is taken)
	 * while they mutate the heap. */
	return 0;
}
