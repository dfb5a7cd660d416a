/* chains.c: each thread's cache of unwound call chains (see chains.h).  A thread's table is
 * its own: only that thread reads or writes it, on its own stack, so a lookup takes no lock,
 * no fence and no bounds check (every word a chain checks was inside this thread's stack
 * when it was kept, and a thread's stack stays where it is).  A signal handler cannot run
 * this code while the thread is in it: the hooks pass a nested call straight through
 * (state.h).  A jump out of a handler may leave an entry half written, so an entry is
 * emptied first and its key written last.
 *
 * Tables are CHAIN_WAYS-way set-associative and start small; a thread that keeps evicting
 * chains gets a table four times larger (its chains and facts moved over), up to MAX_SETS.
 * A thread's table is freed when it exits (a pthread key's destructor). */
#include "chains.h"
#include "sys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

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
	size_t notes = (size_t)sets * CHAIN_NOTES_PER_SET;
	return entries_bytes(sets) + notes * (sizeof(uint32_t) + sizeof(chain_fact_t));
}

static chain_t *entry_for(chaintab_t *t, uintptr_t s, uintptr_t r);
static chain_fact_t *fact_slot(chaintab_t *t, uintptr_t ip);

/* A grown table takes the smaller one's chains and facts (not its notes of misses). */
static void move_into(chaintab_t *to, const chaintab_t *from)
{
	for (size_t i = 0; i < CHAIN_WAYS * (size_t)(from->mask + 1); i++)
		if (from->e[i].slot0)
			*entry_for(to, from->e[i].slot0, from->e[i].ret0) = from->e[i];
	for (uint32_t i = 0; i < from->notes; i++)
		if (from->facts[i].ip)
			*fact_slot(to, from->facts[i].ip) = from->facts[i];
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
	fresh->facts = (chain_fact_t *)(fresh->seen + fresh->notes);
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

/* Tags: SEEN once missed, UNPINNABLE when pinning it failed (not tried again). */
#define SEEN 1u
#define UNPINNABLE 2u

bool chains_worth_pinning(const uintptr_t *slot, char kind, uint32_t id)
{
	chaintab_t *t = table();
	if (!t)
		return false;
	uint32_t want, *tag = seen_tag(t, slot, kind, id, &want);
	if (*tag == (want | SEEN))
		return true;
	if (*tag != (want | UNPINNABLE))
		*tag = want | SEEN;
	return false;
}

void chains_pin(chain_pins_t *p, uintptr_t at, uintptr_t want)
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

static chain_fact_t *fact_slot(chaintab_t *t, uintptr_t ip)
{
	uint64_t h = (uint64_t)ip * UINT64_C(0x9e3779b97f4a7c15);
	return &t->facts[(h >> 32) % t->notes];
}

void chains_learn(const chain_fact_t *f)
{
	chaintab_t *t = table();
	if (t && f->ip)
		*fact_slot(t, f->ip) = *f;
}

const chain_fact_t *chains_fact(uintptr_t ip)
{
	chaintab_t *t = chains_mine;
	if (t == NULL || t == EXITING)
		return NULL;
	const chain_fact_t *f = fact_slot(t, ip);
	return f->ip == ip ? f : NULL;
}

/* The unwinder's step over one frame, by its fact: from the frame's stack pointer and
 * frame pointer (held at *fploc) to its caller's.  false when the fact does not say. */
static bool step_by_fact(const chain_fact_t *f, uintptr_t next_ret, uintptr_t *sp,
			 uintptr_t *fploc, chain_pins_t *p)
{
	uintptr_t fp = *(const uintptr_t *)*fploc, cfa;
	if (f->how == CHAIN_FP) {
		chains_pin(p, *fploc, fp);
		cfa = fp + 2 * sizeof(uintptr_t);
	} else if (f->how == CHAIN_SP) {
		if (!f->info)
			chains_pin(p, *fploc, fp);
		cfa = *sp + (uintptr_t)(intptr_t)f->cfa;
	} else {
		return false;
	}
	chains_pin(p, cfa - f->ipsave, next_ret);
	if (f->fpsave) {
		*fploc = cfa - f->fpsave;
		if (*fploc < p->slot0 - sizeof(uintptr_t) || *fploc > p->hi - sizeof(uintptr_t))
			p->n = -1;
	}
	*sp = cfa;
	return true;
}

bool chains_pin_known(const uintptr_t *frames, int depth, bool ended, chain_pins_t *p)
{
	/* the first frame's frame pointer is where the hook pushed it, under the slot */
	uintptr_t sp = p->slot0 + sizeof(uintptr_t), fploc = p->slot0 - sizeof(uintptr_t);
	for (int k = 0; k < depth && p->n >= 0; k++) {
		const chain_fact_t *f = chains_fact(frames[k] + 1);
		if (!f)
			return false;
		if (k == depth - 1) {
			if (!ended)
				return true;   /* cut at the depth asked: what lies beyond is not ours */
			if (f->how != CHAIN_END)
				return false;
			if (f->fp0)
				chains_pin(p, fploc, 0);
			return true;
		}
		if (!step_by_fact(f, frames[k + 1] + 1, &sp, &fploc, p))
			return false;
	}
	return true;
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
