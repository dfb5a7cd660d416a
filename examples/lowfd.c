/* lowfd.c: a program that relies on open() returning the lowest free descriptor: it closes
 * descriptor 0 and opens a file, which must come back as 0, over and over while it
 * allocates (and the guard snapshots).  Then, with FULL, it uses every descriptor its limit
 * allows (lowering the limit to 64 first) and exits holding them all.
 * Usage: lowfd [ITERATIONS] [full].  Prints "iterations=N wrong=M [held=K]". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000, wrong = 0;
	void *leak;
	for (int i = 0; i < n; i++) {
		close(0);
		free(malloc(100 + (size_t)i % 900));
		struct timespec gap = { 0, 200 * 1000 };
		nanosleep(&gap, NULL);   /* descriptor 0 stays free a while */
		int fd = open("/dev/null", O_RDONLY);
		if (fd != 0) {
			wrong++;
			if (fd > 0)
				close(fd);
		}
	}
	printf("iterations=%d wrong=%d", n, wrong);
	if (argc > 2 && !strcmp(argv[2], "full")) {
		struct rlimit rl = { 64, 64 };
		setrlimit(RLIMIT_NOFILE, &rl);
		int held = 0;
		while (open("/dev/null", O_RDONLY) >= 0)
			held++;
		for (int i = 0; i < 100; i++)
			free(malloc(1000));
		leak = malloc(4096);   /* a leak to find */
		leak = NULL;
		printf(" held=%d emfile=%d", held, errno == EMFILE);
	}
	printf("\n");
	return 0;
}
