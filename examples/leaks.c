/* leaks.c: planted leaks with exactly known sizes, for the leak reports and their tests.
 * Each leak_* function leaks from its own call sites (malloc, calloc, realloc chain,
 * aligned allocations, strdup, a second thread); keep_reachable's block stays pointed to by
 * a global; churn frees everything it allocates.  Prints one line per function:
 *   expect FUNC lost_bytes=N lost_count=N reachable_bytes=N reachable_count=N
 * Modes (argv[1]): none = return from main; usr2 = also send itself SIGUSR2 midway;
 * thread-exit = a second thread calls exit(0) while main waits; churn=N = N churn rounds. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Leaked blocks are filled with a byte that makes no pointer, so nothing leaked points to
 * anything else: every lost block is directly lost. */
#define FILL 0x5a

static void *keep_global;
static void *keep_array[3];
static volatile int sink;

static void expect(const char *fn, size_t lb, size_t lc, size_t rb, size_t rc)
{
	printf("expect %s lost_bytes=%zu lost_count=%zu reachable_bytes=%zu reachable_count=%zu\n",
	       fn, lb, lc, rb, rc);
}

/* Stale copies of leaked pointers in dead stack frames would make lost blocks look reachable
 * to a conservative scan; overwrite them. */
static void clobber_stack(void)
{
	volatile char pad[256 * 1024];
	memset((char *)pad, 0, sizeof pad);
	sink = pad[100];
}

static void leak_malloc(void)
{
	for (int i = 0; i < 10; i++) {
		char *p = malloc(1000);
		memset(p, FILL, 1000);
		p = NULL;
	}
	expect("leak_malloc", 10000, 10, 0, 0);
}

static void leak_calloc(void)
{
	for (int i = 0; i < 4; i++) {
		char *p = calloc(25, 12);
		memset(p, FILL, 300);
		p = NULL;
	}
	expect("leak_calloc", 1200, 4, 0, 0);
}

static void leak_realloc_chain(void)
{
	for (int i = 0; i < 3; i++) {
		char *p = malloc(16);
		p = realloc(p, 700);
		p = realloc(p, 5000);
		p = realloc(p, 2222);
		memset(p, FILL, 2222);
		p = NULL;
	}
	expect("leak_realloc_chain", 6666, 3, 0, 0);
}

static void leak_aligned(void)
{
	void *p = NULL;
	if (posix_memalign(&p, 64, 200) == 0)
		memset(p, FILL, 200);
	p = aligned_alloc(4096, 8192);
	memset(p, FILL, 8192);
	p = memalign(256, 3000);
	memset(p, FILL, 3000);
	p = NULL;
	expect("leak_aligned", 11392, 3, 0, 0);
}

static void leak_strdup(void)
{
	/* 22 characters + NUL */
	char *s = strdup("a string that leaks...");
	s = NULL;
	(void)s;
	expect("leak_strdup", 23, 1, 0, 0);
}

static void keep_reachable(void)
{
	keep_global = malloc(4321);
	memset(keep_global, FILL, 4321);
	for (int i = 0; i < 3; i++) {
		keep_array[i] = malloc(111);
		memset(keep_array[i], FILL, 111);
	}
	expect("keep_reachable", 0, 0, 4654, 4);
}

static void churn(int rounds)
{
	for (int r = 0; r < rounds; r++) {
		void *v[32];
		for (int i = 0; i < 32; i++)
			v[i] = malloc((size_t)(16 + (i * 37 + r) % 2000));
		for (int i = 0; i < 32; i++)
			free(v[i]);
	}
	expect("churn", 0, 0, 0, 0);
}

static void thread_leak_work(void)
{
	for (int i = 0; i < 7; i++) {
		char *p = malloc(333);
		memset(p, FILL, 333);
		p = NULL;
	}
}

static void *thread_leak(void *arg)
{
	thread_leak_work();
	clobber_stack();
	return NULL;
}

static void *thread_exit(void *arg)
{
	fflush(stdout);
	exit(0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "none";
	int rounds = 100;
	if (!strncmp(mode, "churn=", 6))
		rounds = atoi(mode + 6);
	setvbuf(stdout, NULL, _IOLBF, 0);

	leak_malloc();
	leak_calloc();
	leak_realloc_chain();
	leak_aligned();
	leak_strdup();
	keep_reachable();
	churn(rounds);

	pthread_t t;
	pthread_create(&t, NULL, thread_leak, NULL);
	pthread_join(t, NULL);
	expect("thread_leak_work", 2331, 7, 0, 0);

	if (!strcmp(mode, "usr2")) {
		kill(getpid(), SIGUSR2);
		/* The snapshot is written by the guard's own thread: give it time. */
		usleep(500 * 1000);
		printf("sent SIGUSR2\n");
	}
	clobber_stack();
	if (!strcmp(mode, "thread-exit")) {
		pthread_create(&t, NULL, thread_exit, NULL);
		pthread_join(t, NULL);
		printf("not reached\n");
		return 3;
	}
	printf("done\n");
	return 0;
}
