/* cap_hit.c: climbs toward the memory cap through one allocation path and reports where it
 * was refused.  Usage: cap_hit PATH [STEP [MAX [CYCLES]]]
 *   PATH: malloc calloc realloc reallocarray aligned_alloc posix_memalign memalign valloc
 *         mmap mmap_fixed mprotect mremap (one mapping grown step by step);  STEP (bytes, K/M suffix, default 1M);  MAX: stop
 *         after this many bytes without a refusal (default 1G);  CYCLES: climb, release
 *         everything, climb again (default 1);  FIRST: before climbing, one request of
 *         this many bytes through the same heap path (e.g. one far over the cap), kept if
 *         granted.
 * Prints, per cycle, "cycle=N path=P got=BYTES refused=yes|no errno=NAME"; then checks that
 * the process still works (free, allocate again) and prints "after=ok".  Exit 0 when every
 * refusal came with ENOMEM and nothing else broke, 1 otherwise. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAXBLOCKS 65536

static void *blocks[MAXBLOCKS];
static size_t nblocks;
static char *region;          /* realloc's block, or the mprotect / mmap_fixed reservation */
static size_t region_len;

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	}
	return (size_t)v;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case EFAULT: return "EFAULT";
	default: return "other";
	}
}

/* One step of size `step` through `path`.  0 on success, else the errno seen. */
static int step_once(const char *path, size_t step, size_t done)
{
	void *p = NULL;
	errno = 0;
	if (!strcmp(path, "malloc")) {
		p = malloc(step);
	} else if (!strcmp(path, "calloc")) {
		p = calloc(step / 16, 16);
	} else if (!strcmp(path, "reallocarray")) {
		p = reallocarray(NULL, step / 8, 8);
	} else if (!strcmp(path, "aligned_alloc")) {
		p = aligned_alloc(64, step);
	} else if (!strcmp(path, "memalign")) {
		p = memalign(256, step);
	} else if (!strcmp(path, "valloc")) {
		p = valloc(step);
	} else if (!strcmp(path, "posix_memalign")) {
		int rc = posix_memalign(&p, 128, step);
		if (rc) {
			/* posix_memalign reports through its return value and leaves errno alone. */
			return rc;
		}
	} else if (!strcmp(path, "realloc")) {
		char *q = realloc(region, done + step);
		if (!q) {
			int e = errno;
			/* The old block must be untouched. */
			for (size_t i = 0; i < done; i += 4096)
				if (region[i] != (char)(i / 4096))
					return EFAULT;
			return e ? e : -1;
		}
		region = q;
		/* a marker at every page start, whatever the step: the check above reads them */
		for (size_t i = (done + 4095) / 4096 * 4096; i < done + step; i += 4096)
			region[i] = (char)(i / 4096);
		return 0;
	} else if (!strcmp(path, "mmap")) {
		p = mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return errno ? errno : -1;
		((char *)p)[0] = 1;
		((char *)p)[step - 1] = 1;
	} else if (!strcmp(path, "mremap")) {
		char *q = done ? mremap(region, done, done + step, MREMAP_MAYMOVE)
			       : mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				      -1, 0);
		if (q == MAP_FAILED)
			return errno ? errno : -1;
		region = q;
		region_len = done + step;
		region[done] = 1;
		region[done + step - 1] = 1;
		return 0;
	} else if (!strcmp(path, "mprotect") || !strcmp(path, "mmap_fixed")) {
		if (done + step > region_len)
			return -2;
		char *at = region + done;
		if (path[1] == 'p') {
			if (mprotect(at, step, PROT_READ | PROT_WRITE))
				return errno ? errno : -1;
		} else {
			void *q = mmap(at, step, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (q == MAP_FAILED)
				return errno ? errno : -1;
			if (q != at)
				return EFAULT;
		}
		at[0] = 1;
		at[step - 1] = 1;
		return 0;
	} else {
		fprintf(stderr, "cap_hit: unknown path %s\n", path);
		exit(2);
	}
	if (!p)
		return errno ? errno : -1;
	memset(p, 0x5a, step < 4096 ? step : 4096);
	if (nblocks == MAXBLOCKS) {
		fprintf(stderr, "cap_hit: too many blocks\n");
		exit(2);
	}
	blocks[nblocks++] = p;
	return 0;
}

static void release_all(const char *path, size_t step)
{
	int mapped = !strcmp(path, "mmap");
	for (size_t i = 0; i < nblocks; i++) {
		if (mapped)
			munmap(blocks[i], step);
		else
			free(blocks[i]);
	}
	nblocks = 0;
	if (!strcmp(path, "realloc")) {
		free(region);
		region = NULL;
	} else if (region) {
		munmap(region, region_len);
		region = NULL;
	}
}

static int reserve(const char *path, size_t max)
{
	if (strcmp(path, "mprotect") && strcmp(path, "mmap_fixed"))
		return 0;
	/* A PROT_NONE reservation bigger than any cap: it must not count until used. */
	region_len = max;
	region = mmap(NULL, region_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (region == MAP_FAILED) {
		printf("reserve=failed errno=%s\n", errname(errno));
		region = NULL;
		return 1;
	}
	printf("reserve=ok bytes=%zu\n", region_len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: cap_hit PATH [STEP [MAX [CYCLES]]]\n");
		return 2;
	}
	const char *path = argv[1];
	size_t step = argc > 2 ? parse_size(argv[2]) : 1 << 20;
	size_t max = argc > 3 ? parse_size(argv[3]) : (size_t)1 << 30;
	int cycles = argc > 4 ? atoi(argv[4]) : 1;
	size_t first = argc > 5 ? parse_size(argv[5]) : 0;
	int bad = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int c = 1; c <= cycles; c++) {
		if (first && c == 1) {
			if (!strncmp(path, "mmap", 4) || !strcmp(path, "mprotect") ||
			    !strcmp(path, "realloc")) {
				fprintf(stderr, "cap_hit: FIRST needs a heap path other than realloc\n");
				return 2;
			}
			int e = step_once(path, first, 0);   /* kept in blocks[] if granted */
			printf("first=%s errno=%s\n", e ? "refused" : "granted", errname(e));
		}
		if (reserve(path, max))
			return 1;
		size_t got = 0;
		int err = 0;
		while (got + step <= max) {
			err = step_once(path, step, got);
			if (err)
				break;
			got += step;
		}
		if (err == -2)
			err = 0;
		printf("cycle=%d path=%s got=%zu refused=%s errno=%s\n", c, path, got,
		       err ? "yes" : "no", errname(err));
		if (err && err != ENOMEM)
			bad = 1;
		release_all(path, step);
	}

	/* Nothing else broke: the calloc overflow rule still holds, and memory can be had
	 * again now that it was given back. */
	errno = 0;
	volatile size_t half = SIZE_MAX / 2;    /* volatile: no compile-time overflow warning */
	void *o = calloc(half, 4);
	if (o || errno != ENOMEM) {
		printf("calloc_overflow=wrong\n");
		bad = 1;
	}
	if (reserve(path, 4 * step))
		return 1;
	int e1 = step_once(path, step, 0);
	char *small = malloc(100);
	if (e1 || !small) {
		printf("after=broken errno=%s\n", errname(e1));
		bad = 1;
	} else {
		strcpy(small, "still fine");
		printf("after=ok\n");
	}
	free(small);
	release_all(path, step);
	return bad;
}
