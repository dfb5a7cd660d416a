/* main_exit.c: main calls pthread_exit and a worker thread finishes the job; the process
 * ends, with exit status 0 and its atexit handlers run, when that last thread returns.  An
 * allocation guard's own background thread must not keep the process alive.
 * Prints "worker done" and "atexit ran". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void at_exit_handler(void)
{
	printf("atexit ran\n");
}

static void *worker(void *arg)
{
	usleep(100 * 1000);
	for (int i = 0; i < 10; i++)
		memset(malloc(1000), 0x5a, 1000);
	printf("worker done\n");
	return NULL;
}

int main(void)
{
	atexit(at_exit_handler);
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_exit(NULL);
}
