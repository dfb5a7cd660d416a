/* lowstack.c: allocation with little stack left, as bare glibc allows it.
 *   altstack  malloc (the thread's first) in a signal handler on an 8 KiB sigaltstack
 *   thread    malloc in a thread with about 6 KiB of its stack left (the thread's first)
 * Usage: lowstack MODE [ROUNDS] [LEFT] (bytes left in thread mode, 6144).  Prints "ok MODE blocks=N". */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int blocks;
static void *keep[64];

static void on_usr1(int sig)
{
	for (int i = 0; i < 4; i++) {
		void *p = malloc(100 + (size_t)i);
		if (p)
			keep[blocks++ % 64] = p;
	}
}

static void *altstack_thread(void *arg)
{
	stack_t ss = { .ss_sp = malloc(8192), .ss_size = 8192 };
	sigaltstack(&ss, NULL);
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK };
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	return NULL;
}

static uintptr_t stack_lo;
static size_t left = 6 * 1024;

static __attribute__((noinline)) void deep(void)
{
	volatile char pad[512];
	pad[0] = 1;
	uintptr_t here = (uintptr_t)&pad[0];
	if (here - stack_lo > left + 512) {
		deep();
	} else {
		void *p = malloc(200);   /* about 6 KiB left */
		if (p)
			keep[blocks++ % 64] = p;
	}
	pad[1] = pad[0];
}

static void *small_thread(void *arg)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &lo, &size);
	pthread_attr_destroy(&a);
	stack_lo = (uintptr_t)lo;
	deep();
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "altstack";
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	if (argc > 3)
		left = (size_t)atol(argv[3]);
	for (int r = 0; r < rounds; r++) {
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 64 * 1024);
		if (!strcmp(mode, "altstack"))
			pthread_create(&t, &a, altstack_thread, NULL);
		else
			pthread_create(&t, &a, small_thread, NULL);
		pthread_join(t, NULL);
		pthread_attr_destroy(&a);
	}
	printf("ok %s blocks=%d\n", mode, blocks);
	return 0;
}
