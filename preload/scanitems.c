/* scanitems.c: the exit scan's items: the tracked blocks and the committed pieces of
 * tracked anonymous mappings, copied out of their tables, sorted by address and indexed,
 * and the lookup of the item holding an address (see scan.h for the numbering).  Marking
 * and roots are scanmark.c's and scanroots.c's.
 *
 * Invariants kept here:
 * - blocks[] is sorted by address; maps[] and runs[] are sorted and disjoint (they are
 *   pieces of the mapping table, which never overlap);
 * - every item lies inside [min, max), so a word outside it points to none;
 * - the index finds the same block as a binary search over all blocks would: the last
 *   block starting at or below the address, when the address is inside it. */
#include "scan.h"
#include "addrfind.h"
#include "check.h"
#include "logfmt.h"

#include <errno.h>
#include <sys/mman.h>

size_t scanitems_pieces(scan_t *s, maptab_piece_t **out)
{
	maptab_lock();
	for (size_t want = 256;; want *= 4) {
		maptab_piece_t *pc = scanmem_grab(s, want * sizeof *pc);
		if (!pc) {
			maptab_unlock();
			return SIZE_MAX;
		}
		size_t n = maptab_list(pc, want);
		if (n <= want) {
			*out = pc;
			return n;
		}
		scanmem_drop(s, pc);
	}
}

int scanitems_blocks(scan_t *s)
{
	for (;;) {
		size_t cap = ptrtab_count();   /* a walk of the unsized marks: once */
		cap += cap / 8 + 1024;
		s->blocks = scanmem_grab(s, cap * sizeof *s->blocks);
		if (!s->blocks)
			return ENOMEM;
		s->n = ptrtab_collect(s->blocks, cap, true);
		if (s->n <= cap)
			break;
		scanmem_drop(s, s->blocks);   /* unsized blocks were marked meanwhile */
	}
	addrsort_blocks(s->blocks, s->n);
	for (size_t i = 1; AG_CHECKING && i < s->n; i++)
		AG_ASSERT(s->blocks[i - 1].addr <= s->blocks[i].addr);
	return 0;
}

static size_t holding(const ptr_entry_t *blocks, size_t a, uintptr_t addr)
{
	if (a == 0)
		return SIZE_MAX;
	const ptr_entry_t *e = &blocks[a - 1];
	uint64_t size = e->size ? e->size : 1;
	return addr < e->addr + size ? a - 1 : SIZE_MAX;
}

/* The last block starting at or below addr, if addr is inside it. */
static size_t block_of_sorted(const scan_t *s, uintptr_t addr)
{
	return holding(s->blocks, ADDRFIND_UPPER(s->blocks, s->n, addr, addr), addr);
}

/* The same through the index: the cluster by a binary search over the (few) clusters,
 * then the slot, then a search among the blocks starting in that slot (about four). */
static size_t block_of_indexed(scan_t *s, uintptr_t addr)
{
	size_t a = s->hint + 1;   /* the cluster of the last lookup, most often right again */
	if (s->clusters[a - 1].lo > addr || (a < s->nclusters && s->clusters[a].lo <= addr)) {
		a = ADDRFIND_UPPER(s->clusters, s->nclusters, lo, addr);
		if (a == 0)
			return SIZE_MAX;
		s->hint = a - 1;
	}
	const cluster_t *c = &s->clusters[a - 1];
	if (addr >= c->hi)
		return SIZE_MAX;
	uintptr_t k = (addr - c->lo) >> c->shift;
	if (k >= c->nslots)
		return holding(s->blocks, c->end, addr);
	size_t lo = c->first + s->slots[c->base + k];
	size_t hi = k + 1 < c->nslots ? c->first + s->slots[c->base + k + 1] : c->end;
	/* lo + found > first: the cluster's first block starts at c->lo <= addr */
	return holding(s->blocks, lo + ADDRFIND_UPPER(s->blocks + lo, hi - lo, addr, addr), addr);
}

size_t scanitems_block(scan_t *s, uintptr_t addr)
{
	if (!s->clusters)
		return block_of_sorted(s, addr);
	size_t b = block_of_indexed(s, addr);
	AG_ASSERT(b == block_of_sorted(s, addr));
	return b;
}

/* One cluster's slots: slots[k] is the index (from first) of the first block starting at
 * or after lo + (k << shift). */
