/* forksig.c: fork() from a signal handler that interrupts allocation.  A second thread
 * signals the main thread, which is always in malloc or free; the handler forks, the child
 * allocates and exits, the parent reaps it.  Bare this never waits; an allocation guard
 * whose fork preparation takes a lock the interrupted allocation holds waits for itself.
 * Usage: forksig [FORKS].  Prints "forks=N". */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int forks, target = 200;

static void on_usr1(int sig)
{
	pid_t pid = fork();
	if (pid == 0) {
		free(malloc(64));
		_exit(0);
	}
	if (pid > 0)
		atomic_fetch_add(&forks, 1);
}

static void *signaller(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;
	while (atomic_load(&forks) < atomic_load(&target)) {
		int before = atomic_load(&forks);
		pthread_kill(main_thread, SIGUSR1);
		while (atomic_load(&forks) == before)
			usleep(100);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		target = atoi(argv[1]);
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigaction(SIGUSR1, &sa, NULL);
	/* one small size, four at a time: glibc serves these from its thread cache without
	 * taking an arena lock, so bare the handler's fork never finds one held (the first
	 * four come from the arena: before any signal) */
	void *keep[4] = { 0 };
	for (int i = 0; i < 4; i++)
		keep[i] = malloc(48);
	for (int i = 0; i < 4; i++) {
		free(keep[i]);
		keep[i] = malloc(48);
	}
	pthread_t self = pthread_self(), t;
	pthread_create(&t, NULL, signaller, &self);
	for (unsigned i = 0; atomic_load(&forks) < atomic_load(&target); i++) {
		free(keep[i % 4]);
		keep[i % 4] = malloc(48);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	pthread_join(t, NULL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	for (int i = 0; i < 4; i++)
		free(keep[i]);
	printf("forks=%d\n", atomic_load(&forks));
	return 0;
}
