/* ptrtab.h: the live-block table, address -> (requested size, stack id).  Sharded open
 * addressing on internal memory: no header in user blocks, no global lock.  What a block
 * means for totals and stacks is heap.c's business. */
#ifndef ALLOCGUARD_PTRTAB_H
#define ALLOCGUARD_PTRTAB_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTRTAB_MAX_SIZE ((UINT64_C(1) << 40) - 1)   /* larger requests are clamped */
#define PTRTAB_MAX_STACK ((UINT32_C(1) << 24) - 1)

typedef struct {
	uintptr_t addr;            /* 0 = empty slot */
	uint64_t size : 40;
	uint64_t stack : 24;       /* 0 = not attributed (early, or not sampled) */
} ptr_entry_t;

/* 0, or ENOMEM when the table cannot grow (the block is then simply not tracked).  When
 * addr was already present (its block was freed behind our back, e.g. by a library bound
 * to libc's free with RTLD_DEEPBIND), the old entry is copied to *replaced (addr != 0). */
int ptrtab_insert(uintptr_t addr, uint64_t size, uint32_t stack, ptr_entry_t *replaced);
/* Remove addr; false when it was not tracked. */
bool ptrtab_remove(uintptr_t addr, ptr_entry_t *out);
bool ptrtab_lookup(uintptr_t addr, ptr_entry_t *out);
size_t ptrtab_count(void);   /* entries and marks; marks are counted by a walk (slow) */
/* Bytes of slots the sized entries occupy now (racy without a quiet table; for tests). */
size_t ptrtab_slot_bytes(void);

/* Copy every entry into out (up to max) and return the total count.  held: the caller
 * holds every shard (ptrtab_hold), so the table is read as it stands; otherwise each shard
 * is locked while it is read. */
size_t ptrtab_collect(ptr_entry_t *out, size_t max, bool held);
/* Lock every shard and keep them (no block can be freed through the hooks, an unsized one
 * included) until ptrtab_unlock_all().  The exit scan holds them across its fork, so its
 * copy-on-write child reads a table no thread was changing. */
void ptrtab_hold(void);

/* Give the stack to every unattributed entry (stack 0) for which take(stack, size) says
 * yes; once, in the constructor, for the blocks allocated before it. */
void ptrtab_adopt(uint32_t stack, bool (*take)(uint32_t stack, uint64_t size));

/* Unsized entries: blocks that sampling left out (heap.c) are only marked, one bit per 8
 * bytes of address space in a lazily mapped two-level bitmap, so they cost about a bit per
 * granule of heap instead of a table slot, and marking and unmarking are one atomic each
 * with no lock.  Their size is not kept: ptrtab_collect asks size_of (set once with
 * ptrtab_unsized_sizer) and reports them with stack 0.  ptrtab_mark returns 0, EEXIST
 * when addr was already marked (the earlier block was freed behind our back), or ENOMEM
 * (no room for the bitmap, or an address past 2^48: nothing marked, keep the block in
 * the table instead).  ptrtab_unmark says whether addr was marked; while the shards are
 * held by ptrtab_hold it waits for ptrtab_unlock_all before returning true, so a held
 * scan never sees an unsized block freed under it. */
void ptrtab_unsized_sizer(size_t (*size_of)(void *));

/* The bitmap's layout, here only so that marking and unmarking inline into the hooks. */
#define PTRTAB_GRAIN_SHIFT 3                   /* a bit per 8 bytes: tcmalloc aligns to 8 */
#define PTRTAB_LEAF_SHIFT 30
#define PTRTAB_ADDR_BITS 48
#define PTRTAB_LEAF_WORDS ((size_t)1 << (PTRTAB_LEAF_SHIFT - PTRTAB_GRAIN_SHIFT - 6))
#define PTRTAB_LINE_WORDS 8                    /* words per cache line of bits */
#define PTRTAB_SUMMARY_WORDS (PTRTAB_LEAF_WORDS / PTRTAB_LINE_WORDS / 64)

