/* scan.h: the exit scan's working state, shared by its pieces: scanmem.c (its memory and
 * fault-free reads), scanitems.c (the items: blocks and mapping pieces, copied, sorted and
 * indexed), scanmark.c (marking and the lost split), scanroots.c (where the roots are) and
 * reach.c (the order of the steps, the figures and the verdict; the API in reach.h).
 *
 * Items are numbered: blocks 0 .. n - 1 (by address), then the committed anonymous mapping
 * pieces n .. n + nmaps - 1; a mapping's pieces share the state of its first piece.  An
 * item's state only moves forward: UNSEEN -> REACHED while marking from the roots, UNSEEN
 * -> LOST_DIRECT -> LOST_INDIRECT in the lost split. */
#ifndef ALLOCGUARD_SCAN_H
#define ALLOCGUARD_SCAN_H

#include "addrsort.h"
#include "maptab.h"
#include "ptrtab.h"
#include "stacks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef addrsort_range_t range_t;

enum { UNSEEN = 0, REACHED, LOST_DIRECT, LOST_INDIRECT };
enum { VEC_PAGES = 4096, BATCH = 256, SCAN_MEM_MAX = 24 };

/* A run of blocks (first .. end - 1) whose starts are less than CLUSTER_GAP apart; slot k
 * covers the starts in [lo + (k << shift), lo + ((k + 1) << shift)): slots[base + k] is the
 * index (from first) of the first block starting at or after it. */
typedef struct {
	uintptr_t lo, hi;           /* first start; the greatest end in the cluster */
	size_t first, end, base;
	uintptr_t nslots;
	unsigned shift;
} cluster_t;

/* One piece of the scan's memory (internal memory, released when the scan ends). */
typedef struct {
	void *p;
	size_t bytes;
} mem_t;

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
	/* The block index (see scanitems_index): clusters of nearby blocks, each with a slot
	 * array, so that finding the block holding an address takes no binary search over
	 * all blocks. */
	cluster_t *clusters;
	size_t nclusters, hint;
	uint32_t *slots;
	/* Pre-scanned blocks (see scanmark_prescan): the items block i points to are
	 * edges[off[i] .. off[i + 1]); a block whose bit in done is clear is read when
	 * reached, as before. */
	uint32_t *off, *edges;
	uint64_t *done;
	mem_t mem[SCAN_MEM_MAX];    /* everything above that scanmem_grab gave */
	size_t nmem;
} scan_t;

/* scanmem.c: zeroed internal memory for the scan's tables (NULL when out of memory or
 * slots), one piece given back early, all of it at the end; reads through the kernel. */
void *scanmem_grab(scan_t *s, size_t bytes);
void scanmem_drop(scan_t *s, void *p);
void scanmem_release(scan_t *s);
/* Copy len bytes at addr through the kernel; how many could be read (0 when the first
 * page is unreadable). */
size_t scanmem_peek(pid_t self, uintptr_t addr, void *out, size_t len);

/* scanitems.c: the items. */
/* Lock the mapping table (it stays locked) and copy its pieces into *out; their count,
 * or SIZE_MAX when out of memory (then unlocked). */
size_t scanitems_pieces(scan_t *s, maptab_piece_t **out);
/* Copy the tracked blocks, sorted; the caller holds the block table's shards
 * (ptrtab_hold).  0, or ENOMEM. */
int scanitems_blocks(scan_t *s);
/* Build the block index; 0, else the scan goes on with binary searches (see scanitems.c). */
int scanitems_index(scan_t *s);
/* The committed anonymous pieces become items (see scanitems.c), and [min, max) is set. */
void scanitems_from_pieces(scan_t *s, const maptab_piece_t *pc, size_t npieces);
/* The block holding addr (interior pointers count), or SIZE_MAX. */
size_t scanitems_block(scan_t *s, uintptr_t addr);
size_t scanitems_find(scan_t *s, uintptr_t addr);

/* The item (block, or mapping piece after the blocks) holding addr, or SIZE_MAX.  Most
 * words fail the range check: it is inlined, the search is not. */
static inline size_t scan_item_of(scan_t *s, uintptr_t addr)
{
	if (addr < s->min || addr >= s->max)
		return SIZE_MAX;
	return scanitems_find(s, addr);
}

/* scanmark.c: marking. */
void scanmark_visit(scan_t *s, size_t i);
/* Mark what the nwords words at w point to; `root` words pointing at glibc's next chunk
 * header are glibc's, not the program's. */
void scanmark_words(scan_t *s, const uintptr_t *w, size_t nwords, bool root);
/* Mark from the root [lo, hi) (its resident pages), following what it reaches. */
void scanmark_root(scan_t *s, uintptr_t lo, uintptr_t hi);
/* Follow what the work stack holds until it is empty. */
void scanmark_drain(scan_t *s);
/* Read every block once and keep its edges, up to budget edges. */
void scanmark_prescan(scan_t *s, size_t budget);
/* After marking from the roots: the unreached items, split into directly and indirectly
 * lost. */
void scanmark_split_lost(scan_t *s);

/* scanroots.c: where the roots are, and marking from them. */
typedef struct {
	uintptr_t sp;               /* this thread's innermost program frame */
	uintptr_t regs[STACKS_SAVED_REGS];   /* the registers that frame owns */
	int nregs;
	range_t self[4];            /* our own writable segments */
	size_t nself;
	size_t nthreads;            /* the other threads listed by threadstop_list */
	range_t *lines;             /* the writable mappings that may hold roots, sorted */
	size_t nlines;
	range_t brk_heap;           /* the [heap] line: glibc's main arena */
	uintptr_t (*internal)[2];   /* our own tables */
	size_t ninternal;
	range_t *skip;              /* not roots: sorted, disjoint */
	size_t nskip;
} roots_t;

/* Before any lock: our segments, the other threads, the writable mappings (lines is NULL
 * when out of memory).  0, or ENOMEM when /proc cannot be read. */
int scanroots_list(scan_t *s, roots_t *r);
/* Room for the list of our tables (before any lock), and for the skip list (once the items
 * are counted).  0 or ENOMEM (the former also when the lines found no room). */
int scanroots_grab_internal(scan_t *s, roots_t *r);
int scanroots_grab_skip(scan_t *s, roots_t *r, size_t npieces);
/* Our own tables, listed last (the scan's own included), just before the threads stop. */
void scanroots_internal(roots_t *r);
/* The skip list: glibc's heaps, our tables and segments, every tracked mapping piece. */
void scanroots_skip(scan_t *s, roots_t *r, const maptab_piece_t *pc, size_t npieces);
/* Mark from every root: this thread's frame and registers, the stopped threads, the
 * writable mappings less the skip list. */
void scanroots_mark(scan_t *s, const roots_t *r);

#endif