static cluster_t cluster_at(const scan_t *s, size_t first, size_t end, uintptr_t hi,
			    size_t base, uint32_t *slots)
{
	uintptr_t lo = s->blocks[first].addr;
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
	return (cluster_t){ lo, hi, first, end, base, nslots, shift };
}

/* Build the block index over the sorted blocks.  A cluster has about one slot per four
 * blocks, so the index takes about a byte a block.  0, or ENOENT, ENOMEM or EOVERFLOW
 * (then lookups search the sorted blocks). */
#define CLUSTER_GAP ((uintptr_t)256 * 1024)
int scanitems_index(scan_t *s)
{
	if (!s->n)
		return ENOENT;
	if (s->n >= UINT32_MAX)
		return EOVERFLOW;
	size_t nc = 1;
	for (size_t i = 1; i < s->n; i++)
		nc += s->blocks[i].addr - s->blocks[i - 1].addr >= CLUSTER_GAP;
	cluster_t *cl = scanmem_grab(s, nc * sizeof *cl);
	uint32_t *slots = scanmem_grab(s, (s->n / 4 + nc) * sizeof *slots);
	if (!cl || !slots)
		return ENOMEM;
	size_t base = 0, c = 0;
	for (size_t first = 0, end; first < s->n; first = end) {
		uintptr_t hi = 0;
		for (end = first; end < s->n; end++) {
			const ptr_entry_t *e = &s->blocks[end];
			if (end > first && e->addr - s->blocks[end - 1].addr >= CLUSTER_GAP)
				break;
			uintptr_t eend = e->addr + (e->size ? e->size : 1);
			hi = eend > hi ? eend : hi;
		}
		cl[c] = cluster_at(s, first, end, hi, base, slots);
		base += cl[c++].nslots;
	}
	AG_ASSERT(c == nc && base <= s->n / 4 + nc);
	s->clusters = cl;
	s->nclusters = c;
	s->slots = slots;
	return 0;
}

size_t scanitems_find(scan_t *s, uintptr_t addr)
{
	size_t b = scanitems_block(s, addr);
	if (b != SIZE_MAX)
		return b;
	size_t m = ADDRFIND_HOLDING(s->maps, s->nmaps, addr);
	if (m != SIZE_MAX)
		return s->n + s->group[m];
	m = ADDRFIND_HOLDING(s->runs, s->nruns, addr);
	return m == SIZE_MAX ? SIZE_MAX : s->n + s->run_first[m];
}

/* One mapping: the pieces a .. b - 1 of one origin, adjacent. */
static void mapping_to_items(scan_t *s, const maptab_piece_t *pc, size_t a, size_t b)
{
	bool reserved = false;
	size_t first = s->nmaps;
	for (size_t i = a; i < b; i++) {
		reserved |= pc[i].st.prot == PROT_NONE;
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
}

/* The committed anonymous pieces become items, grouped by the mapping they belong to (runs
 * of adjacent pieces of one origin); then the bounds of all items. */
void scanitems_from_pieces(scan_t *s, const maptab_piece_t *pc, size_t n)
{
	for (size_t a = 0; a < n;) {
		if (pc[a].st.kind != AG_KIND_MMAP) {
			a++;
			continue;
		}
		size_t b = a + 1;
		while (b < n && pc[b].st.kind == AG_KIND_MMAP && pc[b].lo == pc[b - 1].hi &&
		       pc[b].st.origin == pc[a].st.origin)
			b++;
		mapping_to_items(s, pc, a, b);
		a = b;
	}
	s->min = s->n ? s->blocks[0].addr : UINTPTR_MAX;
	for (size_t i = 0; i < s->n; i++) {   /* a stale entry may reach past a later block */
		uintptr_t end = s->blocks[i].addr + s->blocks[i].size + 1;
		s->max = end > s->max ? end : s->max;
	}
	for (size_t i = 0; i < n; i++) {   /* runs and maps lie within the pieces */
		if (pc[i].st.kind != AG_KIND_MMAP)
			continue;
		s->min = pc[i].lo < s->min ? pc[i].lo : s->min;
		s->max = pc[i].hi > s->max ? pc[i].hi : s->max;
	}
	for (size_t i = 0; AG_CHECKING && i < s->nmaps; i++) {
		AG_ASSERT(s->maps[i].lo < s->maps[i].hi && s->group[i] <= i);
		AG_ASSERT(i + 1 == s->nmaps || s->maps[i].hi <= s->maps[i + 1].lo);
		AG_ASSERT(s->maps[i].lo >= s->min && s->maps[i].hi <= s->max);
	}
}
