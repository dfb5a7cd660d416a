/* scanmark.c: the exit scan's marking: reading words through the kernel, following what
 * they point to (a work stack of items, vectored reads in batches, edges kept by the
 * pre-scan), and the lost split.  Which words are roots is scanroots.c's; which item holds
 * an address is scanitems.c's.
 *
 * Invariants kept here:
 * - The scan never faults: every byte is read through process_vm_readv, so memory that is
 *   unreadable (mprotect'd inside a block), unmapped, or freed behind our back (a stale
 *   entry) holds no pointers, as in memcheck.
 * - An item enters the work stack once per phase (its state moves forward first), so the
 *   stack never holds more than n + nmaps items.
 * - Lost items are split as memcheck does: an item pointed to by another lost item is
 *   indirectly lost; the rest (one per unreached cycle) are directly lost.
 * - Each block's words are read once: the pre-scan reads the blocks in address order, many
 *   to a read, and keeps what each points to (edges); marking and the lost split follow
 *   the edges.  A block the pre-scan could not read whole, or left past its budget, is
 *   read when reached. */
#include "scan.h"
#include "check.h"
#include "glibcheap.h"

#include <sys/mman.h>

static void push(scan_t *s, size_t i)
{
	AG_ASSERT(s->nwork < s->n + s->nmaps);
	s->work[s->nwork++] = i;
}

void scanmark_visit(scan_t *s, size_t i)
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
	push(s, i);
}

void scanmark_words(scan_t *s, const uintptr_t *w, size_t nwords, bool root)
{
	for (size_t i = 0; i < nwords; i++) {
		size_t it = scan_item_of(s, w[i]);
		if (it == SIZE_MAX)
			continue;
		if (root && it < s->n &&
		    glibcheap_next_chunk_header(s->blocks[it].addr, s->blocks[it].size, w[i]))
			continue;
		scanmark_visit(s, it);
	}
}

static bool prescanned(const scan_t *s, size_t i)
{
	return i < s->n && s->done && (s->done[i / 64] >> (i % 64) & 1);
}

/* The bytes of block e the scan reads: its whole words. */
static size_t words_len(const ptr_entry_t *e)
{
	return e->size & ~(uint64_t)(sizeof(uintptr_t) - 1);
}

/* Whether the pre-scan reads block e itself (else it is read when reached, as before). */
static bool prescan_reads(const ptr_entry_t *e, size_t room)
{
	size_t len = words_len(e);
	return len && !(e->addr & (sizeof(uintptr_t) - 1)) && len <= room;
}

/* Gather the blocks from i into at most BATCH segments of s->local and s->remote, blocks
 * less than PRESCAN_GAP apart merged into one; *nseg gets how many.  Returns the first
 * block not gathered. */
