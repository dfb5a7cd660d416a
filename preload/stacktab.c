/* stacktab.c: lock-free stack interning (see stacktab.h).  Records are bump-allocated from
 * internal chunks and never freed; an open-addressing index maps hashes to records, and a
 * two-level array maps ids to records.  Inserting is one CAS on an empty index slot.
 *
 * The index has two levels so a small program pays for a small one (2 MiB, resident as
 * soon as a few thousand stacks are spread over it): a stack goes to the big second level
 * only when its whole probe window in the first is taken.  Slots are never emptied, so a
 * lookup that meets an empty slot in the first level knows the stack is nowhere. */
#include "stacktab.h"
#include "check.h"
#include "fmt.h"
#include "peak.h"
#include "sys.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

typedef struct {
	_Atomic(_Atomic(stack_rec_t *) *) slots;   /* allocated on first use */
	uint32_t bits;
	uint32_t window;                            /* probes before moving on */
} level_t;

static level_t levels[2] = {
	{ .bits = 18, .window = 64 },               /* 256K slots, 2 MiB */
	{ .bits = 22, .window = 1u << 22 },         /* 4M slots, 32 MiB, for huge programs */
};
#define MAX_STACKS ((1u << 22) / 10 * 7)
#define IDS_PER_PAGE 65536u
#define ID_PAGES (MAX_STACKS / IDS_PER_PAGE + 1)
#define CHUNK_BYTES (4u << 20)

static _Atomic(_Atomic(stack_rec_t *) *) id_pages[ID_PAGES];
static _Atomic uint32_t next_id = 1;

static pthread_mutex_t chunk_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(char *) chunk_cur;
static _Atomic size_t chunk_used;
static _Atomic int full_said;

static uint64_t hash_frames(char kind, const uintptr_t *frames, int depth)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ (uint64_t)(unsigned char)kind;
	for (int i = 0; i < depth; i++) {
		h ^= frames[i];
		h *= UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	return h ? h : 1;
}

static _Atomic(stack_rec_t *) *level_slots(level_t *lv)
{
	_Atomic(stack_rec_t *) *p = atomic_load_explicit(&lv->slots, memory_order_acquire);
	if (p)
		return p;
	size_t bytes = ((size_t)1 << lv->bits) * sizeof(stack_rec_t *);
	_Atomic(stack_rec_t *) *fresh = sys_alloc(bytes, true);
	if (!fresh)
		return NULL;
	if (atomic_compare_exchange_strong(&lv->slots, &p, fresh))
		return fresh;
	sys_free(fresh, bytes);
	return p;
}

/* Bump allocation from the current chunk; a new chunk under a lock when it runs out. */
static void *rec_alloc(size_t bytes)
{
	bytes = (bytes + 15) & ~(size_t)15;
	for (;;) {
		char *chunk = atomic_load_explicit(&chunk_cur, memory_order_acquire);
		if (chunk) {
			size_t off = atomic_fetch_add_explicit(&chunk_used, bytes, memory_order_relaxed);
			if (off + bytes <= CHUNK_BYTES)
				return chunk + off;
		}
		pthread_mutex_lock(&chunk_lock);
		if (atomic_load_explicit(&chunk_cur, memory_order_relaxed) == chunk) {
			char *fresh = sys_alloc(CHUNK_BYTES, true);
			if (!fresh) {
				pthread_mutex_unlock(&chunk_lock);
				return NULL;
			}
			atomic_store_explicit(&chunk_used, 0, memory_order_relaxed);
			atomic_store_explicit(&chunk_cur, fresh, memory_order_release);
		}
		pthread_mutex_unlock(&chunk_lock);
	}
}

static bool publish_id(uint32_t id, stack_rec_t *rec)
{
	uint32_t page = id / IDS_PER_PAGE;
	_Atomic(stack_rec_t *) *p = atomic_load_explicit(&id_pages[page], memory_order_acquire);
	if (!p) {
		_Atomic(stack_rec_t *) *fresh = sys_alloc(IDS_PER_PAGE * sizeof *fresh, true);
		if (!fresh)
			return false;
		_Atomic(stack_rec_t *) *expected = NULL;
		if (atomic_compare_exchange_strong(&id_pages[page], &expected, fresh)) {
			p = fresh;
		} else {
			sys_free(fresh, IDS_PER_PAGE * sizeof *fresh);
			p = expected;
		}
	}
	atomic_store_explicit(&p[id % IDS_PER_PAGE], rec, memory_order_release);
	return true;
}

