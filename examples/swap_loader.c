/* swap_loader.c: maps a GGUF-shaped model file the way real loaders do and checks what the
 * program sees: the same bytes as pread at every offset, whether /proc/self/maps still
 * shows the region file-backed, survival of the file being truncated, and munmap / mremap
 * / mprotect of the region.  Prints key=value results; exit 0 ok, 1 wrong bytes, 3 mmap
 * failed (errno printed), 2 usage.
 *
 *   swap_loader FILE [--private-rw] [--shared-rw] [--offset N] [--length N] [--fixed]
 *                    [--noreplace] [--populate] [--close] [--write] [--truncate] [--ops]
 *                    [--fork] [--touch-only] [--no-verify]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static size_t page;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bytes of [p, p + len) that differ from the file at off (past EOF: must be zero). */
static size_t mismatches(int fd, const unsigned char *p, size_t len, off_t off)
{
	static unsigned char buf[1 << 20];
	size_t bad = 0;
	for (size_t done = 0; done < len;) {
		size_t want = len - done < sizeof buf ? len - done : sizeof buf;
		ssize_t n = pread(fd, buf, want, off + (off_t)done);
		if (n < 0) {
			perror("pread");
			exit(1);
		}
		memset(buf + n, 0, want - (size_t)n);
		if (memcmp(buf, p + done, want) != 0)
			for (size_t i = 0; i < want; i++)
				bad += buf[i] != p[done + i];
		done += want;
	}
	return bad;
}

static uint64_t hash(const unsigned char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = 0;
		memcpy(&v, p + i, len - i < 8 ? len - i : 8);
		h = (h ^ v) * 1099511628211ull;
	}
	return h;
}

static uint64_t touch(const unsigned char *p, size_t len)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < len; i += page)
		sum += p[i];
	return sum;
}

/* Whether /proc/self/maps shows addr as part of a mapping of a file (an inode != 0). */
static int file_backed(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int backed = -1;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi, inode;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &inode) == 3 &&
		    lo <= (uintptr_t)addr && (uintptr_t)addr < hi)
			backed = inode != 0;
	}
	if (f)
		fclose(f);
	return backed;
}

static size_t num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end == 'K')
		v <<= 10;
	else if (*end == 'M')
		v <<= 20;
	else if (*end == 'G')
		v <<= 30;
	return (size_t)v;
}

