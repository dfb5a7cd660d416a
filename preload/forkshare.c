/* forkshare.c: the program's memory a fork would leave out of the scanner child, let into
 * it for the time of the clone (see forkshare.h).
 *
 * A mapping advised MADV_DONTFORK is not in a fork's child at all.  V8 advises so every
 * mapping it makes (its heap's pages, its code range, cppgc's tables): the pages' headers
 * hold the only pointers to the malloc'd blocks of each page (free-list categories, slot
 * sets, typed slot sets), so a child without them calls those blocks lost.
 *
 * Invariants kept here:
 * - Runs with the other threads stopped (threadstop_then), between the stop and the clone:
 *   no lock but the kernel's is taken (raw system calls, scratch memory mapped raw, never
 *   internal memory: a stopped thread may hold the region registry's lock).
 * - Only what this file changed is changed back, and before the other threads go on:
 *   a mapping the kernel refuses (device memory, VM_IO) keeps its advice and stays out of
 *   the child, which then reads it as nothing, as before.
 * - The advice is read from /proc/thread-self/smaps ("dc" in VmFlags), the kernel's own
 *   word: a program may advise with a raw system call as well as through libc.
 * - A thread the stop could not stop may unmap or replace such a mapping meanwhile: what
 *   then takes its place is kept out of forks, which changes only what a later fork of
 *   this exiting process would copy. */
#include "forkshare.h"
#include "arch.h"
#include "fmt.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

enum { CHUNK = 1 << 16, RANGES0 = 1024 };

typedef struct {
	uintptr_t lo, hi;
} span_t;

static span_t *spans;       /* what was let into the child, to advise back */
static size_t nspans, spans_cap;
static bool whole;          /* every mapping kept out of forks was let in */
static char *chunk;         /* /proc/thread-self/smaps, a chunk at a time */

static void *raw_map(size_t bytes)
{
	long p = arch_syscall6(SYS_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p < 0 && p > -4096 ? NULL : (void *)p;
}

static bool keep_span(uintptr_t lo, uintptr_t hi)
{
	if (nspans == spans_cap) {
		size_t cap = spans_cap ? 2 * spans_cap : RANGES0;
		span_t *bigger = raw_map(cap * sizeof *bigger);
		if (!bigger)
			return false;
		if (spans) {
			memcpy(bigger, spans, nspans * sizeof *spans);
			arch_syscall6(SYS_munmap, (long)spans, (long)(spans_cap * sizeof *spans), 0,
				      0, 0, 0);
		}
		spans = bigger;
		spans_cap = cap;
	}
	spans[nspans++] = (span_t){ lo, hi };
	return true;
}

/* Whether a VmFlags line [p, end) holds the two-letter word w. */
static bool has_flag(const char *p, const char *end, const char *w)
{
	for (p += 8; p + 2 <= end; p++)
		if (p[0] == w[0] && p[1] == w[1] && p[-1] == ' ' && (p + 2 == end || p[2] == ' '))
			return true;
	return false;
}

/* One line of smaps: a mapping's first line (its range into *cur), or its flags. */
static void take_line(const char *p, const char *end, span_t *cur)
{
	if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) {
		cur->lo = (uintptr_t)fmt_scan_hex(&p, end);
		p += p < end;
		cur->hi = (uintptr_t)fmt_scan_hex(&p, end);
		return;
	}
	if (end - p < 8 || memcmp(p, "VmFlags:", 8) != 0 || !has_flag(p, end, "dc") ||
	    cur->hi <= cur->lo)
		return;
	/* the kernel refuses device memory (EINVAL): it stays out of the child */
	if (arch_syscall6(SYS_madvise, (long)cur->lo, (long)(cur->hi - cur->lo), MADV_DOFORK,
			  0, 0, 0) == 0 &&
	    !keep_span(cur->lo, cur->hi)) {
		arch_syscall6(SYS_madvise, (long)cur->lo, (long)(cur->hi - cur->lo),
			      MADV_DONTFORK, 0, 0, 0);   /* nowhere to remember it */
		whole = false;
	}
	cur->lo = cur->hi = 0;
}

bool forkshare_begin(void)
{
	nspans = 0;
	if (!chunk && !(chunk = raw_map(CHUNK)))
		return false;
	long fd = arch_syscall6(SYS_openat, AT_FDCWD, (long)"/proc/thread-self/smaps",
				O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return false;
	whole = true;
	span_t cur = { 0, 0 };
	size_t have = 0;
	for (;;) {
		long got = arch_syscall6(SYS_read, fd, (long)(chunk + have), (long)(CHUNK - have),
					 0, 0, 0);
		if (got <= 0) {
			whole = whole && got == 0;
			break;
		}
		have += (size_t)got;
		char *p = chunk, *end = chunk + have, *eol;
		while ((eol = memchr(p, '\n', (size_t)(end - p)))) {
			take_line(p, eol, &cur);
			p = eol + 1;
		}
		have = (size_t)(end - p);
		if (have == CHUNK)
			have = 0;   /* a line longer than the chunk: no mapping's range or flags */
		memmove(chunk, p, have);
	}
	arch_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
	return whole;
}

void forkshare_end(bool advise_back)
{
	for (size_t i = 0; advise_back && i < nspans; i++)
		arch_syscall6(SYS_madvise, (long)spans[i].lo, (long)(spans[i].hi - spans[i].lo),
			      MADV_DONTFORK, 0, 0, 0);
	nspans = 0;
}