static bool same(const stack_rec_t *r, uint64_t h, char kind, const uintptr_t *frames, int depth)
{
	return r->hash == h && r->kind == kind && r->depth == depth &&
	       memcmp(r->frames, frames, (size_t)depth * sizeof *frames) == 0;
}

static uint32_t table_full(void)
{
	if (!atomic_exchange(&full_said, 1))
		fmt_say("stack table full: further new call stacks are counted under no stack");
	return 0;
}

/* A new record for the stack, published under a fresh id; NULL when out of room. */
static stack_rec_t *new_record(uint64_t h, char kind, const uintptr_t *frames, int depth)
{
	uint32_t id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	if (id >= MAX_STACKS)
		return NULL;
	AG_ASSERT(depth >= 0 && depth <= UINT16_MAX);
	size_t sizes = kind == AG_KIND_HEAP ? AG_SIZE_BUCKETS * sizeof(uint64_t) : 0;
	stack_rec_t *r = rec_alloc(sizeof *r + (size_t)depth * sizeof *frames + sizes);
	if (!r)
		return NULL;
	memset(r, 0, sizeof *r);   /* the sizes: fresh chunk memory is zero */
	r->hash = h;
	r->id = id;
	r->depth = (uint16_t)depth;
	r->kind = kind;
	memcpy(r->frames, frames, (size_t)depth * sizeof *frames);
	return publish_id(id, r) ? r : NULL;
}

