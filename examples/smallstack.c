/* smallstack.c: exit() from a place with little stack, before any snapshot was written: a
 * thread with a 16 KiB stack ("thread"), or a signal handler on a small sigaltstack
 * ("altstack").  The guard's exit snapshot must not need the caller's stack.
 * Usage: smallstack thread|altstack|main.  Leaks 3 blocks of 1000 bytes; exits with status 7. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uintptr_t hidden[3];   /* ~pointer: no pointer left to scan */

static __attribute__((noinline)) void leak(void)
{
	for (int i = 0; i < 3; i++) {
		char *p = malloc(1000);
		memset(p, 0x5a, 1000);
		hidden[i] = ~(uintptr_t)p;
	}
}

static void leak_and_exit(void)
{
	leak();
	fflush(stdout);
	exit(7);
}

static void *thread_main(void *arg)
{
	leak_and_exit();
	return NULL;
}

static void on_signal(int sig)
{
	leak_and_exit();
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	printf("start\n");
	if (strcmp(argv[1], "main") == 0)
		leak_and_exit();   /* for comparison: a normal stack */
	if (strcmp(argv[1], "thread") == 0) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		/* Exactly 16 KiB, the thread's TLS included, as coroutine and green-thread
		 * runtimes hand out. */
		size_t size = 16 * 1024;
		void *stack = aligned_alloc(4096, size);
		if (!stack || pthread_attr_setstack(&attr, stack, size) != 0)
			return 1;
		pthread_t t;
		if (pthread_create(&t, &attr, thread_main, NULL) != 0)
			return 1;
		pthread_join(t, NULL);
		return 1;
	}
	if (strcmp(argv[1], "altstack") == 0) {
		/* As small as the kernel lets a signal frame be on this machine, plus 4 KiB. */
		size_t size = (size_t)sysconf(_SC_MINSIGSTKSZ) + 4096;
		stack_t ss = { .ss_sp = malloc(size), .ss_size = size, .ss_flags = 0 };
		if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
			return 1;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_ONSTACK;
		sigaction(SIGUSR1, &sa, NULL);
		raise(SIGUSR1);
		return 1;
	}
	return 2;
}
