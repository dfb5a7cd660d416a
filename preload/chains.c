/* chains.c: each thread's cache of unwound call chains (see chains.h).  A thread's table is
 * its own: only that thread reads or writes it, on its own stack, so a lookup takes no lock,
 * no fence and no bounds check (every word a chain checks was inside this thread's stack
 * when it was kept, and a thread's stack stays where it is).  A signal handler cannot run
 * this code while the thread is in it: the hooks pass a nested call straight through
 * (state.h).  A jump out of a handler may leave an entry half written, so an entry is
 * emptied first and its key written last.
 *
 * Tables are CHAIN_WAYS-way set-associative and start small; a thread that keeps evicting
 * chains gets a table four times larger (its chains moved over), up to MAX_SETS.  A
 * thread's table is freed when it exits (a pthread key's destructor).
 *
 * The facts of frames are the same for every thread (a frame's unwind rule belongs to its
 * code), so they are one table for the process: a frame learnt on one thread is known on
 * the others.  Each slot is written under its own sequence number (odd while written, a
 * writer that finds it odd gives up) and read optimistically: a reader copies the fact and
 * keeps it only if the number did not move. */
#include "chains.h"
#include "sys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define MIN_SETS 16u
#define MAX_SETS 1024u
#define EXITING CHAINS_EXITING

__thread chaintab_t *chains_mine __attribute__((tls_model("initial-exec")));

static pthread_key_t key;
static bool have_key;

static void on_thread_exit(void *arg)
{
	(void)arg;
	chaintab_t *t = chains_mine;
	chains_mine = EXITING;   /* a later allocation of this thread unwinds, uncached */
	atomic_signal_fence(memory_order_seq_cst);
	if (t && t != EXITING)
		sys_free(t, t->bytes);
}

void chains_init(void)
{
	have_key = pthread_key_create(&key, on_thread_exit) == 0;
}

static size_t entries_bytes(uint32_t sets)
{
	return sizeof(chaintab_t) + CHAIN_WAYS * (size_t)sets * sizeof(chain_t);
}

static size_t table_bytes(uint32_t sets)
{
	return entries_bytes(sets) + (size_t)sets * CHAIN_NOTES_PER_SET * sizeof(uint32_t);
}

static chain_t *entry_for(chaintab_t *t, uintptr_t s, uintptr_t r);

/* A grown table takes the smaller one's chains (not its notes). */
static void move_into(chaintab_t *to, const chaintab_t *from)
{
	for (size_t i = 0; i < CHAIN_WAYS * (size_t)(from->mask + 1); i++)
		if (from->e[i].slot0)
			*entry_for(to, from->e[i].slot0, from->e[i].ret0) = from->e[i];
}

/* This thread's table, made or grown if it should be; NULL when there is none. */
static chaintab_t *table(void)
{
	chaintab_t *t = chains_mine;
	if (t == EXITING)
		return NULL;
	if (t && (t->evicted < 2 * CHAIN_WAYS * (t->mask + 1) || t->mask + 1 >= MAX_SETS))
		return t;
	uint32_t sets = t ? 4 * (t->mask + 1) : MIN_SETS;
	chaintab_t *fresh = sys_alloc(table_bytes(sets), true);
	if (!fresh)
		return t;
	fresh->mask = sets - 1;
	fresh->bytes = table_bytes(sets);
	fresh->notes = sets * CHAIN_NOTES_PER_SET;
	fresh->seen = (uint32_t *)((char *)fresh + entries_bytes(sets));
	if (t)
		move_into(fresh, t);
	chains_mine = fresh;
	atomic_signal_fence(memory_order_seq_cst);
	if (t)
		sys_free(t, t->bytes);
	else if (have_key)
		pthread_setspecific(key, fresh);   /* any non-NULL value: the destructor runs */
	return fresh;
}

/* The entry to write: an empty one, else one evicted in turn. */
static chain_t *entry_for(chaintab_t *t, uintptr_t s, uintptr_t r)
{
	chain_t *c = &t->e[CHAIN_WAYS * chains_set(t, s, r)];
	for (int w = 0; w < CHAIN_WAYS; w++)
		if (!c[w].slot0)
			return &c[w];
	t->evicted++;
	return &c[t->turn++ % CHAIN_WAYS];
}

static uint32_t *seen_tag(chaintab_t *t, const uintptr_t *slot, char kind, uint32_t id,
			  uint32_t *want)
{
	uint64_t h = ((uint64_t)*slot ^ ((uint64_t)id << 8) ^ (uint64_t)(unsigned char)kind) *
		     UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)slot;
	h ^= h >> 31;
	*want = (uint32_t)(h >> 32) & ~UINT32_C(3);
	return &t->seen[h % t->notes];
}

