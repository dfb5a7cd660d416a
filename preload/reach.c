/* reach.c: the reachability scan (see reach.h), at exit or on request.  Order matters:
 * everything that may take loader or libc locks (reading /proc, the loader's module list)
 * happens before the tables are locked; while they are locked no tracked block can be freed
 * through us; the other threads are stopped (threadstop.h) only once nothing left takes a
 * lock they could hold, and go on before the tables are unlocked.
 *
 * Invariants kept here:
 * - The scan never faults: every byte, roots and blocks alike, is read through
 *   process_vm_readv, so memory that is unreadable (mprotect'd inside a block), unmapped, or
 *   freed behind our back (a stale entry: a RTLD_DEEPBIND library freed it with libc) holds
 *   no pointers, as in memcheck.
 * - Roots are every writable byte that is not a tracked block, not a tracked anonymous
 *   mapping, not our own tables, and not glibc's heap memory (arenas, free chunks, mmapped
 *   chunk padding): glibc's allocator state never keeps a block alive.
 * - Tracked anonymous mappings are judged like blocks: scanned when reached, lost when not.
 *   The committed pieces of one mapping (a reservation that JVMs and V8 commit piece by
 *   piece, with MAP_FIXED or mprotect) share one fate: a pointer anywhere into it, reserved
 *   pages included, keeps them all, since runtimes keep the reservation's base.
 * - A live thread's stack is a root from its lowest live frame when its stack pointer is
 *   known (ours; a stopped thread's, less the red zone), whole otherwise; a mapping with no
 *   live stack pointer that held an ended thread's stack is stale, when every live
 *   thread's stack pointer is known.  Stopped threads' registers are roots.
 * - Lost items are split as memcheck does: an item pointed to by another lost item is
 *   indirectly lost; the rest (one per unreached cycle) are directly lost.
 * - Each block's words are read once: the pre-scan reads the blocks in address order, many
 *   to a read, and keeps what each points to (edges); marking and the lost split follow
 *   the edges.  A block the pre-scan could not read whole, or left past its budget, is
 *   read when reached, as memory was before. */

#include "reach.h"
#include "addrsort.h"
#include "fmt.h"
#include "glibcheap.h"
#include "logfmt.h"
#include "maptab.h"
#include "ptrtab.h"
#include "sample.h"
#include "stacks.h"
#include "stacktab.h"
#include "sys.h"
#include "threads.h"
#include "threadstop.h"
#include "sandbox.h"
#include "state.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

typedef addrsort_range_t range_t;

enum { UNSEEN = 0, REACHED, LOST_DIRECT, LOST_INDIRECT };

/* A run of blocks (first .. end - 1) whose starts are less than CLUSTER_GAP apart; slot k
 * covers the starts in [lo + (k << shift), lo + ((k + 1) << shift)): slots[base + k] is the
 * index (from first) of the first block starting at or after it. */
typedef struct {
	uintptr_t lo, hi;           /* first start; the greatest end in the cluster */
	size_t first, end, base;
	uintptr_t nslots;
	unsigned shift;
} cluster_t;
enum { VEC_PAGES = 4096, BATCH = 256 };

