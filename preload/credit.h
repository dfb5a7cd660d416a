/* credit.h: what a thread keeps for itself so that a common heap call touches no shared
 * cache line.  Two per-thread figures, each in a slot others can read:
 *   credit     bytes already admitted under the cap (account.h's admitted total) that the
 *              thread may hand to its own allocations without asking the shared total;
 *              its frees give bytes back here, and above CREDIT_MAX they go back.
 *   unflushed  heap bytes the thread counted (with sampling, cap.h's CAP_LOCAL) that the
 *              shared heap total does not hold yet; flushed once past CREDIT_FLUSH either
 *              way, so the shared total lags by less than CREDIT_FLUSH per thread.
 * This file only keeps the figures; cap.c alone moves them (the inline calls of cap.h use
 * the fast ones here), and account.c reads the unflushed sum.  The invariant cap.c keeps
 * with them:
 *   admitted total = bytes the program holds or is being given + the sum of all credits,
 * so handing out credit never lets the program hold more than the cap (no late refusal),
 * and taking every credit back (credit_reclaim) before a refusal or a threshold event
 * makes those decisions on what the program really holds (none early either). */
#ifndef ALLOCGUARD_CREDIT_H
#define ALLOCGUARD_CREDIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CREDIT_CHUNK (256u << 10)    /* admitted at once for a thread */
#define CREDIT_MAX (2 * CREDIT_CHUNK) /* more than this is given back */
#define CREDIT_FLUSH (256 << 10)     /* unflushed bytes a thread may hold, either way */

typedef struct {
	_Alignas(64) _Atomic int64_t credit;   /* any thread may take it all (exchange) */
	_Atomic int64_t unflushed;             /* written by the owner only */
	_Atomic int state;                     /* free, or claimed by a thread */
} credit_slot_t;

extern __thread credit_slot_t *credit_mine __attribute__((tls_model("initial-exec")));

/* Ready the thread-exit hand-back (once, in the constructor); before it, and in a thread
 * that finds no free slot, every call here declines and the callers count exactly. */
void credit_init(void (*on_exit)(int64_t credit, int64_t unflushed));
/* This thread's slot, claimed on first use; NULL when there is none to claim. */
credit_slot_t *credit_slot(void);

/* Use bytes of the credit of s (this thread's slot): true, or false with nothing changed. */
static inline bool credit_take_in(credit_slot_t *s, uint64_t bytes)
{
	if (atomic_load_explicit(&s->credit, memory_order_relaxed) < (int64_t)bytes)
		return false;
	int64_t old = atomic_fetch_sub_explicit(&s->credit, (int64_t)bytes, memory_order_relaxed);
	if (__builtin_expect(old >= (int64_t)bytes, 1))
		return true;
	/* reclaimed meanwhile: undo (a reclaim that saw the dip accounts for it, credit.c) */
	atomic_fetch_add_explicit(&s->credit, (int64_t)bytes, memory_order_relaxed);
	return false;
}

/* The same with this thread's slot, if it has one. */
static inline bool credit_take(uint64_t bytes)
{
	credit_slot_t *s = credit_mine;
	return s && credit_take_in(s, bytes);
}

/* Add bytes to this thread's credit (already admitted; false without a slot).  *back is
 * what must go back to the admitted total (the credit was above CREDIT_MAX), else 0. */
bool credit_give_slow(uint64_t bytes, int64_t *back);
/* Add bytes to the credit of s (this thread's slot); what must go back, else 0. */
static inline int64_t credit_give_in(credit_slot_t *s, uint64_t bytes)
{
	int64_t v = atomic_fetch_add_explicit(&s->credit, (int64_t)bytes, memory_order_relaxed) +
		    (int64_t)bytes;
	if (__builtin_expect(v <= (int64_t)CREDIT_MAX, 1))
		return 0;
	return atomic_exchange_explicit(&s->credit, 0, memory_order_relaxed);
}

static inline bool credit_give(uint64_t bytes, int64_t *back)
{
	credit_slot_t *s = credit_mine;
	if (!s)
		return credit_give_slow(bytes, back);
	*back = credit_give_in(s, bytes);
	return true;
}

/* Count bytes (negative: released) as unflushed heap bytes of s (this thread's slot).
 * Returns what must go into the shared total now (then no longer unflushed), else 0. */
static inline int64_t credit_count_in(credit_slot_t *s, int64_t bytes)
{
	int64_t v = atomic_load_explicit(&s->unflushed, memory_order_relaxed) + bytes;
	/* one unsigned compare for -CREDIT_FLUSH < v < CREDIT_FLUSH */
	if (__builtin_expect((uint64_t)(v + CREDIT_FLUSH - 1) <= 2 * (uint64_t)CREDIT_FLUSH - 2, 1)) {
		atomic_store_explicit(&s->unflushed, v, memory_order_relaxed);
		return 0;
	}
	atomic_store_explicit(&s->unflushed, 0, memory_order_relaxed);
	return v;
}

/* The same with this thread's slot: false without one (count them exactly instead). */
static inline bool credit_count(int64_t bytes, int64_t *flush)
{
	credit_slot_t *s = credit_mine;
	if (!s)
		return false;
	*flush = credit_count_in(s, bytes);
	return true;
}

/* Take back every thread's credit; returns the sum (may be below zero for an instant, when
 * a credit_take was undoing itself: the caller gives the sum back to the admitted total
 * as it is, and the invariant holds). */
int64_t credit_reclaim(void);
/* Whether any thread may hold credit (a cheap test before credit_reclaim). */
bool credit_outstanding(void);
/* The sum of every thread's credit, read without taking it (racy). */
int64_t credit_held(void);
/* The sum of every thread's unflushed bytes (racy: each slot read once). */
int64_t credit_unflushed(void);

/* fork: in the child only the forking thread is left; the others' slots are emptied into
 * *credit and *unflushed for the caller to settle, and freed. */
void credit_postfork_child(int64_t *credit, int64_t *unflushed);

#endif
