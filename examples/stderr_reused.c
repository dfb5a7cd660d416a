/* stderr_reused.c: a daemon-style program closes stderr and opens its data file, which gets
 * descriptor 2, then writes records to it while its memory crosses a cap's warning and
 * critical thresholds (run it under a cap of 10M).  Nothing but its records may land in the
 * file.  Usage: stderr_reused FILE.  Prints "records=N". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	close(2);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd != 2)
		return 3;
	int records = 0;
	void *keep[100];
	for (int i = 0; i < 100; i++) {
		keep[i] = malloc(95 * 1024);   /* to 9.3 MiB: past 80% and 90% of 10M */
		memset(keep[i], 1, 95 * 1024);
		char line[64];
		int n = snprintf(line, sizeof line, "record %d\n", i);
		if (write(2, line, (size_t)n) == n)
			records++;
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < 100; i++)
		free(keep[i]);
	printf("records=%d\n", records);
	return 0;
}
