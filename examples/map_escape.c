/* map_escape.c: ways a program gets anonymous memory without MAP_ANONYMOUS or a plain mmap
 * (issue 9), each asking for 256 MiB in 40 MiB steps; under a 64 MiB cap all but the first
 * step must be refused.  Prints got=MiB obtained and steps=N; exit 0 unless a call failed
 * for a reason other than ENOMEM (exit 1), 2 usage.
 *
 *   map_escape devzero-private|devzero-shared|dontunmap|sbrk|rawunmap
 *
 * rawunmap is the other way round: each step unmaps the last one with a raw munmap
 * syscall, which the guard cannot see, and maps again at the same place, so only 40 MiB is
 * ever held: every step must succeed and the exit snapshot must show 40 MiB mapped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)
#define STEP (40 * MiB)
#define WANT (256 * MiB)
#define RW (PROT_READ | PROT_WRITE)

static int report(size_t got, int steps, int err)
{
	printf("got=%zu steps=%d errno=%s\n", got / MiB, steps, err ? strerror(err) : "0");
	fflush(stdout);
	return err && err != ENOMEM ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: map_escape MODE\n"), 2;
	const char *mode = argv[1];
	size_t got = 0;
	int steps = 0;
	if (!strncmp(mode, "devzero-", 8)) {
		int fd = open("/dev/zero", O_RDWR);
		int type = !strcmp(mode + 8, "shared") ? MAP_SHARED : MAP_PRIVATE;
		while (got < WANT) {
			char *p = mmap(NULL, STEP, RW, type, fd, 0);
			if (p == MAP_FAILED)
				return report(got, steps, errno);
			memset(p, 1, STEP);
			got += STEP, steps++;
		}
	} else if (!strcmp(mode, "dontunmap")) {
		char *p = mmap(NULL, STEP, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return report(got, steps, errno);
		for (got = STEP, steps = 1; got < WANT; got += STEP, steps++) {
			memset(p, 1, STEP);
			/* The pages move; p stays mapped (and writable) as well. */
			char *q = mremap(p, STEP, STEP, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
			if (q == MAP_FAILED)
				return report(got, steps, errno);
		}
		memset(p, 1, STEP);
	} else if (!strcmp(mode, "sbrk")) {
		for (; got < WANT; got += STEP, steps++) {
			char *p = sbrk(STEP);
			if (p == (void *)-1)
				return report(got, steps, errno);
			memset(p, 1, STEP);
		}
	} else if (!strcmp(mode, "rawunmap")) {
		char *at = NULL;
		for (; got < WANT; got += STEP, steps++) {
			char *p = mmap(at, STEP, RW, MAP_PRIVATE | MAP_ANONYMOUS |
				       (at ? MAP_FIXED_NOREPLACE : 0), -1, 0);
			if (p == MAP_FAILED)
				return report(got, steps, errno);
			memset(p, 1, STEP);
			syscall(SYS_munmap, p, STEP);
			at = p;
		}
		if (mmap(at, STEP, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) ==
		    MAP_FAILED)
			return report(got, steps, errno);
	} else {
		return fprintf(stderr, "map_escape: unknown mode %s\n", mode), 2;
	}
	return report(got, steps, 0);
}
