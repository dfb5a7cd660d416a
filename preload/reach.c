/* reach.c: the at-exit reachability scan (see reach.h).  Order matters: everything that may
 * take loader or libc locks (reading /proc/self/maps) happens before the block table is
 * locked; while it is locked no tracked block can be freed, so block contents are read
 * directly, while roots (which may vanish under us) are read with process_vm_readv. */

#include "reach.h"
#include "ptrtab.h"
#include "sample.h"
#include "stacks.h"
#include "stacktab.h"
#include "sys.h"
#include "threads.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct {
	uintptr_t lo, hi;
} range_t;

typedef struct {
	ptr_entry_t *blocks;
	size_t n;
	uint8_t *marked;
	size_t *work;
	size_t nwork;
	uintptr_t min, max;
} scan_t;

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
		while (n < *cap && (r = read(fd, buf + n, *cap - n)) > 0)
			n += (size_t)r;
		close(fd);
		if (n < *cap) {
			*len = n;
			return buf;
		}
		sys_free(buf, *cap);
		*cap *= 4;
	}
}

static uintptr_t parse_hex(const char **p)
{
	uintptr_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* Writable mappings that may hold roots; returns how many were stored. */
static size_t root_candidates(const char *maps, size_t len, range_t *out, size_t max)
{
	size_t n = 0;
	const char *p = maps, *end = maps + len;
	while (p < end && n < max) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		range_t r;
		r.lo = parse_hex(&p);
		p++;
		r.hi = parse_hex(&p);
		p++;
		bool writable = p + 1 < eol && p[0] == 'r' && p[1] == 'w';
		const char *name = memchr(p, '[', (size_t)(eol - p));
		bool special = name && (strncmp(name, "[vvar]", 6) == 0 ||
					strncmp(name, "[vsyscall]", 10) == 0 ||
					strncmp(name, "[vdso]", 6) == 0);
		if (writable && !special)
			out[n++] = r;
		p = eol + 1;
	}
	return n;
}

static void sort_blocks(ptr_entry_t *a, size_t n)
{
	/* heapsort: no allocation, O(n log n) worst case */
	for (size_t start = n / 2; start-- > 0;) {
		for (size_t root = start;;) {
			size_t child = 2 * root + 1;
			if (child >= n)
				break;
			if (child + 1 < n && a[child].addr < a[child + 1].addr)
				child++;
			if (a[root].addr >= a[child].addr)
				break;
			ptr_entry_t t = a[root];
			a[root] = a[child];
			a[child] = t;
			root = child;
		}
	}
	for (size_t end = n; end-- > 1;) {
		ptr_entry_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		for (size_t root = 0;;) {
			size_t child = 2 * root + 1;
			if (child >= end)
				break;
			if (child + 1 < end && a[child].addr < a[child + 1].addr)
				child++;
			if (a[root].addr >= a[child].addr)
				break;
			t = a[root];
			a[root] = a[child];
			a[child] = t;
			root = child;
		}
	}
}

/* Index of the block containing addr (interior pointers count), or SIZE_MAX. */
static size_t block_of(const scan_t *s, uintptr_t addr)
{
	if (addr < s->min || addr >= s->max)
		return SIZE_MAX;
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (s->blocks[m].addr <= addr)
			a = m + 1;
		else
			b = m;
	}
	if (a == 0)
		return SIZE_MAX;
	const ptr_entry_t *e = &s->blocks[a - 1];
	uint64_t size = e->size ? e->size : 1;
	return addr < e->addr + size ? a - 1 : SIZE_MAX;
}

static void mark_words(scan_t *s, const uintptr_t *w, size_t nwords)
{
	for (size_t i = 0; i < nwords; i++) {
		size_t b = block_of(s, w[i]);
		if (b == SIZE_MAX || s->marked[b])
			continue;
		s->marked[b] = 1;
		s->work[s->nwork++] = b;
	}
}

static void drain(scan_t *s)
{
	while (s->nwork) {
		const ptr_entry_t *e = &s->blocks[s->work[--s->nwork]];
		mark_words(s, (const uintptr_t *)e->addr, e->size / sizeof(uintptr_t));
	}
}

/* Read a root range through the kernel so a range unmapped meanwhile cannot fault us. */
static void scan_resident(scan_t *s, uintptr_t lo, uintptr_t hi, uintptr_t *buf, size_t bufwords)
{
	/* our own thread, not the process: after pthread_exit from main, the group leader is a
	 * zombie without memory and process_vm_readv on its pid fails */
	pid_t self = sys_gettid();
	while (lo < hi) {
		size_t bytes = hi - lo < bufwords * sizeof *buf ? hi - lo : bufwords * sizeof *buf;
		struct iovec local = { buf, bytes }, remote = { (void *)lo, bytes };
		ssize_t got = process_vm_readv(self, &local, 1, &remote, 1, 0);
		if (got <= 0)
			break;
		mark_words(s, buf, (size_t)got / sizeof *buf);
		drain(s);
		lo += (uintptr_t)got;
	}
}

/* Pages never touched hold zeros, not pointers: only resident runs are read, so a sparse
 * multi-gigabyte mapping costs a few mincore calls, not gigabytes of reads. */
