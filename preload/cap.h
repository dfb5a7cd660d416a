/* cap.h: the memory cap.  Decides whether a charge may proceed, fires the edge-triggered
 * warn / critical / cap events (message; the log's event and a snapshot request go to the
 * outbox) and carries out the on-cap action.  Counting itself is account.c's. */
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

void cap_init(const ag_config_t *c);

/* Admit a request of bytes before the memory is obtained (account.h): 0, or ENOMEM when
 * refused, and then no other thread ever saw it.  `asked` is what the program asked for,
 * for messages (bytes may be clamped); `what` names the call ("malloc", "mmap").  Then
 * either cap_obtained (the memory was obtained: it counts in its kind) or cap_unadmit (it
 * was not). */
int cap_admit(uint64_t bytes, uint64_t asked, const char *what);
void cap_unadmit(uint64_t bytes);

static inline void cap_obtained(acc_kind_t kind, uint64_t bytes)
{
	account_obtained(kind, bytes);
}

/* The limit in bytes, 0 without a cap; set once by cap_init.  Without a cap, admitting is
 * nothing and releasing is only counting, so the heap hooks ask cap_on() first. */
extern _Atomic uint64_t cap_limit;

static inline bool cap_on(void)
{
	return atomic_load_explicit(&cap_limit, memory_order_relaxed) != 0;
}
/* The pressure level: 0 below warn, 1 warn, 2 critical, 3 at the cap (a request was
 * refused, or with on-cap warn allowed past it).  Levels follow the edge-triggered events,
 * so a level falls only once usage is 5% of the cap below its threshold.  Every change is
 * posted to the outbox (outbox_pressure). */
int cap_level(void);
/* Change the cap at run time (0 = none); warn and critical keep their percentages.  Levels
 * the new cap no longer explains fall, levels it does are reached now. */
void cap_set(uint64_t bytes);
/* Admit bytes more for memory already obtained beyond what was admitted (an allocator's
 * rounding, when a block is counted at its usable size), quietly: 0, or ENOMEM when they
 * would take the admitted total past the cap (the caller then counts the block at its
 * admitted size instead).  No events: nothing is refused to the program. */
int cap_admit_slack(uint64_t bytes);
/* Admit and count at once, for callers that count memory before asking for it (the
 * mapping table).  Returns 0 (charged) or ENOMEM (refused: nothing charged). */
int cap_charge(acc_kind_t kind, uint64_t bytes, const char *what);
/* The same for committing memory the program reserved earlier (mprotect of a PROT_NONE
 * reservation).
 *
 * Recovery headroom: runtimes such as V8 react to a refused allocation by collecting
 * garbage, which commits memory and makes small allocations, and they treat a failure
 * there as fatal.  So with on-cap fail, once a request has been refused, commits and small
 * allocations (up to headroom/16 each) may go past the cap by a headroom of cap/16.  The
 * first request to cross the cap is always refused, so a program learns of the cap within
 * one allocation of it; the headroom closes again when usage falls back (re-arm). */
int cap_charge_commit(acc_kind_t kind, uint64_t bytes, const char *what);
void cap_release(acc_kind_t kind, uint64_t bytes);
/* A mapping's cap event (a refusal, or with on-cap warn a request let past the cap) is
 * decided under maptab's lock, where its stack cannot be taken: it is told (message, V
 * line with the stack, snapshot) by this call once the lock is released.  Nothing when
 * none is waiting; errno kept. */
void cap_tell_deferred(void);
/* The cap's side of freeing heap bytes whose kind was already counted down: they become
 * the thread's credit (credit.h), or go back to the admitted total (cap_free_back). */
void cap_free_back(uint64_t bytes);
static inline void cap_free_heap(uint64_t bytes)
{
	int64_t back;
	if (!credit_give(bytes, &back))
		cap_free_back(bytes);
	else if (back)
		cap_free_back((uint64_t)back);
}

#endif
