/* sigwaiter.c: the classic signal-handling thread pattern: block SIGTERM, SIGINT, SIGUSR1 and
 * SIGCHLD in main before anything else, then collect them with sigwait.  A process-directed
 * signal goes to a thread that does not block it, so a helper thread that a preloaded
 * library started without blocking signals would take them (and die of SIGTERM).
 * Prints one "got SIGNAME" line per signal, in order; exit 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	static const int order[] = { SIGUSR1, SIGCHLD, SIGINT, SIGTERM };
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 1000; j++)
			free(malloc((size_t)(16 + j)));
		kill(getpid(), order[i]);
		/* give a helper thread every chance to take it */
		usleep(50 * 1000);
		int sig = 0;
		sigwait(&set, &sig);
		printf("got %s\n", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" :
				   sig == SIGUSR1 ? "SIGUSR1" : sig == SIGCHLD ? "SIGCHLD" : "other");
	}
	return 0;
}
