/* fdrace.c: one thread closes every descriptor number it does not know to be the program's,
 * over and over (a close-everything sweep racing the rest of the program), while another
 * opens a file, writes a line through it and closes it, in a loop.  The guard's own brief
 * descriptors (its /proc reads, its log) must never be closed by the sweep and then handed
 * to the program's next open while the guard still uses the number: every write must land.
 * Usage: fdrace FILE [MS].  Prints "lines=N failed=N". */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mine = PTHREAD_MUTEX_INITIALIZER;
static int current = -1;          /* the program's open descriptor, under `mine` */
static atomic_int stop;

static void *sweeper(void *arg)
{
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&mine);
		for (int fd = 3; fd < 16; fd++)
			if (fd != current)
				close(fd);
		pthread_mutex_unlock(&mine);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	long ms = argc > 2 ? atol(argv[2]) : 1000;
	pthread_t t;
	pthread_create(&t, NULL, sweeper, NULL);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	long lines = 0, failed = 0;
	do {
		pthread_mutex_lock(&mine);
		int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0600);
		current = fd;
		pthread_mutex_unlock(&mine);
		if (fd < 0) {
			failed++;
			continue;
		}
		char *p = malloc(64);   /* allocations keep the guard busy too */
		usleep(50);             /* the guard may run meanwhile */
		int n = snprintf(p, 64, "line %ld\n", lines);
		if (write(fd, p, (size_t)n) == n)
			lines++;
		else
			failed++;
		free(p);
		pthread_mutex_lock(&mine);
		if (close(fd) != 0)
			failed++;
		current = -1;
		pthread_mutex_unlock(&mine);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("lines=%ld failed=%ld\n", lines, failed);
	return 0;
}
