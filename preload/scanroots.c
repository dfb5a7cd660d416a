/* scanroots.c: where the exit scan's roots are, and marking from them: the writable
 * mappings less what is not a root (our tables and segments, tracked mappings, glibc's
 * heaps), this thread's live frames and registers, the stopped threads' registers and live
 * stacks (threadstop.h).  What glibc's heaps are is glibcheap.c's; the marking itself is
 * scanmark.c's.
 *
 * Invariants kept here:
 * - Roots are every writable byte that is not a tracked block, not a tracked anonymous
 *   mapping, not our own tables, and not glibc's heap memory (arenas, free chunks, mmapped
 *   chunk padding): glibc's allocator state never keeps a block alive.
 * - A live thread's stack is a root from its lowest live frame when its stack pointer is
 *   known (ours; a stopped thread's, less the red zone), whole otherwise; a mapping with no
 *   live stack pointer that held an ended thread's stack is stale, when every live
 *   thread's stack pointer is known.  Stopped threads' registers are roots.
 * - The skip list is sorted and disjoint (coalesced) before any root is read. */
#include "scan.h"
#include "addrfind.h"
#include "check.h"
#include "fmt.h"
#include "glibcheap.h"
#include "sys.h"
#include "threads.h"
#include "threadstop.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

enum { MAX_INTERNAL = 4096 };

static char *read_maps(size_t *len, size_t *cap)
{
	*cap = 1 << 20;
	for (;;) {
		char *buf = sys_alloc(*cap, false);
		if (!buf)
			return NULL;
		int fd = open("/proc/thread-self/maps", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			sys_free(buf, *cap);
			return NULL;
		}
		size_t n = 0;
		ssize_t r;
		while (n < *cap && (r = sys_read(fd, buf + n, *cap - n)) > 0)
			n += (size_t)r;
		sys_close(fd);
		if (n < *cap) {
			*len = n;
			return buf;
		}
		sys_free(buf, *cap);
		*cap *= 4;
	}
}

/* Writable mappings that may hold roots (sorted, as the kernel lists them); returns how many
 * were stored.  *brk_heap gets the [heap] line: glibc's main arena, never a root. */
static size_t root_candidates(const char *maps, size_t len, range_t *out, size_t max,
			      range_t *brk_heap)
{
	size_t n = 0;
	const char *p = maps, *end = maps + len;
	while (p < end && n < max) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		range_t r;
		r.lo = (uintptr_t)fmt_scan_hex(&p, eol);
		p++;
		r.hi = (uintptr_t)fmt_scan_hex(&p, eol);
		p++;
		bool writable = p + 1 < eol && p[0] == 'r' && p[1] == 'w';
		const char *name = memchr(p, '[', (size_t)(eol - p));
		bool special = name && (strncmp(name, "[vvar]", 6) == 0 ||
					strncmp(name, "[vsyscall]", 10) == 0 ||
					strncmp(name, "[vdso]", 6) == 0);
		if (name && strncmp(name, "[heap]", 6) == 0)
			*brk_heap = r;
		if (writable && !special)
			out[n++] = r;
		p = eol + 1;
	}
	return n;
}

/* Our own writable segments: their statics hold stale addresses of internal memory (the
 * region registry), which the kernel may since have given to the program. */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	roots_t *r = arg;
	uintptr_t me = (uintptr_t)&find_self;
	bool mine = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz)
			mine = true;
	}
	if (!mine)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && r->nself < 4; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		r->self[r->nself++] = (range_t){ lo, lo + ph->p_memsz };
	}
	return 1;
}

int scanroots_list(scan_t *s, roots_t *r)
{
	dl_iterate_phdr(find_self, r);
	r->nthreads = threadstop_list();   /* reads /proc: before any lock */
	size_t maps_len, maps_cap;
	char *maps = read_maps(&maps_len, &maps_cap);
	if (!maps)
		return ENOMEM;
	size_t max_lines = maps_len / 20 + 16;
	r->lines = scanmem_grab(s, max_lines * sizeof *r->lines);
	if (r->lines)
		r->nlines = root_candidates(maps, maps_len, r->lines, max_lines, &r->brk_heap);
	sys_free(maps, maps_cap);
	return 0;
}

int scanroots_grab_internal(scan_t *s, roots_t *r)
{
	r->internal = scanmem_grab(s, MAX_INTERNAL * sizeof *r->internal);
	return r->lines && r->internal ? 0 : ENOMEM;
}

int scanroots_grab_skip(scan_t *s, roots_t *r, size_t npieces)
{
	r->skip = scanmem_grab(s, (s->n + npieces + MAX_INTERNAL + 1 + r->nself) *
				       sizeof *r->skip);
	return r->skip ? 0 : ENOMEM;
}

void scanroots_internal(roots_t *r)
{
	r->ninternal = sys_internal_regions(r->internal, MAX_INTERNAL);
}

/* Sort and merge ranges in place; returns how many disjoint ones are left. */
static size_t coalesce(range_t *r, size_t n)
{
	addrsort_ranges(r, n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].hi <= r[i].lo)
			continue;
		if (k && r[i].lo <= r[k - 1].hi) {
			if (r[i].hi > r[k - 1].hi)
				r[k - 1].hi = r[i].hi;
		} else {
			r[k++] = r[i];
		}
	}
	return k;
}

