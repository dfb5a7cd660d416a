/* ptrtab.c: sharded linear-probing hash table of live blocks (see ptrtab.h).  Each shard has
 * its own mutex and table; tables live on internal memory and double at 70% load.  Deletion
 * shifts later entries back, so there are no tombstones. */
#include "ptrtab.h"
#include "sys.h"

#include <errno.h>
#include <pthread.h>
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

size_t ptrtab_count(void)
{
	/* racy sum without the locks: a hint for sizing, exact when nothing runs */
	size_t n = 0;
	for (int i = 0; i < NSHARDS; i++)
		n += __atomic_load_n(&shards[i].used, __ATOMIC_RELAXED);
	return n;
}

size_t ptrtab_collect(ptr_entry_t *out, size_t max, bool hold)
{
	size_t n = 0;
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
	return n;
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
	for (int i = 0; i < NSHARDS; i++)
		pthread_mutex_unlock(&shards[i].lock);
}

void ptrtab_reinit_locks(void)
{
	for (int i = 0; i < NSHARDS; i++)
		pthread_mutex_init(&shards[i].lock, NULL);
}