uint32_t stacktab_intern(char kind, const uintptr_t *frames, int depth)
{
	uint64_t h = hash_frames(kind, frames, depth);
	stack_rec_t *mine = NULL;
	for (int l = 0; l < 2; l++) {
		_Atomic(stack_rec_t *) *slots = level_slots(&levels[l]);
		if (!slots)
			return table_full();
		uint32_t mask = (1u << levels[l].bits) - 1;
		uint32_t i = (uint32_t)(h >> (l * 20)) & mask;
		for (uint32_t probes = 0; probes < levels[l].window; probes++, i = (i + 1) & mask) {
			stack_rec_t *r = atomic_load_explicit(&slots[i], memory_order_acquire);
			if (r) {
				if (same(r, h, kind, frames, depth))
					return r->id;
				continue;
			}
			if (!mine && !(mine = new_record(h, kind, frames, depth)))
				return table_full();
			stack_rec_t *expected = NULL;
			if (atomic_compare_exchange_strong_explicit(&slots[i], &expected, mine,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return mine->id;
			if (same(expected, h, kind, frames, depth))
				return expected->id;   /* another thread won; our record stays unused */
		}
	}
	return table_full();
}

void stacktab_lock(void) { pthread_mutex_lock(&chunk_lock); }
void stacktab_unlock(void) { pthread_mutex_unlock(&chunk_lock); }
bool stacktab_trylock(void) { return pthread_mutex_trylock(&chunk_lock) == 0; }
void stacktab_reinit_lock(void) { pthread_mutex_init(&chunk_lock, NULL); }

stack_rec_t *stacktab_get(uint32_t id)
{
	if (id == 0 || id >= MAX_STACKS)
		return NULL;
	_Atomic(stack_rec_t *) *p = atomic_load_explicit(&id_pages[id / IDS_PER_PAGE],
							 memory_order_acquire);
	stack_rec_t *r = p ? atomic_load_explicit(&p[id % IDS_PER_PAGE], memory_order_acquire) :
			     NULL;
	AG_ASSERT(!r || r->id == id);   /* an id names one record for the process's life */
	return r;
}

uint32_t stacktab_limit(void)
{
	uint32_t n = atomic_load_explicit(&next_id, memory_order_relaxed);
	return n < MAX_STACKS ? n : MAX_STACKS;
}

/* Before the first change after the peak moved, what is live now is what was live at the
 * peak.  One thread claims the epoch with a CAS and copies; the copy is published after
 * the figures, so a reader that sees the epoch published reads them whole. */
static void keep_peak(stack_rec_t *r)
{
	uint64_t g = peak_epoch();
	uint64_t e = atomic_load_explicit(&r->peak_epoch, memory_order_relaxed);
	if (e >= g || !atomic_compare_exchange_strong_explicit(&r->peak_epoch, &e, g,
							       memory_order_acq_rel,
							       memory_order_relaxed))
		return;
	stack_totals_t t;
	stacktab_read(r, &t);
	atomic_store_explicit(&r->peak_bytes, (uint64_t)t.live_bytes, memory_order_relaxed);
	atomic_store_explicit(&r->peak_count, (uint64_t)t.live_count, memory_order_relaxed);
	atomic_store_explicit(&r->peak_pub, g, memory_order_release);
}

/* Add to a stack's allocated or freed figures (live = allocated - freed); the record, or
 * NULL when there is none. */
static inline __attribute__((always_inline)) stack_rec_t *count_into(uint32_t id,
								     uint64_t bytes,
								     uint64_t count, bool freed)
{
	stack_rec_t *r = stacktab_get(id);
	if (!r)
		return NULL;
	keep_peak(r);
	if (bytes)
		atomic_fetch_add_explicit(freed ? &r->free_bytes : &r->alloc_bytes, bytes,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(freed ? &r->free_count : &r->alloc_count, count,
				  memory_order_relaxed);
	return r;
}

void stacktab_alloc(uint32_t id, uint64_t bytes, uint64_t count)
{
	count_into(id, bytes, count, false);
}

void stacktab_alloc_sized(uint32_t id, uint64_t bytes, uint64_t count, uint64_t size)
{
	stack_rec_t *r = count_into(id, bytes, count, false);
	_Atomic uint64_t *sizes = r ? stacktab_sizes(r) : NULL;
	if (sizes)
		atomic_fetch_add_explicit(&sizes[ag_size_bucket(size)], count, memory_order_relaxed);
}

void stacktab_free(uint32_t id, uint64_t bytes, uint64_t count)
{
	count_into(id, bytes, count, true);
}

void stacktab_note_refused(uint32_t id)
{
	stack_rec_t *r = stacktab_get(id);
	if (r)
		atomic_store_explicit(&r->refused, 1, memory_order_release);
}

void stacktab_temporary(uint32_t id, uint64_t count)
{
	stack_rec_t *r = stacktab_get(id);
	if (r)
		atomic_fetch_add_explicit(&r->temp_count, count, memory_order_relaxed);
}

void stacktab_read(const stack_rec_t *r, stack_totals_t *t)
{
	/* frees are read first: a racing alloc/free pair then errs towards live, never below 0 */
	uint64_t fb = atomic_load_explicit(&r->free_bytes, memory_order_acquire);
	uint64_t fc = atomic_load_explicit(&r->free_count, memory_order_acquire);
	t->total_bytes = atomic_load_explicit(&r->alloc_bytes, memory_order_acquire);
	t->total_count = atomic_load_explicit(&r->alloc_count, memory_order_acquire);
	t->temp_count = atomic_load_explicit(&r->temp_count, memory_order_acquire);
	if (t->temp_count > t->total_count)
		t->temp_count = t->total_count;
	t->live_bytes = t->total_bytes >= fb ? (int64_t)(t->total_bytes - fb) : 0;
	t->live_count = t->total_count >= fc ? (int64_t)(t->total_count - fc) : 0;
}

void stacktab_read_peak(const stack_rec_t *r, uint64_t epoch, int64_t *bytes, int64_t *count)
{
	if (atomic_load_explicit(&r->peak_pub, memory_order_acquire) == epoch) {
		*bytes = (int64_t)atomic_load_explicit(&r->peak_bytes, memory_order_relaxed);
		*count = (int64_t)atomic_load_explicit(&r->peak_count, memory_order_relaxed);
		return;
	}
	stack_totals_t t;
	stacktab_read(r, &t);
	*bytes = t.live_bytes;
	*count = t.live_count;
}