/* Not roots: our tables, every tracked mapping (judged as items or file data), glibc's
 * heaps (which hold every block). */
void scanroots_skip(scan_t *s, roots_t *r, const maptab_piece_t *pc, size_t npieces)
{
	size_t n = glibcheap_ranges(s->blocks, s->n, r->brk_heap, r->lines, r->nlines, s->page,
				    r->skip);
	for (size_t i = 0; i < r->ninternal; i++)
		r->skip[n++] = (range_t){ r->internal[i][0], r->internal[i][1] };
	for (size_t i = 0; i < r->nself; i++)
		r->skip[n++] = r->self[i];
	for (size_t i = 0; i < npieces; i++)
		r->skip[n++] = (range_t){ pc[i].lo, pc[i].hi };
	r->nskip = coalesce(r->skip, n);
	for (size_t i = 0; AG_CHECKING && i < r->nskip; i++)
		AG_ASSERT(r->skip[i].lo < r->skip[i].hi &&
			  (i + 1 == r->nskip || r->skip[i].hi < r->skip[i + 1].lo));
}

/* Scan the root [lo, hi) minus the skip list. */
static void scan_root(scan_t *s, const roots_t *r, uintptr_t lo, uintptr_t hi)
{
	const range_t *skip = r->skip;
	for (size_t i = ADDRFIND_UPPER(skip, r->nskip, hi, lo); i < r->nskip && lo < hi; i++) {
		if (skip[i].lo >= hi)
			break;
		if (skip[i].lo > lo)
			scanmark_root(s, lo, skip[i].lo);
		lo = skip[i].hi;
	}
	if (lo < hi)
		scanmark_root(s, lo, hi);
}

/* Stopped threads: the registers they were interrupted with are roots, and a stack of
 * their own inside a block or mapping (a fiber's) is alive. */
static void scan_threads(scan_t *s, size_t nthreads)
{
	for (size_t t = 0; t < nthreads; t++) {
		const ts_thread_t *th = threadstop_thread(t);
		if (th->why != TS_STOPPED)
			continue;
		size_t own = scan_item_of(s, th->sp);
		if (own != SIZE_MAX)
			scanmark_visit(s, own);
		scanmark_words(s, th->regs, (size_t)th->nregs, true);
		scanmark_drain(s);
	}
}

/* x86-64's red zone: a leaf function may keep values just below its stack pointer. */
#define RED_ZONE 128

/* Where the roots of the writable mapping [lo, hi) start: a live thread's stack from its
 * lowest live frame (ours, or a stopped thread's; all of it for a thread not stopped). */
static uintptr_t line_from(uintptr_t lo, uintptr_t hi, uintptr_t sp, size_t nthreads,
			   bool *live)
{
	uintptr_t from = hi;
	*live = sp >= lo && sp < hi;
	if (*live)
		from = sp;
	for (size_t t = 0; t < nthreads; t++) {
		const ts_thread_t *th = threadstop_thread(t);
		if (!th->sp || th->sp < lo || th->sp >= hi)
			continue;
		*live = true;
		uintptr_t f = th->why != TS_STOPPED || th->sp - lo < RED_ZONE ? lo
									  : th->sp - RED_ZONE;
		from = f < from ? f : from;
	}
	return *live ? from : lo;
}

/* The roots in the writable mappings.  A mapping holding no live thread's stack pointer and
 * a finished thread's stack is that thread's cached stack (stale frames): skipped, but for
 * its descriptor, when every live thread's stack pointer is known (else a live thread
 * might run on it). */
static void scan_lines(scan_t *s, const roots_t *r)
{
	size_t counts[TS_COUNT];
	threadstop_counts(counts);
	bool all_known = !counts[TS_TOO_MANY];
	for (size_t t = 0; t < r->nthreads; t++)
		all_known &= threadstop_thread(t)->sp != 0;
	for (size_t i = 0; i < r->nlines; i++) {
		uintptr_t lo = r->lines[i].lo, hi = r->lines[i].hi, tcb = 0;
		bool live;
		uintptr_t from = line_from(lo, hi, r->sp, r->nthreads, &live);
		if (!live && all_known && threads_dead_stack(lo, hi, &tcb)) {
			if (tcb >= lo && tcb < hi)
				scan_root(s, r, tcb, tcb + 64 < hi ? tcb + 64 : hi);
			continue;
		}
		scan_root(s, r, from, hi);
	}
}

void scanroots_mark(scan_t *s, const roots_t *r)
{
	/* A stack the program mapped or allocated itself (a fiber's, a sigaltstack) is alive
	 * while we run on it, pointed to or not. */
	size_t own = scan_item_of(s, r->sp);
	if (own != SIZE_MAX)
		scanmark_visit(s, own);
	scanmark_words(s, r->regs, (size_t)r->nregs, true);
	scanmark_drain(s);
	scan_threads(s, r->nthreads);
	scan_lines(s, r);
}
