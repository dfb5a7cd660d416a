/* lazy_edges.c: what a program sees of a mapped model file at the edges where a lazily
 * swapped mapping could differ from a file mapping (issue 9): pages past the end of a file
 * truncated after the mmap must raise SIGBUS (never read as zeros), and the part of a
 * mapping to the right of a hole punched by munmap keeps the file's bytes even when the
 * program has no descriptor to spare.  Writes its own FILE (name it *.gguf to be swapped).
 * Prints key=value results; exit 0 when all match a file mapping, 1 otherwise, 2 usage.
 *
 *   lazy_edges FILE truncate|split
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN ((size_t)8 << 20)

static sigjmp_buf env;
static volatile void *fault_addr;

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 4096 + 1);
}

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
	fault_addr = si->si_addr;
	siglongjmp(env, 1);
}

/* 1 when reading p[i] raises SIGBUS at that address, 0 when it reads. */
static int bus_at(const volatile unsigned char *p, size_t i)
{
	fault_addr = NULL;
	if (sigsetjmp(env, 1))
		return fault_addr == (const void *)&p[i] ? 1 : -1;
	(void)p[i];
	return 0;
}

static size_t wrong(const unsigned char *p, size_t a, size_t z, size_t eof)
{
	size_t bad = 0;
	for (size_t i = a; i < z; i++)
		bad += p[i] != (i < eof ? pattern(i) : 0);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: lazy_edges FILE truncate|split\n"), 2;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	static unsigned char buf[1 << 16];
	for (size_t done = 0; fd >= 0 && done < LEN; done += sizeof buf) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = pattern(done + i);
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
			return perror("write"), 2;
	}
	if (fd < 0)
		return perror(argv[1]), 2;
	unsigned char *p = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return printf("mapped=0 errno=%d\n", errno), 1;
	int ok = 1;
	if (!strcmp(argv[2], "truncate")) {
		/* Untouched pages, then the file shrinks to 1 MiB + 100 bytes. */
		size_t eof = ((size_t)1 << 20) + 100;
		if (ftruncate(fd, (off_t)eof) != 0)
			return perror("ftruncate"), 2;
		struct sigaction sa = { .sa_sigaction = on_bus, .sa_flags = SA_SIGINFO };
		sigaction(SIGBUS, &sa, NULL);
		size_t bad = wrong(p, 0, (eof + 4095) & ~(size_t)4095, eof);
		int near = bus_at(p, eof + 8192), far = bus_at(p, 4 << 20), last = bus_at(p, LEN - 1);
		printf("below_wrong=%zu sigbus_near=%d sigbus_far=%d sigbus_last=%d\n", bad, near, far,
		       last);
		ok = !bad && near == 1 && far == 1 && last == 1;
	} else if (!strcmp(argv[2], "split")) {
		/* Every descriptor taken (daemons and leaky programs get here), then a hole. */
		int first = dup(0), last = first;
		for (int d; (d = dup(0)) >= 0;)
			last = d;
		if (munmap(p + LEN / 4, LEN / 4) != 0)
			return perror("munmap"), 2;
		size_t left = wrong(p, 0, LEN / 4, LEN), right = wrong(p, LEN / 2, LEN, LEN);
		for (int d = first; d >= 0 && d <= last; d++)
			if (d != fd)
				close(d);   /* the log needs one at exit */
		printf("left_wrong=%zu right_wrong=%zu\n", left, right);
		ok = !left && !right;
	} else {
		return fprintf(stderr, "lazy_edges: unknown mode %s\n", argv[2]), 2;
	}
	fflush(stdout);
	return ok ? 0 : 1;
}