#define PRESCAN_GAP 256
static size_t gather(scan_t *s, size_t i, size_t room, size_t *nseg)
{
	size_t k = 0, bytes = 0, j = i;
	uintptr_t lo = 0, hi = 0;
	struct iovec *local = s->local, *remote = s->remote;
	for (; j < s->n; j++) {
		const ptr_entry_t *e = &s->blocks[j];
		size_t len = words_len(e);
		if (!prescan_reads(e, room))
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
	*nseg = k;
	return j;
}

/* The items the len bytes at w point to become edges; false when the budget ran out. */
static bool add_edges(scan_t *s, const uintptr_t *w, size_t len, size_t budget,
		      size_t *nedges)
{
	for (size_t t = 0; t < len / sizeof *w; t++) {
		size_t it = scan_item_of(s, w[t]);
		if (it == SIZE_MAX)
			continue;
		if (*nedges == budget)
			return false;
		s->edges[(*nedges)++] = (uint32_t)it;
	}
	return true;
}

/* Keep the edges of the gathered blocks i .. j - 1 (got bytes were read), up to the first
 * one not read whole.  Returns the block to go on from, or SIZE_MAX when the budget is
 * spent (the blocks left are then read when reached). */
static size_t keep_edges(scan_t *s, size_t i, size_t j, size_t got, size_t room,
			 size_t budget, size_t *nedges)
{
	const struct iovec *remote = s->remote;
	size_t q = 0, before = 0, x = i;
	for (; x < j; x++) {
		const ptr_entry_t *e = &s->blocks[x];
		size_t len = words_len(e);
		if (prescan_reads(e, room)) {
			while (e->addr >= (uintptr_t)remote[q].iov_base + remote[q].iov_len)
				before += remote[q++].iov_len;
			size_t at = before + (e->addr - (uintptr_t)remote[q].iov_base);
			if (at + len > got) {
				if (x > i)
					break;   /* retried from here in the next round */
				s->off[x + 1] = (uint32_t)*nedges;   /* read when reached */
				continue;
			}
			const uintptr_t *w = (const uintptr_t *)((const char *)s->buf + at);
			if (!add_edges(s, w, len, budget, nedges)) {
				for (size_t y = x; y < s->n; y++)
					s->off[y + 1] = s->off[x];
				return SIZE_MAX;
			}
		} else if (len) {
			s->off[x + 1] = (uint32_t)*nedges;   /* read when reached */
			continue;
		}
		s->off[x + 1] = (uint32_t)*nedges;
		s->done[x / 64] |= (uint64_t)1 << (x % 64);
	}
	return x;
}

/* Read every block once, in address order, neighbours merged into one large read, and keep
 * the items each one points to as edges: marking then follows edges instead of making a
 * read per reached block (a linked list made one syscall per node).  Each block is scanned
 * once either way: every block is reached from the roots or from a lost leader.  Stops
 * keeping edges at budget; the blocks left (and those not readable whole, or too large for
 * the buffer) are read when reached. */
void scanmark_prescan(scan_t *s, size_t budget)
{
	size_t room = s->bufwords * sizeof *s->buf, nedges = 0, i = 0;
	s->off[0] = 0;
	while (i < s->n) {
		size_t k, j = gather(s, i, room, &k);
		ssize_t r = k ? process_vm_readv(s->self, s->local, k, s->remote, k, 0) : 0;
		i = keep_edges(s, i, j, r > 0 ? (size_t)r : 0, room, budget, &nedges);
		if (i == SIZE_MAX)
			return;
	}
	for (size_t x = 0; AG_CHECKING && x < s->n; x++)
		AG_ASSERT(s->off[x] <= s->off[x + 1] && s->off[x + 1] <= nedges);
}

/* Scan [lo, hi) through the kernel, a buffer at a time; an unreadable page holds no
 * pointers.  Marks only: the caller drains (the buffer is shared). */
static void scan_words(scan_t *s, uintptr_t lo, uintptr_t hi, bool root)
{
	lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
	while (lo < hi && hi - lo >= sizeof(uintptr_t)) {
		size_t max = s->bufwords * sizeof *s->buf;
		size_t bytes = hi - lo < max ? hi - lo : max;
		size_t got = scanmem_peek(s->self, lo, s->buf, bytes);
		if (!got) {
			lo = (lo | (s->page - 1)) + 1;
			continue;
		}
		scanmark_words(s, s->buf, got / sizeof *s->buf, root);
		lo += got;
	}
}

/* Pages never touched hold zeros, not pointers: only resident runs are read, so a sparse
 * multi-gigabyte mapping costs a few mincore calls, not gigabytes of reads.  A root
 * (`root`) drains after each run; a mapping reached from one is read with the other
 * mincore vector and leaves the draining to its caller. */
static void scan_sparse(scan_t *s, uintptr_t lo, uintptr_t hi, bool root)
{
	enum { WINDOW = VEC_PAGES };
	unsigned char *vec = s->vec[root];
	uintptr_t page = s->page;
	while (lo < hi) {
		uintptr_t base = lo & ~(page - 1);
		uintptr_t end = hi - base > WINDOW * page ? base + WINDOW * page : hi;
		size_t npages = (end - base + page - 1) / page;
		if (mincore((void *)base, end - base, vec) != 0) {
			scan_words(s, lo, end, root);   /* cannot tell: read it all */
			if (root)
				scanmark_drain(s);
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
			if (root)
				scanmark_drain(s);
			i = j;
		}
		lo = end;
	}
}

void scanmark_root(scan_t *s, uintptr_t lo, uintptr_t hi)
{
	scan_sparse(s, lo, hi, true);
}

/* Pop up to max small blocks off the work stack into one vectored read; returns how many. */
static size_t batch(scan_t *s, struct iovec *local, struct iovec *remote, size_t max)
{
	size_t k = 0, bytes = 0, room = s->bufwords * sizeof *s->buf;
	while (s->nwork && k < max) {
		size_t i = s->work[s->nwork - 1];
		if (i >= s->n || prescanned(s, i))
			break;
		size_t len = words_len(&s->blocks[i]);
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

/* The item on top of the work stack, alone: a block too large for a batch, or a mapping's
 * committed pieces. */
static void scan_alone(scan_t *s)
{
	size_t i = s->work[--s->nwork];
	if (i < s->n) {
		const ptr_entry_t *e = &s->blocks[i];
		scan_words(s, e->addr, e->addr + e->size, false);
		return;
	}
	for (size_t m = i - s->n; m < s->nmaps && s->group[m] == i - s->n; m++)
		scan_sparse(s, s->maps[m].lo, s->maps[m].hi, false);
}

/* One syscall per batch of small blocks: most programs' blocks are tens of bytes. */
void scanmark_drain(scan_t *s)
{
	struct iovec *local = s->local, *remote = s->remote;
	while (s->nwork) {
		size_t top = s->work[s->nwork - 1];
		if (prescanned(s, top)) {
			s->nwork--;
			for (uint32_t e = s->off[top]; e < s->off[top + 1]; e++)
				scanmark_visit(s, s->edges[e]);
			continue;
		}
		size_t k = batch(s, local, remote, BATCH);
		if (!k) {
			if (s->nwork)
				scan_alone(s);
			continue;
		}
		ssize_t r = process_vm_readv(s->self, local, k, remote, k, 0);
		size_t got = r > 0 ? (size_t)r : 0, j = 0;
		for (; j < k && got >= local[j].iov_len; j++) {
			scanmark_words(s, local[j].iov_base, local[j].iov_len / sizeof(uintptr_t),
				       false);
			got -= local[j].iov_len;
		}
		/* The kernel stops at the first unreadable byte: read that block alone (the buffer
		 * is free again), then the rest of the batch in the next round. */
		for (size_t m = k; m-- > j + 1;)
			push(s, scanitems_block(s, (uintptr_t)remote[m].iov_base));
		if (j < k) {
			uintptr_t a = (uintptr_t)remote[j].iov_base;
			scan_words(s, a, a + remote[j].iov_len, false);
		}
	}
}

/* Unreached items, in address order: each one not yet met becomes a leader (directly lost)
 * and whatever it reaches is indirectly lost, as memcheck's cliques. */
void scanmark_split_lost(scan_t *s)
{
	for (size_t i = 0; i < s->n + s->nmaps; i++) {
		if (s->state[i] != UNSEEN || (i >= s->n && s->group[i - s->n] != i - s->n))
			continue;
		s->state[i] = LOST_DIRECT;
		s->leader = i;
		push(s, i);
		scanmark_drain(s);
	}
	s->leader = SIZE_MAX;
}
