/* ptrtab.c: sharded linear-probing hash table of live blocks (see ptrtab.h).  Each shard has
 * a spin lock and two tables on internal memory: compact 12-byte slots for the usual block
 * (8-aligned address under 2^48, size under 4 GiB, stack id under 2^19) and 16-byte wide
 * slots for the rest, looked at only when the shard has any.  A table grows by half at 75%
 * load, so it is 50-75% full (12-24 bytes per block) once past its first size; its length
 * need not be a power of two (a slot's home is a multiply-shift of the hash).  Deletion
 * shifts later entries back, so there are no tombstones.  Unsized entries are bits in a
 * two-level bitmap: a directory of 1 GiB leaves, each with a summary of its touched pages
 * so that a walk reads only those. */
#include "ptrtab.h"
#include "shardlock.h"
#include "check.h"
#include "sys.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#define NSHARDS 256
#define HOT static inline __attribute__((always_inline))
#define MIN_SLOTS 256

/* A compact slot: a = address >> 3 (45 bits) | stack << 45, 0 when empty. */
#define C_ADDR_BITS 45
#define C_ADDR_MASK ((UINT64_C(1) << C_ADDR_BITS) - 1)
#define C_STACK_LIMIT (UINT32_C(1) << (64 - C_ADDR_BITS))

typedef struct __attribute__((packed, aligned(4))) {
	uint64_t a;
	uint32_t size;
} cslot_t;
_Static_assert(sizeof(cslot_t) == 12, "compact slots are 12 bytes");

typedef struct {
	void *slots;      /* cslot_t (compact) or ptr_entry_t (wide) */
	void *mem;        /* the mapping slots sit in, at a per-shard cache colour */
	size_t n;         /* slots, or 0 before the first insert */
	size_t used;
	size_t limit;     /* used at which it grows: 75% of n */
} table_t;

enum { COMPACT, WIDE };

typedef struct {
	_Alignas(64) shardlock_t lock;
	table_t t[2];
} shard_t;

static shard_t shards[NSHARDS];

static inline void lock(shard_t *s) { shardlock_lock(&s->lock); }
static inline void unlock(shard_t *s) { shardlock_unlock(&s->lock); }