/* The tag of a chain whose pinning failed (not tried again while it stays). */
#define UNPINNABLE 2u

bool chains_worth_pinning(const uintptr_t *slot, char kind, uint32_t id)
{
	chaintab_t *t = table();
	if (!t)
		return false;
	uint32_t want, *tag = seen_tag(t, slot, kind, id, &want);
	return *tag != (want | UNPINNABLE);
}

static inline void pin(chain_pins_t *p, uintptr_t at, uintptr_t want)
{
	if (p->n < 0)
		return;
	if (at < p->slot0 - sizeof(uintptr_t) || at > p->hi - sizeof(uintptr_t) ||
	    at - p->slot0 + sizeof(uintptr_t) > INT32_MAX || p->n >= CHAIN_CHECKS ||
	    *(const uintptr_t *)at != want) {
		p->n = -1;
		return;
	}
	p->off[p->n] = (int32_t)(at - p->slot0);
	p->val[p->n++] = want;
}

void chains_pin(chain_pins_t *p, uintptr_t at, uintptr_t want)
{
	pin(p, at, want);
}

/* The facts' table: FACT_SLOTS slots, a fact in one of FACT_PROBES from its hash.  A fact
 * is three words, each read and written whole. */
#define FACT_SLOTS 8192u
#define FACT_PROBES 4u
#define FACT_WORDS (sizeof(chain_fact_t) / sizeof(uint64_t))
_Static_assert(sizeof(chain_fact_t) == 3 * sizeof(uint64_t), "a fact is three words");

static struct fact_slot {
	_Atomic uint32_t seq;           /* odd while written */
	_Atomic uint64_t w[FACT_WORDS];
} facts[FACT_SLOTS];

static uint32_t fact_home(uintptr_t ip)
{
	return (uint32_t)(((uint64_t)ip * UINT64_C(0x9e3779b97f4a7c15)) >> 32);
}

/* Copy slot s's fact into *f; false when it was being written (or rewritten meanwhile). */
static inline bool fact_read(struct fact_slot *s, chain_fact_t *f)
{
	uint32_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (q & 1)
		return false;
	union {
		uint64_t w[FACT_WORDS];
		chain_fact_t f;
	} u;
	u.w[0] = atomic_load_explicit(&s->w[0], memory_order_relaxed);
	u.w[1] = atomic_load_explicit(&s->w[1], memory_order_relaxed);
	u.w[2] = atomic_load_explicit(&s->w[2], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != q)
		return false;
	*f = u.f;
	return true;
}

static inline __attribute__((always_inline)) bool fact_get(uintptr_t ip, chain_fact_t *f)
{
	uint32_t h = fact_home(ip);
	for (uint32_t i = 0; i < FACT_PROBES; i++) {
		struct fact_slot *s = &facts[(h + i) % FACT_SLOTS];
		if (atomic_load_explicit(&s->w[0], memory_order_relaxed) == ip)
			return fact_read(s, f) && f->ip == ip;
	}
	return false;
}

bool chains_fact(uintptr_t ip, chain_fact_t *f)
{
	return fact_get(ip, f);
}

void chains_learn(const chain_fact_t *f)
{
	if (!f->ip)
		return;
	/* its own slot, else an empty one, else the first (a fact seen lately is likelier to
	 * be asked for again than the one it replaces) */
	uint32_t h = fact_home(f->ip);
	struct fact_slot *to = NULL, *empty = NULL;
	for (uint32_t i = 0; i < FACT_PROBES && !to; i++) {
		struct fact_slot *s = &facts[(h + i) % FACT_SLOTS];
		uint64_t ip = atomic_load_explicit(&s->w[0], memory_order_relaxed);
		if (ip == f->ip)
			to = s;
		else if (!ip && !empty)
			empty = s;
	}
	chain_fact_t had;
	if (to && fact_read(to, &had) && had.ip == f->ip && had.cfa == f->cfa &&
	    had.fpsave == f->fpsave && had.ipsave == f->ipsave && had.how == f->how &&
	    had.fp0 == f->fp0)
		return;   /* known already: its cache line stays shared */
	if (!to)
		to = empty ? empty : &facts[h % FACT_SLOTS];
	uint32_t q = atomic_load_explicit(&to->seq, memory_order_relaxed);
	if ((q & 1) || !atomic_compare_exchange_strong_explicit(&to->seq, &q, q + 1,
								  memory_order_acquire,
								  memory_order_relaxed))
		return;   /* another thread writes it: its fact will do */
	atomic_thread_fence(memory_order_release);
	uint64_t w[FACT_WORDS];
	memcpy(w, f, sizeof w);
	for (size_t i = 0; i < FACT_WORDS; i++)
		atomic_store_explicit(&to->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&to->seq, q + 2, memory_order_release);
}

