/* ptrtab.c: sharded linear-probing hash table of live blocks (see ptrtab.h).  Each shard has
 * its own mutex and table; tables live on internal memory and double at 70% load.  Deletion
 * shifts later entries back, so there are no tombstones.  Unsized entries are bits in a
 * two-level bitmap: a directory of 1 GiB leaves, each with a summary of its touched pages
 * so that a walk reads only those. */
#include "ptrtab.h"
#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define NSHARDS 256
#define MIN_SLOTS 256

typedef struct {
	_Alignas(64) pthread_mutex_t lock;
	ptr_entry_t *slots;
	void *mem;        /* the mapping slots sit in, at a per-shard cache colour */
	size_t mask;      /* slots - 1, or 0 before the first insert */
	size_t used;
} shard_t;

static shard_t shards[NSHARDS] = {
#define S1 { .lock = PTHREAD_MUTEX_INITIALIZER }
#define S8 S1, S1, S1, S1, S1, S1, S1, S1
#define S64 S8, S8, S8, S8, S8, S8, S8, S8
	S64, S64, S64, S64
#undef S64
#undef S8
#undef S1
};

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

static inline size_t home(uint64_t h, size_t mask)
{
	return (size_t)(h >> 8) & mask;
}

static void place(ptr_entry_t *slots, size_t mask, ptr_entry_t e)
{
	size_t i = home(mix(e.addr), mask);
	while (slots[i].addr)
		i = (i + 1) & mask;
	slots[i] = e;
}

/* Every table starts on a page; without an offset, slot i of every shard would compete
 * for the same cache sets. */
static size_t colour(const shard_t *s)
{
	return (size_t)(s - shards) % 64 * 64;
}

static int grow(shard_t *s)
{
	size_t n = s->mask ? (s->mask + 1) * 2 : MIN_SLOTS;
	char *mem = sys_alloc(n * sizeof(ptr_entry_t) + colour(s), false);
	if (!mem)
		return ENOMEM;
	ptr_entry_t *slots = (ptr_entry_t *)(mem + colour(s));
	if (s->mask) {
		for (size_t i = 0; i <= s->mask; i++)
			if (s->slots[i].addr)
				place(slots, n - 1, s->slots[i]);
		sys_free(s->mem, (s->mask + 1) * sizeof *slots + colour(s));
	}
	s->mem = mem;
	s->slots = slots;
	s->mask = n - 1;
	return 0;
}