static inline uint64_t mix(uintptr_t a)
{
	uint64_t h = (uint64_t)a >> 4;
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

static inline shard_t *shard_of(uint64_t h)
{
	return &shards[h & (NSHARDS - 1)];
}

static inline size_t home(uint64_t h, size_t n)
{
	return (size_t)(((h >> 32) * (uint64_t)n) >> 32);
}

static inline size_t next(size_t i, size_t n)
{
	return i + 1 == n ? 0 : i + 1;
}

static inline bool fits_compact(uintptr_t addr, uint64_t size, uint32_t stack)
{
	return !(((uint64_t)addr & 7) | ((uint64_t)addr >> (C_ADDR_BITS + 3)) | (size >> 32) |
		 ((uint64_t)stack >> (64 - C_ADDR_BITS)));
}

/* ---- slot access; w is a constant at every call, so each table gets its own code ---- */

static inline uintptr_t slot_addr(const table_t *t, size_t i, int w)
{
	if (w == WIDE)
		return ((const ptr_entry_t *)t->slots)[i].addr;
	return (uintptr_t)((((const cslot_t *)t->slots)[i].a & C_ADDR_MASK) << 3);
}

static inline ptr_entry_t slot_get(const table_t *t, size_t i, int w)
{
	if (w == WIDE)
		return ((const ptr_entry_t *)t->slots)[i];
	const cslot_t *c = &((const cslot_t *)t->slots)[i];
	return (ptr_entry_t){ .addr = (uintptr_t)((c->a & C_ADDR_MASK) << 3), .size = c->size,
			      .stack = (uint32_t)(c->a >> C_ADDR_BITS) };
}

static inline void slot_put(table_t *t, size_t i, ptr_entry_t e, int w)
{
	if (w == WIDE) {
		((ptr_entry_t *)t->slots)[i] = e;
		return;
	}
	cslot_t *c = &((cslot_t *)t->slots)[i];
	c->a = ((uint64_t)e.addr >> 3) | ((uint64_t)e.stack << C_ADDR_BITS);
	c->size = (uint32_t)e.size;
}

static inline void slot_move(table_t *t, size_t to, size_t from, int w)
{
	if (w == WIDE)
		((ptr_entry_t *)t->slots)[to] = ((ptr_entry_t *)t->slots)[from];
	else
		((cslot_t *)t->slots)[to] = ((cslot_t *)t->slots)[from];
}

static inline void slot_clear(table_t *t, size_t i, int w)
{
	if (w == WIDE)
		((ptr_entry_t *)t->slots)[i].addr = 0;
	else
		((cslot_t *)t->slots)[i].a = 0;
}

static inline size_t slot_bytes(int w)
{
	return w == WIDE ? sizeof(ptr_entry_t) : sizeof(cslot_t);
}

/* Every table starts on a page; without an offset, slot i of every shard would compete
 * for the same cache sets. */
static size_t colour(const shard_t *s)
{
	return (size_t)(s - shards) % 64 * 64;
}

static int grow(shard_t *s, table_t *t, int w)
{
	size_t n = t->n ? t->n + t->n / 2 : MIN_SLOTS;
	/* populated: the rehash below reads each slot before writing it */
	char *mem = sys_alloc_populated(n * slot_bytes(w) + colour(s));
	if (!mem)
		return ENOMEM;
	table_t fresh = { .slots = mem + colour(s), .mem = mem, .n = n, .used = t->used,
			  .limit = n / 4 * 3 };
	for (size_t i = 0; i < t->n; i++) {
		uintptr_t a = slot_addr(t, i, w);
		if (!a)
			continue;
		size_t j = home(mix(a), n);
		while (slot_addr(&fresh, j, w))
			j = next(j, n);
		if (w == WIDE)
			((ptr_entry_t *)fresh.slots)[j] = ((const ptr_entry_t *)t->slots)[i];
		else
			((cslot_t *)fresh.slots)[j] = ((const cslot_t *)t->slots)[i];
	}
	if (AG_CHECKING) {
		size_t held = 0;
		for (size_t i = 0; i < fresh.n; i++)
			held += slot_addr(&fresh, i, w) != 0;
		AG_ASSERT(held == t->used);
	}
	if (t->n)
		sys_free(t->mem, t->n * slot_bytes(w) + colour(s));
	*t = fresh;
	return 0;
}

/* The slot holding addr, or (size_t)-1. */
HOT size_t find(const table_t *t, uintptr_t addr, uint64_t h, int w)
{
	if (!t->used)
		return (size_t)-1;
	size_t i = home(h, t->n);
	for (uintptr_t a; (a = slot_addr(t, i, w)); i = next(i, t->n))
		if (a == addr)
			return i;
	return (size_t)-1;
}

/* Whether home k lies cyclically in (hole, j]: then the entry at j must stay. */
HOT bool home_between(size_t hole, size_t k, size_t j)
{
	return hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
}

/* Backward-shift deletion: pull later members of the probe run into the hole. */
HOT void delete_at(table_t *t, size_t hole, int w)
{
	size_t j = hole, n = t->n;
	for (;;) {
		j = next(j, n);
		uintptr_t a = slot_addr(t, j, w);
		if (!a)
			break;
		if (!home_between(hole, home(mix(a), n), j)) {
			slot_move(t, hole, j, w);
			hole = j;
		}
	}
	slot_clear(t, hole, w);
	AG_ASSERT(t->used > 0);
	t->used--;
	/* every entry of the run after the hole is still found from its home */
	for (size_t i = next(hole, n); AG_CHECKING && slot_addr(t, i, w); i = next(i, n))
		AG_ASSERT(home_between(hole, home(mix(slot_addr(t, i, w)), n), i));
}

HOT bool tab_take(table_t *t, uintptr_t addr, uint64_t h, int w, ptr_entry_t *out)
{
	size_t i = find(t, addr, h, w);
	if (i == (size_t)-1)
		return false;
	*out = slot_get(t, i, w);
	delete_at(t, i, w);
	return true;
}

/* Insert or overwrite e; the entry overwritten goes to *old (old->addr != 0). */
HOT int put(shard_t *s, table_t *t, ptr_entry_t e, uint64_t h, int w, ptr_entry_t *old)
{
	if (t->used >= t->limit && grow(s, t, w) && t->used + 1 >= t->n)
		return ENOMEM;   /* could not grow, and no room left either */
	size_t i = home(h, t->n);
	for (uintptr_t a; (a = slot_addr(t, i, w)); i = next(i, t->n)) {
		if (a == e.addr) {
			*old = slot_get(t, i, w);
			slot_put(t, i, e, w);
			return 0;
		}
	}
	slot_put(t, i, e, w);
	t->used++;
	AG_ASSERT(t->used < t->n);   /* an empty slot ends every probe */
	return 0;
}

/* The common insert: a compact entry for a new address into a table with room, in a shard
 * with no wide entries.  false (nothing changed) for anything else. */
HOT bool insert_fast(table_t *t, uintptr_t addr, uint64_t size, uint32_t stack, uint64_t h)
{
	if (t->used >= t->limit)
		return false;
	cslot_t *sl = t->slots;
	uint64_t key = (uint64_t)addr >> 3;
	size_t i = home(h, t->n);
	for (uint64_t a; (a = sl[i].a); i = next(i, t->n))
		if ((a & C_ADDR_MASK) == key)
			return false;
	sl[i].a = key | (uint64_t)stack << C_ADDR_BITS;
	sl[i].size = (uint32_t)size;
	t->used++;
	AG_ASSERT(t->used < t->n);
	return true;
}

static __attribute__((noinline)) int insert_slow(uintptr_t addr, uint64_t size, uint32_t stack,
						 ptr_entry_t *replaced);

int ptrtab_insert(uintptr_t addr, uint64_t size, uint32_t stack, ptr_entry_t *replaced)
{
	if (fits_compact(addr, size, stack)) {
		uint64_t h = mix(addr);
		shard_t *s = shard_of(h);
		lock(s);
		bool done = !s->t[WIDE].used && insert_fast(&s->t[COMPACT], addr, size, stack, h);
		unlock(s);
		if (done)
			return 0;
	}
	return insert_slow(addr, size, stack, replaced);
}

static int insert_slow(uintptr_t addr, uint64_t size, uint32_t stack, ptr_entry_t *replaced)
{
	ptr_entry_t e = { .addr = addr, .size = size > PTRTAB_MAX_SIZE ? PTRTAB_MAX_SIZE : size,
			  .stack = stack > PTRTAB_MAX_STACK ? 0 : stack };
	int w = fits_compact(addr, e.size, e.stack) ? COMPACT : WIDE;
	uint64_t h = mix(addr);
	shard_t *s = shard_of(h);
	ptr_entry_t old = { 0 };
	lock(s);
	/* the address may sit in the other table, with a size or stack of the other kind */
	if (w == COMPACT)
		tab_take(&s->t[WIDE], addr, h, WIDE, &old);
	else
		tab_take(&s->t[COMPACT], addr, h, COMPACT, &old);
	int rc = w == COMPACT ? put(s, &s->t[COMPACT], e, h, COMPACT, &old) :
				put(s, &s->t[WIDE], e, h, WIDE, &old);
	unlock(s);
	if (replaced && old.addr)
		*replaced = old;
	return rc;
}

bool ptrtab_lookup(uintptr_t addr, ptr_entry_t *out)
{
	uint64_t h = mix(addr);
	shard_t *s = shard_of(h);
	lock(s);
	size_t i = find(&s->t[COMPACT], addr, h, COMPACT);
	bool found = i != (size_t)-1;
	if (found) {
		*out = slot_get(&s->t[COMPACT], i, COMPACT);
	} else if ((i = find(&s->t[WIDE], addr, h, WIDE)) != (size_t)-1) {
		*out = slot_get(&s->t[WIDE], i, WIDE);
		found = true;
	}
	unlock(s);
	return found;
}

bool ptrtab_remove(uintptr_t addr, ptr_entry_t *out)
{
	uint64_t h = mix(addr);
	shard_t *s = shard_of(h);
	lock(s);
	bool found = tab_take(&s->t[COMPACT], addr, h, COMPACT, out) ||
		     (s->t[WIDE].used && tab_take(&s->t[WIDE], addr, h, WIDE, out));
	unlock(s);
	return found;
}

/* ---- unsized entries ---- */

#define GRAIN_SHIFT PTRTAB_GRAIN_SHIFT
#define LEAF_SHIFT PTRTAB_LEAF_SHIFT
#define ADDR_BITS PTRTAB_ADDR_BITS
#define NLEAVES ((size_t)1 << (ADDR_BITS - LEAF_SHIFT))
#define LEAF_WORDS PTRTAB_LEAF_WORDS
#define LINE_WORDS PTRTAB_LINE_WORDS
#define SUMMARY_WORDS PTRTAB_SUMMARY_WORDS
_Static_assert(LINE_WORDS == 1 << 3, "PTRTAB_SUMMARY_SHIFT counts 8 words a line");

typedef ptrtab_leaf_t leaf_t;

static _Atomic(_Atomic(leaf_t *) *) leaves;      /* NLEAVES pointers, on first mark */
static _Atomic uint64_t present[NLEAVES / 64];   /* a bit per leaf installed, for walks */
_Atomic bool ptrtab_held;
static size_t (*sizer)(void *);

void ptrtab_unsized_sizer(size_t (*size_of)(void *))
{
	sizer = size_of;
}

static void *install(_Atomic(void *) *slot, size_t bytes)
{
	void *p = atomic_load_explicit(slot, memory_order_acquire);
	if (p)
		return p;
	void *fresh = sys_alloc(bytes, true);
	if (!fresh)
		return NULL;
	if (atomic_compare_exchange_strong(slot, &p, fresh))
		return fresh;
	sys_free(fresh, bytes);
	return p;
}

/* The last leaf this thread used: a heap is mostly one leaf, so this saves two loads. */
__thread ptrtab_last_t ptrtab_last __attribute__((tls_model("initial-exec"))) = {
	.base = UINTPTR_MAX,
};

bool ptrtab_leaf_slow(uintptr_t addr, bool make)
{
	if (addr >> PTRTAB_ADDR_BITS)
		return false;
	_Atomic(leaf_t *) *dir = atomic_load_explicit(&leaves, memory_order_acquire);
	if (!dir) {
		if (!make)
			return false;
		dir = install((_Atomic(void *) *)&leaves, NLEAVES * sizeof *dir);
		if (!dir)
			return false;
	}
	_Atomic(leaf_t *) *slot = &dir[addr >> LEAF_SHIFT];
	leaf_t *l = atomic_load_explicit(slot, memory_order_acquire);
	if (!l && make) {
		/* before the leaf is published, so a walk never misses a published leaf */
		size_t i = addr >> LEAF_SHIFT;
		atomic_fetch_or(&present[i / 64], UINT64_C(1) << (i % 64));
		l = install((_Atomic(void *) *)slot, sizeof(leaf_t));
	}
	if (!l)
		return false;
	uintptr_t base = addr >> LEAF_SHIFT, start = base << LEAF_SHIFT;
	ptrtab_last.words = (uintptr_t)l->bits - ((start >> PTRTAB_WORD_SHIFT) << 3);
	ptrtab_last.lines = (uintptr_t)l->touched - ((start >> PTRTAB_SUMMARY_SHIFT) << 3);
	ptrtab_last.base = base;
	return true;
}

void ptrtab_unmark_wait(uintptr_t addr)
{
	shardlock_wait(&shard_of(mix(addr))->lock);   /* until ptrtab_unlock_all */
}

static void walk_leaf(uintptr_t base, leaf_t *l, void (*fn)(uintptr_t addr, void *arg),
		      void *arg)
{
	for (size_t sw = 0; sw < SUMMARY_WORDS; sw++) {
		uint64_t lines = atomic_load_explicit(&l->touched[sw], memory_order_relaxed);
		for (; lines; lines &= lines - 1) {
			size_t w0 = (sw * 64 + (size_t)__builtin_ctzll(lines)) * LINE_WORDS;
			for (size_t w = w0; w < w0 + LINE_WORDS; w++) {
				uint64_t v = atomic_load_explicit(&l->bits[w], memory_order_relaxed);
				for (; v; v &= v - 1) {
					size_t b = w * 64 + (size_t)__builtin_ctzll(v);
					fn(base | ((uintptr_t)b << GRAIN_SHIFT), arg);
				}
			}
		}
	}
}

/* Calls fn(addr, arg) for every marked address, in address order. */
static void walk_marks(void (*fn)(uintptr_t addr, void *arg), void *arg)
{
	_Atomic(leaf_t *) *dir = atomic_load_explicit(&leaves, memory_order_acquire);
	for (size_t pw = 0; dir && pw < NLEAVES / 64; pw++) {
		uint64_t bits = atomic_load(&present[pw]);
		for (; bits; bits &= bits - 1) {
			size_t i = pw * 64 + (size_t)__builtin_ctzll(bits);
			leaf_t *l = atomic_load_explicit(&dir[i], memory_order_acquire);
			if (l)
				walk_leaf((uintptr_t)i << LEAF_SHIFT, l, fn, arg);
		}
	}
}

static void count_mark(uintptr_t addr, void *arg)
{
	(*(size_t *)arg)++;
}

typedef struct {
	ptr_entry_t *out;
	size_t n, max;
} collect_t;

static void collect_mark(uintptr_t addr, void *arg)
{
	collect_t *c = arg;
	if (c->n < c->max) {
		size_t size = sizer ? sizer((void *)addr) : 0;
		c->out[c->n] = (ptr_entry_t){ .addr = addr, .size = size > PTRTAB_MAX_SIZE ?
							       PTRTAB_MAX_SIZE : size };
	}
	c->n++;
}

size_t ptrtab_count(void)
{
	/* racy sum without the locks: a hint for sizing, exact when nothing runs */
	size_t n = 0;
	for (int i = 0; i < NSHARDS; i++)
		for (int w = COMPACT; w <= WIDE; w++)
			n += __atomic_load_n(&shards[i].t[w].used, __ATOMIC_RELAXED);
	walk_marks(count_mark, &n);
	return n;
}

size_t ptrtab_slot_bytes(void)
{
	size_t bytes = 0;
	for (int i = 0; i < NSHARDS; i++)
		for (int w = COMPACT; w <= WIDE; w++)
			bytes += __atomic_load_n(&shards[i].t[w].n, __ATOMIC_RELAXED) * slot_bytes(w);
	return bytes;
}

static size_t collect_table(const table_t *t, int w, ptr_entry_t *out, size_t n, size_t max)
{
	for (size_t j = 0; j < t->n; j++) {
		if (!slot_addr(t, j, w))
			continue;
		if (n < max)
			out[n] = slot_get(t, j, w);
		n++;
	}
	return n;
}

size_t ptrtab_collect(ptr_entry_t *out, size_t max, bool held)
{
	size_t n = 0;
	for (int i = 0; i < NSHARDS; i++) {
		shard_t *s = &shards[i];
		if (!held)
			lock(s);
		n = collect_table(&s->t[COMPACT], COMPACT, out, n, max);
		n = collect_table(&s->t[WIDE], WIDE, out, n, max);
		if (!held)
			unlock(s);
	}
	collect_t c = { out, n, max };
	walk_marks(collect_mark, &c);
	return c.n;
}

void ptrtab_hold(void)
{
	atomic_store(&ptrtab_held, true);
	for (int i = 0; i < NSHARDS; i++)
		lock(&shards[i]);
}

static void adopt_table(table_t *t, int w, uint32_t stack,
			bool (*take)(uint32_t stack, uint64_t size))
{
	for (size_t j = 0; j < t->n; j++) {
		if (!slot_addr(t, j, w))
			continue;
		ptr_entry_t e = slot_get(t, j, w);
		if (e.stack || (w == COMPACT && stack >= C_STACK_LIMIT) || !take(stack, e.size))
			continue;
		e.stack = stack;
		slot_put(t, j, e, w);
	}
}

void ptrtab_adopt(uint32_t stack, bool (*take)(uint32_t stack, uint64_t size))
{
	for (int i = 0; i < NSHARDS; i++) {
		shard_t *s = &shards[i];
		lock(s);
		adopt_table(&s->t[COMPACT], COMPACT, stack, take);
		adopt_table(&s->t[WIDE], WIDE, stack, take);
		unlock(s);
	}
}

/* fork() from a signal handler that interrupted this thread inside the table: the shards it
 * holds stay its own (the interrupted code releases them, in the parent and in the child). */
static __thread uint64_t forking_skipped[NSHARDS / 64] __attribute__((tls_model("initial-exec")));

void ptrtab_lock_all(void)
{
	for (int i = 0; i < NSHARDS; i++) {
		bool mine = shardlock_mine(&shards[i].lock);
		if (mine)
			forking_skipped[i / 64] |= UINT64_C(1) << (i % 64);
		else
			lock(&shards[i]);
	}
}

static bool skipped(int i)
{
	return forking_skipped[i / 64] >> (i % 64) & 1;
}

void ptrtab_unlock_all(void)
{
	atomic_store(&ptrtab_held, false);
	for (int i = 0; i < NSHARDS; i++)
		if (!skipped(i))
			unlock(&shards[i]);
	memset(forking_skipped, 0, sizeof forking_skipped);
}

void ptrtab_reinit_locks(void)
{
	ptrtab_unlock_all();
}

bool ptrtab_holds_any(void)
{
	for (int i = 0; i < NSHARDS; i++)
		if (shardlock_mine(&shards[i].lock))
			return true;
	return false;
}