typedef struct {
	ptr_entry_t *blocks;        /* sorted by address */
	size_t n;
	range_t *maps;              /* committed anonymous mapping pieces, sorted */
	uint32_t *map_stack;
	size_t *group;              /* per piece: the first committed piece of its mapping */
	size_t nmaps;
	range_t *runs;              /* whole mappings, for pointers into their reserved pages */
	size_t *run_first;          /* the first committed piece of each */
	size_t nruns;
	uintptr_t min, max;         /* no item outside [min, max): most words fail here */
	/* Work buffers off the stack (exit() may run on a small one): mincore vectors for a
	 * root and for the mapping reached from it, and one batch of block reads. */
	unsigned char (*vec)[VEC_PAGES];
	struct iovec *local, *remote;
	uint8_t *state;             /* n blocks, then nmaps pieces */
	size_t *work;
	size_t nwork;
	size_t leader;              /* SIZE_MAX while marking from roots */
	uintptr_t *buf;
	size_t bufwords;
	pid_t self;
	uintptr_t page;
	/* The block index (see index_blocks): clusters of nearby blocks, each with a slot
	 * array, so that finding the block holding an address takes no binary search over
	 * all blocks. */
	cluster_t *clusters;
	size_t nclusters, hint;
	uint32_t *slots;
	/* Pre-scanned blocks (see prescan): the items block i points to are
	 * edges[off[i] .. off[i + 1]); a block whose bit in done is clear is read when
	 * reached, as before. */
	uint32_t *off, *edges;
	uint64_t *done;
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
		r.lo = parse_hex(&p);
		p++;
		r.hi = parse_hex(&p);
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

typedef struct {
	void *p;
	size_t bytes;
} mem_t;

static void *grab(mem_t *m, size_t bytes)
{
	m->bytes = bytes ? bytes : 1;
	m->p = sys_alloc(m->bytes, true);
	return m->p;
}

static void drop(mem_t *m)
{
	if (m->p)
		sys_free(m->p, m->bytes);
	m->p = NULL;
}

/* Copy len bytes at addr through the kernel; returns how many could be read (0 when the
 * first page is unreadable). */
static size_t peek(const scan_t *s, uintptr_t addr, void *out, size_t len)
{
	struct iovec local = { out, len }, remote = { (void *)addr, len };
	ssize_t got = process_vm_readv(s->self, &local, 1, &remote, 1, 0);
	return got > 0 ? (size_t)got : 0;
}

/* Index of the block containing addr (interior pointers count), or SIZE_MAX: the last
 * block starting at or below addr, if addr is inside it. */
static size_t block_of_sorted(const scan_t *s, uintptr_t addr)
{
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

/* The same through the index: the cluster by a binary search over the (few) clusters,
 * then the slot, then a search among the blocks starting in that slot (about four). */
static size_t block_of(scan_t *s, uintptr_t addr)
{
	if (!s->clusters)
		return block_of_sorted(s, addr);
	size_t a = s->hint + 1;   /* the cluster of the last lookup, most often right again */
	if (s->clusters[a - 1].lo > addr || (a < s->nclusters && s->clusters[a].lo <= addr)) {
		a = 0;
		size_t b = s->nclusters;
		while (a < b) {
			size_t m = (a + b) / 2;
			if (s->clusters[m].lo <= addr)
				a = m + 1;
			else
				b = m;
		}
		if (a == 0)
			return SIZE_MAX;
		s->hint = a - 1;
	}
	const cluster_t *c = &s->clusters[a - 1];
	if (addr >= c->hi)
		return SIZE_MAX;
	uintptr_t k = (addr - c->lo) >> c->shift;
	size_t cand;
	if (k >= c->nslots) {
		cand = c->end - 1;
	} else {
		size_t lo = c->first + s->slots[c->base + k];
		size_t hi = k + 1 < c->nslots ? c->first + s->slots[c->base + k + 1] : c->end;
		while (lo < hi) {   /* first block in the slot starting past addr */
			size_t m = (lo + hi) / 2;
			if (s->blocks[m].addr <= addr)
				lo = m + 1;
			else
				hi = m;
		}
		cand = lo - 1;   /* lo > first: the cluster's first block starts at c->lo <= addr */
	}
	const ptr_entry_t *e = &s->blocks[cand];
	uint64_t size = e->size ? e->size : 1;
	return addr < e->addr + size ? cand : SIZE_MAX;
}

/* Build the block index over the sorted blocks.  A cluster has about one slot per four
 * blocks, so the index takes about a byte a block.  0, or ENOENT, ENOMEM or EOVERFLOW
 * (then block_of searches the sorted blocks). */
#define CLUSTER_GAP ((uintptr_t)256 * 1024)
static int index_blocks(scan_t *s, mem_t *m_clusters, mem_t *m_slots)
{
	if (!s->n)
		return ENOENT;
	if (s->n >= UINT32_MAX)
		return EOVERFLOW;
	size_t nc = 1;
	for (size_t i = 1; i < s->n; i++)
		nc += s->blocks[i].addr - s->blocks[i - 1].addr >= CLUSTER_GAP;
	cluster_t *cl = grab(m_clusters, nc * sizeof *cl);
	uint32_t *slots = grab(m_slots, (s->n / 4 + nc) * sizeof *slots);
	if (!cl || !slots)
		return ENOMEM;
	size_t base = 0, c = 0;
	for (size_t first = 0, end; first < s->n; first = end) {
		uintptr_t lo = s->blocks[first].addr, hi = 0;
		for (end = first; end < s->n; end++) {
			const ptr_entry_t *e = &s->blocks[end];
			if (end > first && e->addr - s->blocks[end - 1].addr >= CLUSTER_GAP)
				break;
			uintptr_t eend = e->addr + (e->size ? e->size : 1);
			hi = eend > hi ? eend : hi;
		}
		uintptr_t span = s->blocks[end - 1].addr - lo;
		unsigned shift = 4;
		while ((span >> shift) + 1 > (end - first + 3) / 4)
			shift++;
		uintptr_t nslots = (span >> shift) + 1;
		size_t j = first;
		for (uintptr_t k = 0; k < nslots; k++) {
			uintptr_t bound = lo + (k << shift);
			while (j < end && s->blocks[j].addr < bound)
				j++;
			slots[base + k] = (uint32_t)(j - first);
		}
		cl[c++] = (cluster_t){ lo, hi, first, end, base, nslots, shift };
		base += nslots;
	}
	s->clusters = cl;
	s->nclusters = c;
	s->slots = slots;
	return 0;
}

static size_t range_of(const range_t *r, size_t n, uintptr_t addr)
{
	size_t a = 0, b = n;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (r[m].lo <= addr)
			a = m + 1;
		else
			b = m;
	}
	return a && addr < r[a - 1].hi ? a - 1 : SIZE_MAX;
}

/* The item (block, or mapping piece after the blocks) holding addr, or SIZE_MAX.  Most
 * words fail the range check: it is inlined, the search is not. */
static size_t item_search(scan_t *s, uintptr_t addr);

static inline size_t item_of(scan_t *s, uintptr_t addr)
{
	if (addr < s->min || addr >= s->max)
		return SIZE_MAX;
	return item_search(s, addr);
}

__attribute__((noinline)) static size_t item_search(scan_t *s, uintptr_t addr)
{
	size_t b = block_of(s, addr);
	if (b != SIZE_MAX)
		return b;
	size_t m = range_of(s->maps, s->nmaps, addr);
	if (m != SIZE_MAX)
		return s->n + s->group[m];
	m = range_of(s->runs, s->nruns, addr);
	return m == SIZE_MAX ? SIZE_MAX : s->n + s->run_first[m];
}

static void visit(scan_t *s, size_t i)
{
	uint8_t *st = &s->state[i];
	if (s->leader == SIZE_MAX) {
		if (*st != UNSEEN)
			return;
		*st = REACHED;
	} else {
		if (i == s->leader || *st == REACHED || *st == LOST_INDIRECT)
			return;
		bool was_leader = *st == LOST_DIRECT;
		*st = LOST_INDIRECT;
		if (was_leader)
			return;   /* what it points to is already in its own clique */
	}
	s->work[s->nwork++] = i;
}

static void mark_words(scan_t *s, const uintptr_t *w, size_t nwords, bool root)
{
	for (size_t i = 0; i < nwords; i++) {
		size_t it = item_of(s, w[i]);
		if (it == SIZE_MAX)
			continue;
		if (root && it < s->n &&
		    glibcheap_next_chunk_header(s->blocks[it].addr, s->blocks[it].size, w[i]))
			continue;
		visit(s, it);
	}
}

static bool prescanned(const scan_t *s, size_t i)
{
	return i < s->n && s->done && (s->done[i / 64] >> (i % 64) & 1);
}

/* Whether the pre-scan reads block e itself (else it is read when reached, as before). */
static bool prescan_reads(const ptr_entry_t *e, size_t room)
{
	size_t len = e->size & ~(uint64_t)(sizeof(uintptr_t) - 1);
	return !(e->addr & (sizeof(uintptr_t) - 1)) && len <= room;
}

/* Read every block once, in address order, neighbours (less than PRESCAN_GAP apart) merged
 * into one large read, and keep the items each one points to as edges: marking then
 * follows edges instead of making a read per reached block (a linked list made one
 * syscall per node).  Each block is scanned once either way: every block is reached from
 * the roots or from a lost leader.  Stops keeping edges at budget; the blocks left (and
 * those not readable whole, or too large for the buffer) are read when reached. */
#define PRESCAN_GAP 256
static void prescan(scan_t *s, size_t budget)
{
	size_t room = s->bufwords * sizeof *s->buf, nedges = 0, i = 0;
	struct iovec *local = s->local, *remote = s->remote;
	s->off[0] = 0;
	while (i < s->n) {
		/* Gather blocks i .. j - 1 into at most BATCH merged segments. */
		size_t k = 0, bytes = 0, j = i;
		uintptr_t lo = 0, hi = 0;
		for (; j < s->n; j++) {
			const ptr_entry_t *e = &s->blocks[j];
			size_t len = e->size & ~(uint64_t)(sizeof(uintptr_t) - 1);
			if (!len || !prescan_reads(e, room))
				continue;
			uintptr_t end = e->addr + len;
			if (k && e->addr <= hi + PRESCAN_GAP &&
			    bytes - (hi - lo) + ((end > hi ? end : hi) - lo) <= room) {
				bytes += end > hi ? end - hi : 0;
				hi = end > hi ? end : hi;
				remote[k - 1].iov_len = local[k - 1].iov_len = hi - lo;
				continue;
			}
			if (k == BATCH || bytes + len > room || (k && e->addr < hi))
				break;   /* a segment never overlaps the one before (stale entries) */
			lo = e->addr;
			hi = end;
			local[k] = (struct iovec){ (char *)s->buf + bytes, len };
			remote[k] = (struct iovec){ (void *)lo, len };
			bytes += len;
			k++;
		}
		ssize_t r = k ? process_vm_readv(s->self, local, k, remote, k, 0) : 0;
		size_t got = r > 0 ? (size_t)r : 0;
		/* Keep the edges of blocks i .. j - 1, up to the first one not read whole. */
		size_t q = 0, before = 0, x = i;
		for (; x < j; x++) {
			const ptr_entry_t *e = &s->blocks[x];
			size_t len = e->size & ~(uint64_t)(sizeof(uintptr_t) - 1);
			bool read = len && prescan_reads(e, room);
			if (read) {
				while (e->addr >= (uintptr_t)remote[q].iov_base + remote[q].iov_len)
					before += remote[q++].iov_len;
				size_t at = before + (e->addr - (uintptr_t)remote[q].iov_base);
				if (at + len > got) {
					if (x > i)
						break;   /* retried from here in the next round */
					s->off[x + 1] = (uint32_t)nedges;   /* read when reached */
					continue;
				}
				const uintptr_t *w = (const uintptr_t *)((const char *)s->buf + at);
				for (size_t t = 0; t < len / sizeof *w; t++) {
					size_t it = item_of(s, w[t]);
					if (it == SIZE_MAX)
						continue;
					if (nedges == budget) {
						for (size_t y = x; y < s->n; y++)
							s->off[y + 1] = (uint32_t)s->off[x];
						return;
					}
					s->edges[nedges++] = (uint32_t)it;
				}
			} else if (len) {
				s->off[x + 1] = (uint32_t)nedges;   /* read when reached */
				continue;
			}
			s->off[x + 1] = (uint32_t)nedges;
			s->done[x / 64] |= (uint64_t)1 << (x % 64);
		}
		i = x;
	}
}

/* Scan [lo, hi) through the kernel, a buffer at a time; an unreadable page holds no
 * pointers.  Marks only: the caller drains (the buffer is shared). */
static void scan_words(scan_t *s, uintptr_t lo, uintptr_t hi, bool root)
{
	lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
	while (lo < hi && hi - lo >= sizeof(uintptr_t)) {
		size_t max = s->bufwords * sizeof *s->buf;
		size_t bytes = hi - lo < max ? hi - lo : max;
		size_t got = peek(s, lo, s->buf, bytes);
		if (!got) {
			lo = (lo | (s->page - 1)) + 1;
			continue;
		}
		mark_words(s, s->buf, got / sizeof *s->buf, root);
		lo += got;
	}
}

/* Pages never touched hold zeros, not pointers: only resident runs are read, so a sparse
 * multi-gigabyte mapping costs a few mincore calls, not gigabytes of reads. */
static void scan_sparse(scan_t *s, uintptr_t lo, uintptr_t hi, bool root,
			void (*drain)(scan_t *))
{
	enum { WINDOW = VEC_PAGES };
	unsigned char *vec = s->vec[drain != NULL];
	uintptr_t page = s->page;
	while (lo < hi) {
		uintptr_t base = lo & ~(page - 1);
		uintptr_t end = hi - base > WINDOW * page ? base + WINDOW * page : hi;
		size_t npages = (end - base + page - 1) / page;
		if (mincore((void *)base, end - base, vec) != 0) {
			scan_words(s, lo, end, root);   /* cannot tell: read it all */
			if (drain)
				drain(s);
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
			scan_words(s, a > lo ? a : lo, b < end ? b : end, root);
			if (drain)
				drain(s);
			i = j;
		}
		lo = end;
	}
}

/* Pop up to max small blocks off the work stack into one vectored read; returns how many. */
static size_t batch(scan_t *s, struct iovec *local, struct iovec *remote, size_t max)
{
	size_t k = 0, bytes = 0, room = s->bufwords * sizeof *s->buf;
	while (s->nwork && k < max) {
		size_t i = s->work[s->nwork - 1];
		if (i >= s->n || prescanned(s, i))
			break;
		size_t len = s->blocks[i].size & ~(uint64_t)(sizeof(uintptr_t) - 1);
		if (bytes + len > room)
			break;
		s->nwork--;
		if (!len)
			continue;
		local[k] = (struct iovec){ (char *)s->buf + bytes, len };
		remote[k] = (struct iovec){ (void *)s->blocks[i].addr, len };
		bytes += len;
		k++;
	}
	return k;
}

/* One syscall per batch of small blocks: most programs' blocks are tens of bytes. */
static void drain(scan_t *s)
{
	struct iovec *local = s->local, *remote = s->remote;
	while (s->nwork) {
		size_t top = s->work[s->nwork - 1];
		if (prescanned(s, top)) {
			s->nwork--;
			for (uint32_t e = s->off[top]; e < s->off[top + 1]; e++)
				visit(s, s->edges[e]);
			continue;
		}
		size_t k = batch(s, local, remote, BATCH);
		if (!k) {
			if (!s->nwork)
				break;
			size_t i = s->work[--s->nwork];
			if (i < s->n) {
				const ptr_entry_t *e = &s->blocks[i];
				scan_words(s, e->addr, e->addr + e->size, false);
			} else {
				for (size_t m = i - s->n; m < s->nmaps && s->group[m] == i - s->n; m++)
					scan_sparse(s, s->maps[m].lo, s->maps[m].hi, false, NULL);
			}
			continue;
		}
		ssize_t r = process_vm_readv(s->self, local, k, remote, k, 0);
		size_t got = r > 0 ? (size_t)r : 0, j = 0;
		for (; j < k && got >= local[j].iov_len; j++) {
			mark_words(s, local[j].iov_base, local[j].iov_len / sizeof(uintptr_t), false);
			got -= local[j].iov_len;
		}
		/* The kernel stops at the first unreadable byte: read that block alone (the buffer
		 * is free again), then the rest of the batch in the next round. */
		for (size_t m = k; m-- > j + 1;)
			s->work[s->nwork++] = block_of(s, (uintptr_t)remote[m].iov_base);
		if (j < k) {
			uintptr_t a = (uintptr_t)remote[j].iov_base;
			scan_words(s, a, a + remote[j].iov_len, false);
		}
	}
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

/* Scan the root [lo, hi) minus the sorted, disjoint skip ranges. */
static void scan_root(scan_t *s, uintptr_t lo, uintptr_t hi, const range_t *skip, size_t nskip)
{
	size_t a = 0, b = nskip;
	while (a < b) {   /* first skip range ending past lo */
		size_t m = (a + b) / 2;
		if (skip[m].hi <= lo)
			a = m + 1;
		else
			b = m;
	}
	for (size_t i = a; i < nskip && lo < hi; i++) {
		if (skip[i].lo >= hi)
			break;
		if (skip[i].lo > lo)
			scan_sparse(s, lo, skip[i].lo, true, drain);
		lo = skip[i].hi;
	}
	if (lo < hi)
		scan_sparse(s, lo, hi, true, drain);
}

/* glibc's heap memory around the blocks, which holds its state and freed chunks (stale
 * data, not roots): the brk heap, each non-main arena's heap (those holding blocks, and
 * those holding none, found by their heap_info), each mmapped chunk.  A block whose header
 * makes no sense keeps the older rule: its whole mapping is not a root. */
static size_t glibc_heaps(const scan_t *s, range_t brk_heap, const range_t *lines,
			  size_t nlines, range_t *out)
{
	size_t n = 0;
	if (brk_heap.hi > brk_heap.lo)
		out[n++] = brk_heap;
	for (size_t l = 0; l < nlines; l++) {
		uintptr_t hi;
		if (glibcheap_arena_heap(lines[l].lo, lines[l].hi, &hi))
			out[n++] = (range_t){ lines[l].lo, hi };
	}
	size_t known = n;   /* the blocks of these need no look at their headers */
	for (size_t i = 0; i < s->n; i++) {
		uintptr_t p = s->blocks[i].addr;
		bool in = n > known && p >= out[n - 1].lo && p < out[n - 1].hi;
		for (size_t k = 0; k < known && !in; k++)
			in = p >= out[k].lo && p < out[k].hi;
		if (in)
			continue;
		range_t r = { 0, 0 };
		int rc = glibcheap_block_heap(p, s->blocks[i].size, s->page, &r.lo, &r.hi);
		if (rc == EFAULT)
			continue;   /* freed behind our back: nothing to exclude */
		if (rc) {
			size_t l = range_of(lines, nlines, p);
			if (l == SIZE_MAX)
				continue;
			r = lines[l];
		}
		out[n++] = r;
	}
	return n;
}

/* Each item's weight: a block's (sampled) weight, a mapping piece's bytes as one. */
static uint32_t item_weight(const scan_t *s, size_t i, uint64_t *wb, uint64_t *wc)
{
	if (i < s->n) {
		sample_weight(s->blocks[i].size, wb, wc);
		return s->blocks[i].stack;
	}
	*wb = s->maps[i - s->n].hi - s->maps[i - s->n].lo;
	*wc = COUNT_ONE;
	return s->map_stack[i - s->n];
}

/* Totals into *tot; with `record`, each stack's lost figures, and each heap stack's live
 * figures as the scan saw its blocks (judged_*: one moment for the whole site). */
static void account_lost(const scan_t *s, bool record, reach_totals_t *tot)
{
	for (uint32_t id = 1; record && id < stacktab_limit(); id++) {
		stack_rec_t *r = stacktab_get(id);
		if (r)
			r->lost_bytes = r->lost_count = r->indirect_bytes = r->indirect_count =
				r->judged_bytes = r->judged_count = 0;
	}
	uint64_t lc = 0, rc = 0;
	for (size_t i = 0; i < s->n + s->nmaps; i++) {
		uint8_t st = s->state[i < s->n ? i : s->n + s->group[i - s->n]];
		bool lost = st == LOST_DIRECT || st == LOST_INDIRECT;
		uint64_t wb, wc;
		uint32_t stack = item_weight(s, i, &wb, &wc);
		if (!stack && i < s->n && sample_active())
			continue;   /* not sampled: not part of the estimates */
		*(lost ? &tot->lost_bytes : &tot->reachable_bytes) += wb;
		*(lost ? &lc : &rc) += wc;
		stack_rec_t *r = record && stack ? stacktab_get(stack) : NULL;
		if (!r)
			continue;
		if (i < s->n) {
			r->judged_bytes += wb;
			r->judged_count += wc;
		}
		if (!lost)
			continue;
		r->lost_bytes += wb;
		r->lost_count += wc;
		if (st == LOST_INDIRECT) {
			r->indirect_bytes += wb;
			r->indirect_count += wc;
		}
	}
	tot->lost_blocks = (lc + COUNT_ONE / 2) / COUNT_ONE;
	tot->reachable_blocks = (rc + COUNT_ONE / 2) / COUNT_ONE;
}

/* Unreached items, in address order: each one not yet met becomes a leader (directly lost)
 * and whatever it reaches is indirectly lost, as memcheck's cliques. */
static void split_lost(scan_t *s)
{
	for (size_t i = 0; i < s->n + s->nmaps; i++) {
		if (s->state[i] != UNSEEN || (i >= s->n && s->group[i - s->n] != i - s->n))
			continue;
		s->state[i] = LOST_DIRECT;
		s->leader = i;
		s->work[s->nwork++] = i;
		drain(s);
	}
	s->leader = SIZE_MAX;
}

/* Our own writable segments: their statics hold stale addresses of internal memory (the
 * region registry), which the kernel may since have given to the program. */
typedef struct {
	range_t r[4];
	size_t n;
} self_t;

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	self_t *self = arg;
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
	for (int i = 0; i < info->dlpi_phnum && self->n < 4; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		self->r[self->n++] = (range_t){ lo, lo + ph->p_memsz };
	}
	return 1;
}

/* The committed anonymous pieces become items, grouped by the mapping they belong to (runs
 * of adjacent pieces of one origin). */
static void pieces_to_items(scan_t *s, const maptab_piece_t *pc, size_t n)
{
	for (size_t a = 0; a < n;) {
		if (pc[a].st.kind != AG_KIND_MMAP) {
			a++;
			continue;
		}
		size_t b = a + 1;
		bool reserved = pc[a].st.prot == PROT_NONE;
		while (b < n && pc[b].st.kind == AG_KIND_MMAP && pc[b].lo == pc[b - 1].hi &&
		       pc[b].st.origin == pc[a].st.origin) {
			reserved |= pc[b].st.prot == PROT_NONE;
			b++;
		}
		size_t first = s->nmaps;
		for (size_t i = a; i < b; i++) {
			if (pc[i].st.prot == PROT_NONE)
				continue;
			s->map_stack[s->nmaps] = pc[i].st.stack;
			s->group[s->nmaps] = first;
			s->maps[s->nmaps++] = (range_t){ pc[i].lo, pc[i].hi };
		}
		if (reserved && s->nmaps > first) {
			s->run_first[s->nruns] = first;
			s->runs[s->nruns++] = (range_t){ pc[a].lo, pc[b - 1].hi };
		}
		a = b;
	}
}

/* Stopped threads: the registers they were interrupted with are roots, and a stack of
 * their own inside a block or mapping (a fiber's) is alive. */
static void scan_threads(scan_t *s, size_t nthreads)
{
	for (size_t t = 0; t < nthreads; t++) {
		const ts_thread_t *th = threadstop_thread(t);
		if (th->why != TS_STOPPED)
			continue;
		size_t own = item_of(s, th->sp);
		if (own != SIZE_MAX)
			visit(s, own);
		mark_words(s, th->regs, (size_t)th->nregs, true);
		drain(s);
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
static void scan_lines(scan_t *s, const range_t *lines, size_t nlines, uintptr_t sp,
		       size_t nthreads, const range_t *skip, size_t nskip)
{
	size_t counts[TS_COUNT];
	threadstop_counts(counts);
	bool all_known = !counts[TS_TOO_MANY];
	for (size_t t = 0; t < nthreads; t++)
		all_known &= threadstop_thread(t)->sp != 0;
	for (size_t i = 0; i < nlines; i++) {
		uintptr_t lo = lines[i].lo, hi = lines[i].hi, tcb = 0;
		bool live;
		uintptr_t from = line_from(lo, hi, sp, nthreads, &live);
		if (!live && all_known && threads_dead_stack(lo, hi, &tcb)) {
			if (tcb >= lo && tcb < hi)
				scan_root(s, tcb, tcb + 64 < hi ? tcb + 64 : hi, skip, nskip);
			continue;
		}
		scan_root(s, from, hi, skip, nskip);
	}
}

/* Judge every block and mapping now; with `record`, into the stacks' lost figures.  Returns
 * the verdict (AG_VERDICT_*). */
static int judge(bool record, reach_totals_t *tot)
{
	/* Frames of exit(), the loader's destructor loop and ours hold stale values: start the
	 * scan of this thread's stack at the program's innermost frame, and take the registers
	 * that frame still owns. */
	uintptr_t regs[STACKS_SAVED_REGS];
	int nregs = 0, verdict = AG_VERDICT_NO_MEMORY;
	uintptr_t sp = stacks_program_frame(regs, &nregs);
	if (!sp)
		sp = (uintptr_t)__builtin_frame_address(0);
	self_t self = { .n = 0 };
	dl_iterate_phdr(find_self, &self);
	size_t nthreads = threadstop_list();   /* reads /proc: before any lock */
	bool stopped = false;
	size_t maps_len, maps_cap;
	char *maps = read_maps(&maps_len, &maps_cap);
	if (!maps)
		return verdict;
	mem_t m_lines = { 0 }, m_buf = { 0 }, m_int = { 0 }, m_pieces = { 0 }, m_blocks = { 0 },
	      m_state = { 0 }, m_work = { 0 }, m_maps = { 0 }, m_mstack = { 0 }, m_skip = { 0 },
	      m_group = { 0 }, m_runs = { 0 }, m_rfirst = { 0 }, m_clusters = { 0 },
	      m_slots = { 0 }, m_off = { 0 }, m_edges = { 0 }, m_done = { 0 };
	size_t max_lines = maps_len / 20 + 16, max_internal = 4096;
	range_t brk_heap = { 0, 0 };
	range_t *lines = grab(&m_lines, max_lines * sizeof *lines);
	size_t nlines = lines ? root_candidates(maps, maps_len, lines, max_lines, &brk_heap) : 0;
	sys_free(maps, maps_cap);
	scan_t s = { .leader = SIZE_MAX, .bufwords = 8192, .self = sys_gettid(),
		     .page = sys_page_size() };
	uintptr_t probe = (uintptr_t)&s, copy = 0;
	if (peek(&s, (uintptr_t)&probe, &copy, sizeof copy) != sizeof copy || copy != probe) {
		/* seccomp or an old kernel: judging without reading would call everything lost */
		fmt_say("cannot read memory with process_vm_readv: lost and reachable not told apart");
		verdict = AG_VERDICT_UNREADABLE;
		goto out;
	}
	s.buf = grab(&m_buf, s.bufwords * sizeof *s.buf + 2 * VEC_PAGES +
			 2 * BATCH * sizeof(struct iovec));
	if (s.buf) {
		s.local = (struct iovec *)(s.buf + s.bufwords);
		s.remote = s.local + BATCH;
		s.vec = (unsigned char (*)[VEC_PAGES])(s.remote + BATCH);
	}
	uintptr_t (*internal)[2] = grab(&m_int, max_internal * sizeof *internal);
	if (!lines || !s.buf || !internal)
		goto out;

	maptab_lock();
	size_t npieces = 0, cap = 0;
	for (size_t want = 256;; want *= 4) {
		maptab_piece_t *pc = grab(&m_pieces, want * sizeof *pc);
		if (!pc) {
			maptab_unlock();
			goto out;
		}
		npieces = maptab_list(pc, want);
		if (npieces <= want)
			break;
		drop(&m_pieces);
	}
	for (;;) {
		cap = ptrtab_count();   /* a walk of the unsized marks: once */
		cap += cap / 8 + 1024;
		s.blocks = grab(&m_blocks, cap * sizeof *s.blocks);
		if (!s.blocks)
			break;
		s.n = ptrtab_collect(s.blocks, cap, true);
		if (s.n <= cap)
			break;
		ptrtab_unlock_all();
		drop(&m_blocks);
	}
	if (!s.blocks) {
		maptab_unlock();
		goto out;
	}
	addrsort_blocks(s.blocks, s.n);
	const maptab_piece_t *pc = m_pieces.p;
	s.maps = grab(&m_maps, npieces * sizeof *s.maps);
	s.map_stack = grab(&m_mstack, npieces * sizeof *s.map_stack);
	s.group = grab(&m_group, npieces * sizeof *s.group);
	s.runs = grab(&m_runs, npieces * sizeof *s.runs);
	s.run_first = grab(&m_rfirst, npieces * sizeof *s.run_first);
	s.state = grab(&m_state, s.n + npieces);
	s.work = grab(&m_work, (s.n + npieces) * sizeof *s.work);
	range_t *skip = grab(&m_skip, (s.n + npieces + max_internal + 1 + self.n) * sizeof *skip);
	if (!s.maps || !s.map_stack || !s.group || !s.runs || !s.run_first || !s.state || !s.work ||
	    !skip)
		goto unlock;
	/* Edges take 4 bytes each: a few per block; past that, blocks are read when reached. */
	size_t budget = 4 * s.n + 65536;
	budget = budget < UINT32_MAX ? budget : UINT32_MAX - 1;
	if (index_blocks(&s, &m_clusters, &m_slots) == 0 && s.n + npieces < UINT32_MAX) {
		s.off = grab(&m_off, (s.n + 1) * sizeof *s.off);
		s.edges = grab(&m_edges, budget * sizeof *s.edges);
		s.done = grab(&m_done, (s.n + 63) / 64 * sizeof *s.done);
		if (!s.off || !s.edges || !s.done)
			s.done = NULL;
	}
	/* last: every table of ours must be in the list, above all those holding addresses */
	size_t ninternal = sys_internal_regions(internal, max_internal);
	/* Nothing past this point takes a lock a stopped thread could hold (the loader's,
	 * libc's, the region registry's): the other threads can stop now. */
	threadstop_stop();
	stopped = true;
	s.self = sys_gettid();   /* a scanner child forked in the stop reads its own copy */

	/* Not roots: our tables, every tracked mapping (judged as items or file data), glibc's
	 * heaps (which hold every block). */
	size_t nskip = glibc_heaps(&s, brk_heap, lines, nlines, skip);
	for (size_t i = 0; i < ninternal; i++)
		skip[nskip++] = (range_t){ internal[i][0], internal[i][1] };
	for (size_t i = 0; i < self.n; i++)
		skip[nskip++] = self.r[i];
	for (size_t i = 0; i < npieces; i++)
		skip[nskip++] = (range_t){ pc[i].lo, pc[i].hi };
	pieces_to_items(&s, pc, npieces);
	s.min = s.n ? s.blocks[0].addr : UINTPTR_MAX;
	for (size_t i = 0; i < s.n; i++) {   /* a stale entry may reach past a later block */
		uintptr_t end = s.blocks[i].addr + s.blocks[i].size + 1;
		s.max = end > s.max ? end : s.max;
	}
	for (size_t i = 0; i < npieces; i++) {   /* runs and maps lie within the pieces */
		if (pc[i].st.kind != AG_KIND_MMAP)
			continue;
		s.min = pc[i].lo < s.min ? pc[i].lo : s.min;
		s.max = pc[i].hi > s.max ? pc[i].hi : s.max;
	}
	nskip = coalesce(skip, nskip);
	if (s.done)
		prescan(&s, budget);

	/* A stack the program mapped or allocated itself (a fiber's, a sigaltstack) is alive
	 * while we run on it, pointed to or not. */
	size_t own = item_of(&s, sp);
	if (own != SIZE_MAX)
		visit(&s, own);
	mark_words(&s, regs, (size_t)nregs, true);
	drain(&s);
	scan_threads(&s, nthreads);
	scan_lines(&s, lines, nlines, sp, nthreads, skip, nskip);
	split_lost(&s);
	account_lost(&s, record, tot);
	verdict = AG_VERDICT_JUDGED;
unlock:
	if (stopped)
		threadstop_resume();
	ptrtab_unlock_all();
	maptab_unlock();
out:
	drop(&m_lines);
	drop(&m_buf);
	drop(&m_int);
	drop(&m_pieces);
	drop(&m_blocks);
	drop(&m_state);
	drop(&m_work);
	drop(&m_maps);
	drop(&m_mstack);
	drop(&m_group);
	drop(&m_runs);
	drop(&m_rfirst);
	drop(&m_skip);
	drop(&m_clusters);
	drop(&m_slots);
	drop(&m_off);
	drop(&m_edges);
	drop(&m_done);
	return verdict;
}

/* One scan at a time: a check in one thread and the exit in another take turns. */
static _Atomic bool busy;
static int verdict = -1;   /* the exit scan's, -1 before it */
static size_t verdict_counts[TS_COUNT];

static bool take_turn(bool wait)
{
	for (int i = 0; atomic_exchange(&busy, true); i++) {
		if (!wait || i == 10000)
			return false;
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

void reach_scan(void)
{
	reach_totals_t tot = { 0 };
	memset(verdict_counts, 0, sizeof verdict_counts);
	if (sandbox_filtered()) {
		/* any system call may be punished: no scan, nothing that could call one */
		verdict = AG_VERDICT_SECCOMP;
		return;
	}
	if (!take_turn(true)) {
		verdict = AG_VERDICT_BUSY;
		return;
	}
	verdict = judge(true, &tot);
	threadstop_counts(verdict_counts);
	atomic_store(&busy, false);
}

void reach_skipped(int why)
{
	verdict = why;
}

int reach_check_now(reach_totals_t *out)
{
	memset(out, 0, sizeof *out);
	if (sandbox_filtered())
		return EPERM;
	if (!ag_ready() || !ag_guard_enter())
		return EBUSY;   /* exiting, or inside the guard (a table lock may be ours) */
	if (!take_turn(false)) {
		ag_guard_leave();
		return EBUSY;
	}
	int v = judge(false, out);
	atomic_store(&busy, false);
	ag_guard_leave();
	return v == AG_VERDICT_JUDGED ? 0 : v == AG_VERDICT_UNREADABLE ? EPERM : ENOMEM;
}

bool reach_judged(void)
{
	return verdict == AG_VERDICT_JUDGED;
}

void reach_verdict_line(fmt_t *f)
{
	size_t stopped = verdict_counts[TS_STOPPED], not = 0;
	for (int i = 1; i < TS_COUNT; i++)
		not += verdict_counts[i];
	fmt_str(f, "X ");
	fmt_str(f, ag_verdict_name(verdict < 0 ? AG_VERDICT_SKIPPED : verdict));
	fmt_chr(f, ' ');
	fmt_u64(f, stopped);
	fmt_chr(f, ' ');
	fmt_u64(f, not);
	for (int i = 1; i < TS_COUNT; i++) {
		if (!verdict_counts[i])
			continue;
		fmt_chr(f, ' ');
		fmt_str(f, threadstop_why_word(i));
		fmt_chr(f, '=');
		fmt_u64(f, verdict_counts[i]);
	}
}