static void scan_root(scan_t *s, uintptr_t lo, uintptr_t hi, uintptr_t *buf, size_t bufwords)
{
	enum { WINDOW = 4096 };
	unsigned char vec[WINDOW];
	uintptr_t page = sys_page_size();
	lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
	while (lo < hi) {
		uintptr_t base = lo & ~(page - 1);
		uintptr_t end = hi - base > WINDOW * page ? base + WINDOW * page : hi;
		size_t npages = (end - base + page - 1) / page;
		if (mincore((void *)base, end - base, vec) != 0) {
			scan_resident(s, lo, end, buf, bufwords);   /* cannot tell: read it all */
			lo = end;
			continue;
		}
		for (size_t i = 0; i < npages;) {
			if (!(vec[i] & 1)) {
				i++;
				continue;
			}
			size_t j = i;
			while (j < npages && (vec[j] & 1))
				j++;
			uintptr_t a = base + i * page, b = base + j * page;
			scan_resident(s, a > lo ? a : lo, b < end ? b : end, buf, bufwords);
			i = j;
		}
		lo = end;
	}
}

/* Scan [lo, hi) minus our own tables (sorted internal regions). */
static void scan_root_outside(scan_t *s, uintptr_t lo, uintptr_t hi, uintptr_t (*internal)[2],
			      size_t ninternal, uintptr_t *buf, size_t bufwords)
{
	for (size_t i = 0; i < ninternal && lo < hi; i++) {
		if (internal[i][1] <= lo || internal[i][0] >= hi)
			continue;
		if (internal[i][0] > lo)
			scan_root(s, lo, internal[i][0], buf, bufwords);
		lo = internal[i][1];
	}
	if (lo < hi)
		scan_root(s, lo, hi, buf, bufwords);
}

static bool holds_blocks(const scan_t *s, uintptr_t lo, uintptr_t hi)
{
	size_t a = 0, b = s->n;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (s->blocks[m].addr < lo)
			a = m + 1;
		else
			b = m;
	}
	return a < s->n && s->blocks[a].addr < hi;
}

static __attribute__((noinline)) uintptr_t current_sp(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

static void account_lost(const scan_t *s)
{
	for (uint32_t id = 1; id < stacktab_limit(); id++) {
		stack_rec_t *r = stacktab_get(id);
		if (r)
			r->lost_bytes = r->lost_count = 0;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (s->marked[i] || !s->blocks[i].stack)
			continue;
		stack_rec_t *r = stacktab_get(s->blocks[i].stack);
		if (!r)
			continue;
		uint64_t wb, wc;
		sample_weight(s->blocks[i].size, &wb, &wc);
		r->lost_bytes += wb;
		r->lost_count += wc;
	}
}

void reach_scan(void)
{
	__builtin_unwind_init();   /* callee-saved registers onto this frame, to be scanned */
	/* Frames of exit(), the loader's destructor loop and ours hold stale values: start the
	 * scan of this thread's stack at the program's innermost frame. */
	uintptr_t sp = stacks_program_sp();
	if (!sp)
		sp = current_sp();
	size_t maps_len, maps_cap;
	char *maps = read_maps(&maps_len, &maps_cap);
	if (!maps)
		return;
	size_t max_roots = maps_len / 20 + 16;
	range_t *roots = sys_alloc(max_roots * sizeof *roots, false);
	size_t bufwords = 8192;
	uintptr_t *buf = sys_alloc(bufwords * sizeof *buf, false);
	size_t max_internal = 4096;
	uintptr_t (*internal)[2] = sys_alloc(max_internal * sizeof *internal, false);
	scan_t s = { 0 };
	size_t cap = 0, nroots = roots ? root_candidates(maps, maps_len, roots, max_roots) : 0;
	sys_free(maps, maps_cap);
	if (!roots || !buf || !internal)
		goto out;
	for (;;) {
		cap = ptrtab_count() + ptrtab_count() / 8 + 1024;
		s.blocks = sys_alloc(cap * sizeof *s.blocks, true);
		s.marked = sys_alloc(cap, true);
		s.work = sys_alloc(cap * sizeof *s.work, true);
		if (!s.blocks || !s.marked || !s.work)
			goto out;
		s.n = ptrtab_collect(s.blocks, cap, true);
		if (s.n <= cap)
			break;
		ptrtab_unlock_all();
		sys_free(s.blocks, cap * sizeof *s.blocks);
		sys_free(s.marked, cap);
		sys_free(s.work, cap * sizeof *s.work);
	}
	sort_blocks(s.blocks, s.n);
	size_t ninternal = sys_internal_regions(internal, max_internal);
	s.min = s.n ? s.blocks[0].addr : 0;
	s.max = s.n ? s.blocks[s.n - 1].addr + s.blocks[s.n - 1].size + 1 : 0;

	for (size_t i = 0; i < nroots; i++) {
		uintptr_t lo = roots[i].lo, hi = roots[i].hi, tcb = 0;
		if (holds_blocks(&s, lo, hi))
			continue;
		if (threads_dead_stack(lo, hi, &tcb)) {
			/* A finished thread's frames are garbage; its descriptor is not. */
			if (tcb >= lo && tcb < hi)
				scan_root(&s, tcb, tcb + 64 < hi ? tcb + 64 : hi, buf, bufwords);
			continue;
		}
		if (sp >= lo && sp < hi)
			lo = sp;   /* our own stack: only the live part */
		scan_root_outside(&s, lo, hi, internal, ninternal, buf, bufwords);
	}
	account_lost(&s);
	ptrtab_unlock_all();
out:
	if (s.blocks) {
		sys_free(s.blocks, cap * sizeof *s.blocks);
		sys_free(s.marked, cap);
		sys_free(s.work, cap * sizeof *s.work);
	}
	sys_free(roots, max_roots * sizeof *roots);
	sys_free(buf, bufwords * sizeof *buf);
	sys_free(internal, max_internal * sizeof *internal);
}