static bool in_stack(const chain_pins_t *p, uintptr_t at)
{
	return at >= p->slot0 - sizeof(uintptr_t) && at <= p->hi - sizeof(uintptr_t);
}

/* The unwinder's step over one frame, by its fact: from the frame's stack pointer and
 * frame pointer (held at p->fploc) to its caller's, whose return address is next_ret (0:
 * whatever the stack holds there, which *next_ret is given).  false when the fact does not
 * say. */
static inline __attribute__((always_inline)) bool step_by_fact(const chain_fact_t *f,
							  uintptr_t *next_ret,
							  chain_pins_t *p)
{
	uintptr_t fp = *(const uintptr_t *)p->fploc, cfa;
	if (f->how == CHAIN_FP) {
		pin(p, p->fploc, fp);
		cfa = fp + 2 * sizeof(uintptr_t);
	} else if (f->how == CHAIN_SP) {
		cfa = p->sp + (uintptr_t)(intptr_t)f->cfa;
	} else {
		return false;
	}
	uintptr_t at = cfa - f->ipsave;
	if (!*next_ret && in_stack(p, at))
		*next_ret = *(const uintptr_t *)at;
	pin(p, at, *next_ret);
	if (f->fpsave) {
		p->fploc = cfa - f->fpsave;
		if (!in_stack(p, p->fploc))
			p->n = -1;
	}
	p->sp = cfa;
	return true;
}

/* A walk starts at the first frame, whose frame pointer is where the hook pushed it, under
 * the slot. */
static void walk_start(chain_pins_t *p)
{
	p->sp = p->slot0 + sizeof(uintptr_t);
	p->fploc = p->slot0 - sizeof(uintptr_t);
}

int chains_pin_known(const uintptr_t *frames, int k, int depth, bool ended, chain_pins_t *p)
{
	if (k == 0)
		walk_start(p);
	for (; k < depth && p->n >= 0; k++) {
		if (k == depth - 1 && !ended)
			return depth;   /* cut at the depth asked: what lies beyond is not ours */
		chain_fact_t f;
		if (!fact_get(frames[k] + 1, &f))
			return k;
		if (k == depth - 1) {
			if (f.how != CHAIN_END)
				p->n = -1;
			else if (f.fp0)
				pin(p, p->fploc, 0);
		} else if (!step_by_fact(&f, &(uintptr_t){ frames[k + 1] + 1 }, p)) {
			p->n = -1;
		}
	}
	return depth;
}

int chains_walk_known(int max, uintptr_t *frames, chain_pins_t *p)
{
	walk_start(p);
	p->n = 0;
	uintptr_t ret = *(const uintptr_t *)p->slot0;
	for (int k = 0; k < max; k++) {
		/* below 0x4000 unw_backtrace stops, not counting it: asked of it */
		if (ret < 0x4000)
			return 0;
		frames[k] = ret - 1;
		if (k == max - 1)
			return max;   /* cut at the depth asked: what lies beyond is not ours */
		chain_fact_t f;
		if (!fact_get(ret, &f))
			return 0;
		if (f.how == CHAIN_END) {
			/* an end only where the frame pointer is 0 as it was when learnt */
			if (!f.fp0 || *(const uintptr_t *)p->fploc)
				return 0;
			pin(p, p->fploc, 0);
			return p->n < 0 ? 0 : k + 1;
		}
		ret = 0;
		if (!step_by_fact(&f, &ret, p) || p->n < 0)
			return 0;
	}
	return 0;
}

void chains_keep(const uintptr_t *slot, char kind, const int32_t *off, const uintptr_t *val,
		 int n, uint32_t id)
{
	chaintab_t *t = table();
	if (!t || !id)
		return;
	if (n < 0 || n > CHAIN_CHECKS) {
		uint32_t want, *tag = seen_tag(t, slot, kind, id, &want);
		*tag = want | UNPINNABLE;
		return;
	}
	uintptr_t s = (uintptr_t)slot, r = *slot;
	chain_t *c = entry_for(t, s, r);
	c->slot0 = 0;
	atomic_signal_fence(memory_order_seq_cst);
	int padded = (n + 3) & ~3;
	for (int i = 0; i < padded; i++) {
		c->off[i] = i < n ? off[i] : 0;
		c->val[i] = i < n ? val[i] : r;
	}
	c->quads = (uint8_t)(padded / 4);
	c->id = id;
	c->kind = kind;
	c->ret0 = r;
	atomic_signal_fence(memory_order_seq_cst);
	c->slot0 = s;
}
