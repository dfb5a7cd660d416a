/* cap.h: the memory cap, and the one way into the totals.  The modules that give memory a
 * meaning (heap.c for the malloc family, mapcharge.c for mappings) tell the cap what
 * happens with four calls; the cap decides, fires the edge-triggered warn / critical / cap
 * events (message; the log's event and a snapshot request go to the outbox), carries out
 * the on-cap action, and keeps the tables: the totals and peaks (account.h) and the
 * threads' credit and unflushed counts (credit.h).  Nothing below calls back up here.
 *
 *   cap_charge   before the memory is obtained: admitted under the cap (0), or ENOMEM
 *                and no other thread ever saw it;
 *   cap_refund   the charged memory was not obtained after all;
 *   cap_hold     the charged memory was obtained: it counts in its kind, peaks follow;
 *   cap_release  the program gave memory back.
 *
 * A charge is admitted into the admitted total only if it fits under the cap
 * (compare-and-swap, account.h), and counted in its kind (what snapshots and peaks show)
 * only once held, so the totals and peaks only ever hold memory the program got.  The
 * mapping table counts its deltas before the system call (CAP_NOW) and refunds them if the
 * call fails.  Under a cap each thread spends its own credit first (credit.h), so a common
 * heap charge writes no shared cache line; every credit is taken back before a refusal or
 * an event, so neither comes early or late. */
#ifndef ALLOCGUARD_CAP_H
#define ALLOCGUARD_CAP_H

#include "account.h"
#include "credit.h"
#include "options.h"
#include "outbox.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a charge, hold or release is made (bits). */
enum {
	CAP_NOW = 1,     /* counted in its kind at the charge, before the memory is obtained
			  * (the mapping table); refunded out of the kind too */
	CAP_COMMIT = 2,  /* a reservation made accessible: may use the recovery headroom */
	CAP_QUIET = 4,   /* more for memory already obtained (an allocator's rounding): no
			  * events, nothing refused to the program; ENOMEM tells the caller to
			  * count the block at its admitted size instead */
	CAP_UNDO = 8,    /* a release taken back (its system call failed): no limit, no
			  * events; counted at once (implies CAP_NOW) */
	CAP_LOCAL = 16,  /* heap bytes counted as the thread's unflushed bytes first (credit.h):
			  * the shared total lags by less than CREDIT_FLUSH per thread */
	CAP_CREDIT = 32, /* under a cap, the thread's credit (credit.h) is spent first by a
			  * charge and refilled by a release: the heap's common calls */
};

/* Once, in the constructor (and the unit tests). */
void cap_init(const ag_config_t *c);

/* The limit in bytes, 0 without a cap; set by cap_init and cap_set. */
extern _Atomic uint64_t cap_limit;

static inline bool cap_on(void)
{
	return atomic_load_explicit(&cap_limit, memory_order_relaxed) != 0;
}

/* For the inline calls below only. */
int cap_charge_slow(acc_kind_t kind, uint64_t bytes, uint64_t asked, const char *what,
		    unsigned how);
void cap_count(acc_kind_t kind, int64_t delta);
void cap_give_back(uint64_t bytes);

/* Charge bytes of kind before the memory is obtained: 0, or ENOMEM when refused.  `asked`
 * is what the program asked for, for messages (bytes may be clamped); `what` names the
 * call ("malloc", "mmap").  errno is kept.  Without a cap, a charge that is not CAP_NOW is
 * nothing; with one and CAP_CREDIT, the thread's credit is used first.
 *
 * Recovery headroom (CAP_COMMIT): runtimes such as V8 react to a refused allocation by
 * collecting garbage, which commits memory and makes small allocations, and they treat a
 * failure there as fatal.  So with on-cap fail, once a request has been refused, commits
 * and small allocations (up to headroom/16 each) may go past the cap by a headroom of
 * cap/16.  The first request to cross the cap is always refused, so a program learns of
 * the cap within one allocation of it; the headroom closes again when usage falls back
 * (re-arm). */
static inline __attribute__((always_inline)) int
cap_charge(acc_kind_t kind, uint64_t bytes, uint64_t asked, const char *what, unsigned how)
{
	if (!(how & (CAP_NOW | CAP_UNDO)) &&
	    (!cap_on() || ((how & CAP_CREDIT) && credit_take(bytes))))
		return 0;
	return cap_charge_slow(kind, bytes, asked, what, how);
}

/* A charge made with the same kind, bytes and how whose memory was not obtained. */
void cap_refund(acc_kind_t kind, uint64_t bytes, unsigned how);

/* The memory of a charge was obtained: into its kind (with CAP_LOCAL, the thread's count
 * first), and the peaks follow when the shared total rose. */
static inline __attribute__((always_inline)) void
cap_hold(acc_kind_t kind, uint64_t bytes, unsigned how)
{
	int64_t delta = (int64_t)bytes;
	credit_slot_t *s = how & CAP_LOCAL ? credit_mine : NULL;
	if (s && !(delta = credit_count_in(s, delta)))
		return;
	cap_count(kind, delta);
}

/* Memory of kind given back (held, or charged with CAP_NOW): out of its kind (CAP_LOCAL:
 * the thread's count first), and out of the admitted total (CAP_CREDIT: into the thread's
 * credit first). */
static inline __attribute__((always_inline)) void
cap_release(acc_kind_t kind, uint64_t bytes, unsigned how)
{
	int64_t delta = -(int64_t)bytes;
	if (!(how & CAP_LOCAL) || !credit_mine)
		cap_count(kind, delta);
	else if ((delta = credit_count_in(credit_mine, delta)))
		cap_count(kind, delta);
	if (!(how & CAP_CREDIT)) {
		cap_give_back(bytes);
		return;
	}
	if (!cap_on())
		return;
	credit_slot_t *s = credit_mine;
	int64_t back;
	if (s)
		back = credit_give_in(s, bytes);
	else if (!credit_give_slow(bytes, &back))
		back = (int64_t)bytes;
	if (back)
		cap_give_back((uint64_t)back);
}

/* Raise the peaks to the totals: for memory counted at its charge (CAP_NOW), once really
 * obtained. */
void cap_peaks(void);
/* In a fork child: the credit and unflushed heap bytes (credit.h) of the threads it does
 * not have go back to the totals (a thread's own go back at its exit). */
void cap_postfork_child(void);

/* The pressure level: 0 below warn, 1 warn, 2 critical, 3 at the cap (a request was
 * refused, or with on-cap warn allowed past it).  Levels follow the edge-triggered events,
 * so a level falls only once usage is 5% of the cap below its threshold.  Every change is
 * posted to the outbox (outbox_pressure). */
int cap_level(void);
/* Change the cap at run time (0 = none); warn and critical keep their percentages.  Levels
 * the new cap no longer explains fall, levels it does are reached now. */
void cap_set(uint64_t bytes);
/* A mapping's cap event (a refusal, or with on-cap warn a request let past the cap) is
 * decided under maptab's lock, where its stack cannot be taken: it is told (message, V
 * line with the stack, snapshot) by this call once the lock is released.  Nothing when
 * none is waiting; errno kept. */
void cap_tell_deferred(void);

#endif
