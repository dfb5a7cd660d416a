/* chains.h: each thread's cache of the call chains it has unwound, so that an allocation
 * made again along a chain already seen is named without unwinding.  What identifies a
 * chain (which stack words to compare, and with what: its pins) stacks.c finds with the
 * unwinder, or this file from what the unwinder showed of each frame before (its facts);
 * this file keeps the pins and compares them. */
#ifndef ALLOCGUARD_CHAINS_H
#define ALLOCGUARD_CHAINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames a cached chain may have, and stack words it may check (a return address per frame
 * past the first, and a frame-pointer word per frame that keeps one). */
#define CHAIN_FRAMES 64
#define CHAIN_CHECKS 128
/* Chains per set: paths that share a key (the same innermost frame at the same place,
 * other callers further out) live side by side. */
#define CHAIN_WAYS 4
/* Notes of chains that could not be pinned, per set of the table. */
#define CHAIN_NOTES_PER_SET 32

/* The stack words an unwind from slot0 reads to find each frame, with what they held:
 * what chains_find compares to know the chain again.  n < 0: the chain cannot be pinned.
 * sp and fploc: where a walk over the chain is (chains_pin_known), the frame's stack
 * pointer (its callee's frame address) and where its frame pointer is kept. */
typedef struct {
	uintptr_t slot0, hi;            /* every word pinned lies in [slot0 - 8, hi) */
	uintptr_t sp, fploc;
	int n;
	int32_t off[CHAIN_CHECKS];
	uintptr_t val[CHAIN_CHECKS];
} chain_pins_t;

/* What an unwind step showed of the frame whose code is at a return address (its unwind
 * rule, the same each time): CHAIN_SP, its frame address (where its caller's stack pointer
 * was) is its stack pointer plus cfa; CHAIN_FP, its frame pointer plus two words;
 * CHAIN_END, the unwind stops there (fp0: on its frame pointer being 0).  fpsave: its
 * caller's frame pointer is kept at its frame address less fpsave (0: left in the
 * register); ipsave: the return address into its caller, at its frame address less ipsave. */
enum { CHAIN_SP = 1, CHAIN_FP, CHAIN_END };
typedef struct {
	uintptr_t ip;                   /* 0: no fact */
	int32_t cfa;
	uint16_t fpsave, ipsave;
	uint8_t how, fp0;
} chain_fact_t;

/* Once, before threads allocate: the key whose destructor frees a thread's cache. */
void chains_init(void);
typedef struct {
	uintptr_t slot0, ret0;          /* the key; slot0 == 0: empty */
	uint32_t id;
	uint8_t quads;                  /* checks, in groups of four */
	char kind;
	int32_t off[CHAIN_CHECKS];
	uintptr_t val[CHAIN_CHECKS];
} chain_t;

typedef struct {
	uint32_t mask;                  /* sets - 1 */
	uint32_t evicted;
	uint32_t turn;
	size_t bytes;
	uint32_t notes;                 /* sets * CHAIN_NOTES_PER_SET */
	uint32_t *seen;                 /* tags of chains not pinnable, after e[] */
	chain_t e[];                    /* CHAIN_WAYS per set */
} chaintab_t;

/* This thread's table: NULL before its first chain, CHAINS_EXITING once it is exiting. */
extern __thread chaintab_t *chains_mine __attribute__((tls_model("initial-exec")));
#define CHAINS_EXITING ((chaintab_t *)1)

static inline uint32_t chains_set(const chaintab_t *t, uintptr_t slot0, uintptr_t ret0)
{
	uint64_t h = (uint64_t)ret0 * UINT64_C(0x9e3779b97f4a7c15);
	return ((uint32_t)(h >> 32) ^ (uint32_t)(slot0 >> 3)) & t->mask;
}

static inline uintptr_t chains_word(uintptr_t slot0, int32_t off)
{
	return *(const uintptr_t *)(slot0 + (intptr_t)off);
}

/* The id of the chain cached for this thread whose first return address sits at slot (the
 * word that holds the return address into the program) with kind, if every word it checks
 * holds what it held; 0 otherwise.  Inline: it is most of the hot path of a recorded
 * allocation. */
static inline uint32_t chains_find(const uintptr_t *slot, char kind)
{
	chaintab_t *t = chains_mine;
	if (t == NULL || t == CHAINS_EXITING)
		return 0;
	uintptr_t s = (uintptr_t)slot, r = *slot;
	const chain_t *c = &t->e[CHAIN_WAYS * chains_set(t, s, r)];
	for (unsigned w = 0; w < CHAIN_WAYS; w++, c++) {
		if (c->slot0 != s || c->ret0 != r || c->kind != kind)
			continue;
		/* Branch-free over each group of four, one branch a group: a chain is found
		 * again far more often than not, and a chain of another path that shares the
		 * key is left at its first group that differs.  Unused checks are padded with
		 * (0, ret0): the key's own word. */
		uintptr_t diff = 0;
		const int32_t *off = c->off;
		const uintptr_t *val = c->val;
		for (unsigned q = c->quads; q && !diff; q--, off += 4, val += 4)
			diff = (chains_word(s, off[0]) ^ val[0]) | (chains_word(s, off[1]) ^ val[1]) |
			       (chains_word(s, off[2]) ^ val[2]) | (chains_word(s, off[3]) ^ val[3]);
		if (!diff)
			return c->id;
	}
	return 0;
}

/* A chain this thread just unwound (stack id) from slot: false when pinning it failed
 * lately (it is not tried again while its note stays). */
bool chains_worth_pinning(const uintptr_t *slot, char kind, uint32_t id);

/* Pin p->n more words (p->n < 0 once one is out of [slot0 - 8, hi) or does not hold want). */
void chains_pin(chain_pins_t *p, uintptr_t at, uintptr_t want);
/* Remember a fact of an unwind (its ip: the return address it is about), for every thread:
 * the facts are one table shared by all, read without a lock. */
void chains_learn(const chain_fact_t *f);
/* The fact learned of ip, copied to *f; false when none is known. */
bool chains_fact(uintptr_t ip, chain_fact_t *f);
/* Pin a chain (frames as stacks.c gives them: return addresses less one, the first at
 * p->slot0) from the facts learned, without unwinding, from frame k (where p's walk is;
 * at k == 0 the walk starts at the slot) on.  Returns the first frame whose fact is not
 * known (the caller steps it with the unwinder, moves p's walk to the next frame, and
 * calls again from there), or depth when the chain is pinned or p->n < 0.  ended: the
 * chain ends because the unwind did, not at the depth asked. */
int chains_pin_known(const uintptr_t *frames, int k, int depth, bool ended, chain_pins_t *p);

/* The chain from p->slot0 (up to max frames, given as stacks.c gives them), walked and
 * pinned by the facts learned alone, as unw_backtrace would walk it: its depth, or 0 when
 * a frame's fact is not known or does not say (the caller unwinds).  The walk reads only
 * [slot0 - 8, hi). */
int chains_walk_known(int max, uintptr_t *frames, chain_pins_t *p);

/* Cache a chain just unwound on this thread's own stack: slot as above,
 * and n words to check, at slot + off[i] (off may be -8: the word under slot), each to
 * hold val[i].  Every word lies in [slot - 8, hi).  n < 0: the chain cannot be pinned
 * (noted, see chains_worth_pinning). */
void chains_keep(const uintptr_t *slot, char kind, const int32_t *off, const uintptr_t *val,
		 int n, uint32_t id);

#endif
