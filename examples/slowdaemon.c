/* slowdaemon.c: a daemon (daemon(3): a fork child in a new session) that allocates 4 KiB
 * every 100 ms, asks itself for a snapshot with SIGUSR2 half-way, and exits after about
 * ROUNDS/10 seconds.  Its periodic snapshots must come on time however slowly it allocates.
 * Usage: slowdaemon [ROUNDS].  Prints "daemon=PID", then closes its output. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 12;
	if (daemon(1, 1) != 0) {
		perror("daemon");
		return 1;
	}
	printf("daemon=%d\n", (int)getpid());
	fflush(stdout);
	int null = open("/dev/null", O_RDWR);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
	void *keep[64] = { 0 };
	for (int round = 0; round < rounds; round++) {
		keep[round % 64] = malloc(4096);
		memset(keep[round % 64], 1, 4096);
		if (round == rounds / 2)
			kill(getpid(), SIGUSR2);
		usleep(100 * 1000);
	}
	return 0;
}
