/* fdclose.c: a daemon-style program that closes every descriptor above stderr after start-up
 * (as daemons and some shells do), then opens its own file, which gets the lowest free
 * descriptor, writes to it while allocating, asks for a snapshot and exits.  An allocation
 * guard must never write its log into the program's file.
 * Usage: fdclose FILE.  Prints "wrote=N"; the file must hold exactly the program's lines. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *early[100];
	for (int i = 0; i < 100; i++)
		early[i] = malloc(100 + i);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 1;
	size_t wrote = 0;
	for (int round = 0; round < 20; round++) {
		char line[64];
		int n = snprintf(line, sizeof line, "program line %d\n", round);
		wrote += (size_t)write(fd, line, (size_t)n);
		for (int i = 0; i < 1000; i++)
			free(malloc((size_t)(16 + i)));
		if (round == 10)
			kill(getpid(), SIGUSR2);
		usleep(20 * 1000);
	}
	for (int i = 0; i < 100; i++)
		free(early[i]);
	printf("wrote=%zu fd=%d\n", wrote, fd);
	return 0;
}