typedef struct {
	_Atomic uint64_t touched[PTRTAB_SUMMARY_WORDS];   /* a bit per line of bits ever written */
	_Atomic uint64_t bits[PTRTAB_LEAF_WORDS];
} ptrtab_leaf_t;

/* The last leaf this thread used (one TLS block, so one address computation for all), with
 * the addresses its words and summary words would have if the leaf began at address 0:
 * an address's word is then one shift and one add away. */
typedef struct {
	uintptr_t base;             /* its address >> PTRTAB_LEAF_SHIFT; never matches past 2^48 */
	uintptr_t words;            /* (uintptr_t)leaf->bits - word index of the leaf's start */
	uintptr_t lines;            /* the same for leaf->touched */
} ptrtab_last_t;
extern __thread ptrtab_last_t ptrtab_last __attribute__((tls_model("initial-exec")));
extern _Atomic bool ptrtab_held;
/* Finds (make: or maps) addr's leaf and makes it this thread's last; false when there is
 * none (an address past 2^48 too). */
bool ptrtab_leaf_slow(uintptr_t addr, bool make);
void ptrtab_unmark_wait(uintptr_t addr);

#define PTRTAB_WORD_SHIFT (PTRTAB_GRAIN_SHIFT + 6)          /* address bits per word */
#define PTRTAB_SUMMARY_SHIFT (PTRTAB_WORD_SHIFT + 3 + 6)    /* per summary word (8 words a line) */

/* addr's word of bits, and its summary word; false (nothing mapped) as ptrtab_leaf_slow. */
static inline __attribute__((always_inline)) bool
ptrtab_words_of(uintptr_t addr, bool make, _Atomic uint64_t **word, _Atomic uint64_t **line)
{
	ptrtab_last_t *last = &ptrtab_last;
	if (__builtin_expect(addr >> PTRTAB_LEAF_SHIFT != last->base, 0) &&
	    !ptrtab_leaf_slow(addr, make))
		return false;
	*word = (_Atomic uint64_t *)(last->words + ((addr >> PTRTAB_WORD_SHIFT) << 3));
	*line = (_Atomic uint64_t *)(last->lines + ((addr >> PTRTAB_SUMMARY_SHIFT) << 3));
	return true;
}

static inline __attribute__((always_inline)) int ptrtab_mark(uintptr_t addr)
{
	_Atomic uint64_t *w, *t;
	if (!ptrtab_words_of(addr, true, &w, &t))
		return ENOMEM;
	uint64_t m = UINT64_C(1) << ((addr >> PTRTAB_GRAIN_SHIFT) & 63);
	uint64_t lm = UINT64_C(1) << ((addr >> (PTRTAB_WORD_SHIFT + 3)) & 63);
	/* the line is marked touched before its bit is set: a walk never misses a bit */
	if (__builtin_expect(!(atomic_load_explicit(t, memory_order_relaxed) & lm), 0))
		atomic_fetch_or_explicit(t, lm, memory_order_relaxed);
	uint64_t old = atomic_fetch_or_explicit(w, m, memory_order_relaxed);
	return __builtin_expect(old & m, 0) ? EEXIST : 0;
}

static inline __attribute__((always_inline)) bool ptrtab_unmark(uintptr_t addr)
{
	_Atomic uint64_t *w, *t;
	if (!ptrtab_words_of(addr, false, &w, &t))
		return false;
	uint64_t m = UINT64_C(1) << ((addr >> PTRTAB_GRAIN_SHIFT) & 63);
	/* seq_cst with the load of held and with the store in ptrtab_hold: either the walk
	 * does not see this bit, or we see held and wait for the scan to finish */
	uint64_t old = atomic_fetch_and(w, ~m);
	if (!(old & m))
		return false;
	if (__builtin_expect(atomic_load(&ptrtab_held), 0))
		ptrtab_unmark_wait(addr);
	return true;
}

/* fork support and the exit scan. */
void ptrtab_lock_all(void);
void ptrtab_unlock_all(void);
void ptrtab_reinit_locks(void);

/* Does this thread hold a shard?  (A call that a jump left: jumped.c.) */
bool ptrtab_holds_any(void);

#endif