int ptrtab_insert(uintptr_t addr, uint64_t size, uint32_t stack, ptr_entry_t *replaced)
{
	uint64_t h = mix(addr);
	shard_t *s = shard_of(h);
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	if (!s->mask || (s->used + 1) * 10 > (s->mask + 1) * 7) {
		rc = grow(s);
		if (rc && s->mask && s->used < s->mask)
			rc = 0;   /* could not grow, but there is still room */
	}
	if (!rc) {
		size_t i = home(h, s->mask);
		while (s->slots[i].addr && s->slots[i].addr != addr)
			i = (i + 1) & s->mask;
		if (!s->slots[i].addr)
			s->used++;
		else if (replaced)
			*replaced = s->slots[i];
		s->slots[i].addr = addr;
		s->slots[i].size = size > PTRTAB_MAX_SIZE ? PTRTAB_MAX_SIZE : size;
		s->slots[i].stack = stack > PTRTAB_MAX_STACK ? 0 : stack;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static ptr_entry_t *find(shard_t *s, uintptr_t addr, uint64_t h)
{
	if (!s->mask)
		return NULL;
	size_t i = home(h, s->mask);
	while (s->slots[i].addr) {
		if (s->slots[i].addr == addr)
			return &s->slots[i];
		i = (i + 1) & s->mask;
	}
	return NULL;
}

bool ptrtab_lookup(uintptr_t addr, ptr_entry_t *out)
{
	uint64_t h = mix(addr);
	shard_t *s = shard_of(h);
	pthread_mutex_lock(&s->lock);
	ptr_entry_t *e = find(s, addr, h);
	if (e)
		*out = *e;
	pthread_mutex_unlock(&s->lock);
	return e != NULL;
}

bool ptrtab_remove(uintptr_t addr, ptr_entry_t *out)
{
	uint64_t h = mix(addr);
	shard_t *s = shard_of(h);
	pthread_mutex_lock(&s->lock);
	ptr_entry_t *e = find(s, addr, h);
	if (!e) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	*out = *e;
	/* Backward-shift deletion: pull later members of the probe run into the hole. */
	size_t hole = (size_t)(e - s->slots), j = hole;
	for (;;) {
		j = (j + 1) & s->mask;
		if (!s->slots[j].addr)
			break;
		size_t k = home(mix(s->slots[j].addr), s->mask);
		/* Move j into the hole unless its home lies cyclically in (hole, j]. */
		bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
		if (!stays) {
			s->slots[hole] = s->slots[j];
			hole = j;
		}
	}
	s->slots[hole].addr = 0;
	s->used--;
	pthread_mutex_unlock(&s->lock);
	return true;
}

/* ---- unsized entries ---- */

#define GRAIN_SHIFT 3                      /* a bit per 8 bytes: tcmalloc aligns to 8 */
#define LEAF_SHIFT 30
#define ADDR_BITS 48
#define NLEAVES ((size_t)1 << (ADDR_BITS - LEAF_SHIFT))
#define LEAF_WORDS ((size_t)1 << (LEAF_SHIFT - GRAIN_SHIFT - 6))   /* 16 MiB of bits */
#define LINE_WORDS 8                       /* words per cache line of bits */
#define SUMMARY_WORDS (LEAF_WORDS / LINE_WORDS / 64)

typedef struct {
	_Atomic uint64_t touched[SUMMARY_WORDS];   /* a bit per line of bits ever written */
	_Atomic uint64_t bits[LEAF_WORDS];
} leaf_t;

static _Atomic(_Atomic(leaf_t *) *) leaves;      /* NLEAVES pointers, on first mark */
static _Atomic bool held;
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
static __thread uintptr_t last_base = UINTPTR_MAX;
static __thread leaf_t *last_leaf;

static leaf_t *leaf_slow(uintptr_t addr, bool make)
{
	_Atomic(leaf_t *) *dir = atomic_load_explicit(&leaves, memory_order_acquire);
	if (!dir) {
		if (!make)
			return NULL;
		dir = install((_Atomic(void *) *)&leaves, NLEAVES * sizeof *dir);
		if (!dir)
			return NULL;
	}
	_Atomic(leaf_t *) *slot = &dir[addr >> LEAF_SHIFT];
	leaf_t *l = atomic_load_explicit(slot, memory_order_acquire);
	if (!l && make)
		l = install((_Atomic(void *) *)slot, sizeof(leaf_t));
	if (l) {
		last_base = addr >> LEAF_SHIFT;
		last_leaf = l;
	}
	return l;
}

static inline leaf_t *leaf_of(uintptr_t addr, bool make)
{
	if (__builtin_expect(addr >> LEAF_SHIFT == last_base, 1))
		return last_leaf;
	return leaf_slow(addr, make);
}

static inline size_t bit_of(uintptr_t addr)
{
	return (addr & (((uintptr_t)1 << LEAF_SHIFT) - 1)) >> GRAIN_SHIFT;
}

int ptrtab_mark(uintptr_t addr)
{
	if (addr >> ADDR_BITS)
		return ENOMEM;
	leaf_t *l = leaf_of(addr, true);
	if (!l)
		return ENOMEM;
	size_t b = bit_of(addr), w = b >> 6;
	uint64_t m = UINT64_C(1) << (b & 63);
	size_t ln = w / LINE_WORDS;
	uint64_t lm = UINT64_C(1) << (ln & 63);
	if (!(atomic_load_explicit(&l->touched[ln >> 6], memory_order_relaxed) & lm))
		atomic_fetch_or_explicit(&l->touched[ln >> 6], lm, memory_order_relaxed);
	uint64_t old = atomic_fetch_or_explicit(&l->bits[w], m, memory_order_relaxed);
	return old & m ? EEXIST : 0;
}

bool ptrtab_unmark(uintptr_t addr)
{
	if (addr >> ADDR_BITS)
		return false;
	leaf_t *l = leaf_of(addr, false);
	if (!l)
		return false;
	size_t b = bit_of(addr);
	uint64_t m = UINT64_C(1) << (b & 63);
	/* seq_cst with the load of held and with the store in ptrtab_collect: either the walk
	 * does not see this bit, or we see held and wait for the scan to finish */
	uint64_t old = atomic_fetch_and(&l->bits[b >> 6], ~m);
	if (!(old & m))
		return false;
	if (atomic_load(&held)) {
		shard_t *s = shard_of(mix(addr));
		pthread_mutex_lock(&s->lock);
		pthread_mutex_unlock(&s->lock);
	}
	return true;
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
	for (size_t i = 0; dir && i < NLEAVES; i++) {
		leaf_t *l = atomic_load_explicit(&dir[i], memory_order_acquire);
		if (l)
			walk_leaf((uintptr_t)i << LEAF_SHIFT, l, fn, arg);
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
		n += __atomic_load_n(&shards[i].used, __ATOMIC_RELAXED);
	walk_marks(count_mark, &n);
	return n;
}

size_t ptrtab_collect(ptr_entry_t *out, size_t max, bool hold)
{
	size_t n = 0;
	if (hold)
		atomic_store(&held, true);
	for (int i = 0; i < NSHARDS; i++) {
		shard_t *s = &shards[i];
		pthread_mutex_lock(&s->lock);
		for (size_t j = 0; s->mask && j <= s->mask; j++) {
			if (!s->slots[j].addr)
				continue;
			if (n < max)
				out[n] = s->slots[j];
			n++;
		}
		if (!hold)
			pthread_mutex_unlock(&s->lock);
	}
	collect_t c = { out, n, max };
	walk_marks(collect_mark, &c);
	return c.n;
}

void ptrtab_adopt(uint32_t stack, bool (*take)(uint32_t stack, uint64_t size))
{
	for (int i = 0; i < NSHARDS; i++) {
		shard_t *s = &shards[i];
		pthread_mutex_lock(&s->lock);
		for (size_t j = 0; s->mask && j <= s->mask; j++) {
			if (!s->slots[j].addr || s->slots[j].stack)
				continue;
			if (take(stack, s->slots[j].size))
				s->slots[j].stack = stack;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

void ptrtab_lock_all(void)
{
	for (int i = 0; i < NSHARDS; i++)
		pthread_mutex_lock(&shards[i].lock);
}

void ptrtab_unlock_all(void)
{
	atomic_store(&held, false);
	for (int i = 0; i < NSHARDS; i++)
		pthread_mutex_unlock(&shards[i].lock);
}

void ptrtab_reinit_locks(void)
{
	atomic_store(&held, false);
	for (int i = 0; i < NSHARDS; i++)
		pthread_mutex_init(&shards[i].lock, NULL);
}