/* Partial munmap, mprotect and mremap of the region; the survivors keep their bytes. */
static int ops(int fd, unsigned char *p, size_t len, off_t off)
{
	size_t plen = (len + page - 1) & ~(page - 1);
	if (plen < 16 * page)
		return 0;
	size_t q = plen / 4 & ~(page - 1);
	int ok = 1;
	/* A hole in the second quarter. */
	if (munmap(p + q, q) != 0)
		return perror("munmap"), 0;
	ok &= mismatches(fd, p, q, off) == 0;
	/* The first quarter: unreadable, then readable again. */
	if (mprotect(p, q, PROT_NONE) != 0 || mprotect(p, q, PROT_READ) != 0)
		return perror("mprotect"), 0;
	ok &= mismatches(fd, p, q, off) == 0;
	/* The third quarter moves elsewhere, the same size. */
	unsigned char *moved = mremap(p + 2 * q, q, q, MREMAP_MAYMOVE | MREMAP_FIXED,
				      mmap(NULL, q, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	if (moved == MAP_FAILED)
		return perror("mremap"), 0;
	ok &= mismatches(fd, moved, q, off + (off_t)(2 * q)) == 0;
	/* The rest shrinks in place and the moved piece grows where it is, if it can. */
	unsigned char *tail = p + 3 * q;
	size_t tail_len = plen - 3 * q;
	if (mremap(tail, tail_len, page, 0) == MAP_FAILED)
		return perror("mremap shrink"), 0;
	ok &= mismatches(fd, tail, page, off + (off_t)(3 * q)) == 0;
	munmap(moved, q);
	munmap(tail, page);
	munmap(p, q);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: swap_loader FILE [options]\n");
		return 2;
	}
	page = (size_t)sysconf(_SC_PAGESIZE);
	const char *path = argv[1];
	int prot = PROT_READ, flags = MAP_SHARED, fixed = 0, noreplace = 0, do_close = 0;
	int do_write = 0, do_truncate = 0, do_ops = 0, do_fork = 0, touch_only = 0, verify = 1;
	size_t length = 0;
	off_t off = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--private-rw"))
			prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE;
		else if (!strcmp(a, "--shared-rw"))
			prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED;
		else if (!strcmp(a, "--offset") && i + 1 < argc)
			off = (off_t)num(argv[++i]);
		else if (!strcmp(a, "--length") && i + 1 < argc)
			length = num(argv[++i]);
		else if (!strcmp(a, "--fixed"))
			fixed = 1;
		else if (!strcmp(a, "--noreplace"))
			noreplace = 1;
		else if (!strcmp(a, "--populate"))
			flags |= MAP_POPULATE;
		else if (!strcmp(a, "--close"))
			do_close = 1;
		else if (!strcmp(a, "--write"))
			do_write = 1;
		else if (!strcmp(a, "--truncate"))
			do_truncate = 1;
		else if (!strcmp(a, "--ops"))
			do_ops = 1;
		else if (!strcmp(a, "--fork"))
			do_fork = 1;
		else if (!strcmp(a, "--touch-only"))
			touch_only = 1, verify = 0;
		else if (!strcmp(a, "--no-verify"))
			verify = 0;
		else {
			fprintf(stderr, "swap_loader: unknown option %s\n", a);
			return 2;
		}
	}
	int fd = open(path, (prot & PROT_WRITE) && flags == MAP_SHARED ? O_RDWR : O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(path);
		return 2;
	}
	if (!length)
		length = (size_t)st.st_size - (size_t)off;
	void *want = NULL;
	if (fixed) {
		/* Over a reservation, as loaders that place tensors at chosen addresses do. */
		size_t plen = (length + page - 1) & ~(page - 1);
		want = mmap(NULL, plen + 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		want = (char *)want + 8 * page;
		flags |= MAP_FIXED;
	} else if (noreplace) {
		/* Far from where mmap(NULL) places things, so nothing else lands there first. */
		want = (void *)(uintptr_t)0x200000000000ull;
		flags |= MAP_FIXED_NOREPLACE;
	}
	uint64_t t0 = now_ns();
	errno = 0;
	unsigned char *p = mmap(want, length, prot, flags, fd, off);
	uint64_t t1 = now_ns();
	if (p == MAP_FAILED) {
		printf("mapped=0 errno=%d (%s)\n", errno, strerror(errno));
		return 3;
	}
	printf("mapped=1 errno_after=%d map_ms=%llu\n", errno,
	       (unsigned long long)((t1 - t0) / 1000000));
	if (want && (void *)p != want) {
		printf("address=wrong\n");
		return 1;
	}
	if (do_close)
		close(fd), fd = open(path, O_RDONLY);
	printf("filebacked=%d magic=%d\n", file_backed(p), off == 0 && !memcmp(p, "GGUF", 4));
	if (touch_only) {
		uint64_t t2 = now_ns();
		uint64_t sum = touch(p, length);
		uint64_t t3 = now_ns();
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("touch_ms=%llu total_ms=%llu maxrss_kb=%ld sum=%llu\n",
		       (unsigned long long)((t3 - t2) / 1000000),
		       (unsigned long long)((t3 - t0) / 1000000), ru.ru_maxrss,
		       (unsigned long long)sum);
		return 0;
	}
	size_t bad = verify ? mismatches(fd, p, length, off) : (size_t)(touch(p, length) & 0);
	printf("mismatches=%zu\n", bad);
	if (do_fork) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(mismatches(fd, p, length, off) ? 1 : 0);
		int status = 0;
		waitpid(pid, &status, 0);
		printf("fork_ok=%d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (do_write && (prot & PROT_WRITE)) {
		uint64_t before = hash(p, length);
		for (size_t i = 0; i < length; i += page)
			p[i] ^= 0xff;
		/* Private writes stay private: the file still has its old bytes. */
		printf("write_private=%d\n", flags == MAP_PRIVATE ?
		       mismatches(fd, p, length, off) >= length / page : -1);
		for (size_t i = 0; i < length; i += page)
			p[i] ^= 0xff;
		printf("write_undone=%d\n", hash(p, length) == before);
	}
	if (do_truncate) {
		uint64_t before = hash(p, length);
		int wfd = open(path, O_WRONLY);
		if (wfd < 0 || ftruncate(wfd, 0) != 0) {
			perror("truncate");
			return 2;
		}
		close(wfd);
		/* A file-backed mapping dies here with SIGBUS. */
		printf("truncate_same=%d\n", hash(p, length) == before);
		fflush(stdout);
		return bad ? 1 : 0;
	}
	if (do_ops) {
		printf("ops_ok=%d\n", ops(fd, p, length, off));
		fflush(stdout);
		return bad ? 1 : 0;
	}
	munmap(p, length);
	return bad ? 1 : 0;
}
