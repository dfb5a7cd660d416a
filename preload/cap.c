/* cap.c: the cap's decisions, thresholds, edge-triggered events and on-cap actions, and the
 * one owner of the totals (see cap.h): account.h and credit.h are written from here only.
 * Runs on the allocation hot path: without a cap, a count; with one, far below the
 * thresholds, a use of the thread's credit (credit.h), handed out here; else a
 * compare-and-swap and compares. */
#include "cap.h"
#include "credit.h"
#include "fmt.h"
#include "outbox.h"
#include "refusal.h"
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Set at init and by cap_set (allocguard_set_cap) while other threads allocate: atomics,
 * read relaxed on the hot path (plain loads on x86_64). */
_Atomic uint64_t cap_limit;
static _Atomic uint64_t cap_bytes, warn_bytes, crit_bytes, rearm_gap, headroom;
/* Credit is handed out only while the admitted total stays at or under this: below every
 * threshold, so no event or refusal can be due while any is used.  0: none handed out. */
static _Atomic uint64_t credit_limit;
static int on_cap;
static _Atomic uint64_t warn_pct, crit_pct;

/* Which events have fired and not been re-armed: bit per ag_cap_event_t. */
static _Atomic unsigned fired;

static uint64_t pct_of(uint64_t bytes, uint64_t pct)
{
	return bytes / 100 * pct + bytes % 100 * pct / 100;
}

/* Every thread's credit back into the admitted total's free room, before a decision that
 * must be made on what the program holds (an event, a refusal).  Whether any came back. */
static bool reclaim(void)
{
	if (!credit_outstanding())
		return false;
	int64_t c = credit_reclaim();
	if (!c)
		return false;
	account_unadmit((uint64_t)c);
	return true;
}

/* The cap and the thresholds that follow it.  Credit handed out under the old limits is
 * taken back first: spent under a lower cap it would let the program hold more than the
 * cap, and the new thresholds are judged on what the program holds.  New credit is handed
 * out again only once every limit is the new one. */
static void set_limits(uint64_t bytes)
{
	atomic_store(&credit_limit, 0);
	reclaim();
	uint64_t warn = pct_of(bytes, warn_pct), crit = pct_of(bytes, crit_pct);
	warn_bytes = warn;
	crit_bytes = crit;
	/* Re-arm only after usage falls 5% of the cap below a threshold, so a program hovering
	 * at a threshold gets one event per real crossing, not one per allocation. */
	rearm_gap = bytes / 20;
	headroom = bytes / 16;
	if (bytes && !cap_limit) {
		/* credit handed out against an earlier admitted total is not in the new one:
		 * spent now, it would be counted nowhere */
		credit_reclaim();
		account_keep_admitted();
	}
	cap_bytes = bytes;
	cap_limit = bytes;
	uint64_t below = warn < crit ? warn : crit;
	below = below < bytes ? below : bytes;
	atomic_store(&credit_limit, below > 0 ? below - 1 : 0);
}

static void settle(int64_t credit, int64_t unflushed);

void cap_init(const ag_config_t *c)
{
	credit_init(settle);   /* at a thread's exit */
	on_cap = (int)c->on_cap;
	warn_pct = c->warn;
	crit_pct = c->critical;
	set_limits(c->cap);
}

/* The level the fired events make (allocguard.h's 0..3). */
static int level_of(unsigned f)
{
	return f & (1u << AG_CAP_EV_CAP) ? 3 : f & (1u << AG_CAP_EV_CRITICAL) ? 2 :
	       f & (1u << AG_CAP_EV_WARN) ? 1 : 0;
}

/* Refusals of single requests far beyond the cap: at most one report a second. */
static bool far_refusal_due(void)
{
	static _Atomic uint64_t last;
	uint64_t t = sys_now_ns(), prev = atomic_load_explicit(&last, memory_order_relaxed);
	if (prev && t - prev < 1000000000u)
		return false;
	return atomic_compare_exchange_strong(&last, &prev, t);
}

/* First to set the bit reports the crossing. */
static bool fire(int kind)
{
	unsigned bit = 1u << kind;
	unsigned was = atomic_fetch_or_explicit(&fired, bit, memory_order_relaxed);
	if (was & bit)
		return false;
	if (level_of(was | bit) != level_of(was))
		outbox_pressure(level_of(was | bit), account_admitted());
	return true;
}

/* What happened at a threshold: the figures the message and the V line give. */
typedef struct {
	int kind;                /* ag_cap_event_t */
	uint64_t before, now;    /* tracked (admitted) before the request, and with it */
	const char *what;
	uint64_t request;
	bool acted;              /* refused, aborted or allowed by on-cap warn; not headroom */
	uint32_t stack;          /* a refused request's (refusal.h) */
} crossing_t;

static void say_threshold(const crossing_t *c)
{
	char buf[800];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	if (c->kind == AG_CAP_EV_CAP) {
		fmt_str(&f, "cap: ");
		fmt_str(&f, c->what);
		fmt_str(&f, " of ");
		fmt_size(&f, c->request);
		fmt_str(&f, " would make tracked memory ");
		fmt_size_apart(&f, c->now, cap_bytes);
		fmt_str(&f, ", over the ");
		fmt_size_apart(&f, cap_bytes, c->now);
		fmt_str(&f, " cap");
		fmt_str(&f, !c->acted ? ": allowed within the recovery headroom" :
			    on_cap == AG_ON_CAP_FAIL ? ": refused with ENOMEM" :
			    on_cap == AG_ON_CAP_ABORT ? ": writing a final snapshot, then aborting" :
			    ": allowed (on-cap warn)");
		refusal_where(&f, c->stack);
	} else {
		fmt_str(&f, c->kind == AG_CAP_EV_WARN ? "warning: " : "critical: ");
		fmt_str(&f, "tracked memory ");
		fmt_size(&f, c->now);
		fmt_str(&f, " reached ");
		fmt_u64(&f, c->kind == AG_CAP_EV_WARN ? warn_pct : crit_pct);
		fmt_str(&f, "% of the ");
		fmt_size(&f, cap_bytes);
		fmt_str(&f, " cap");
	}
	fmt_say(buf);
}

/* The V line holds what was tracked: for a request refused, the total before it (the total
 * with it never existed). */
static void tell(crossing_t *c, char stack_kind)
{
	bool refused = c->kind == AG_CAP_EV_CAP && c->acted && on_cap != AG_ON_CAP_WARN;
	if (c->kind == AG_CAP_EV_CAP && stack_kind)
		c->stack = refusal_stack(stack_kind);
	say_threshold(c);
	outbox_cap_event(c->kind, refused ? c->before : c->now, c->request, c->stack);
	outbox_request(c->kind == AG_CAP_EV_WARN ? AG_REASON_WARN :
		       c->kind == AG_CAP_EV_CRITICAL ? AG_REASON_CRITICAL : AG_REASON_CAP);
}

/* A mapping's cap event, kept until maptab's lock is released (cap_tell_deferred). */
static __thread crossing_t deferred __attribute__((tls_model("initial-exec")));
static __thread char deferred_kind __attribute__((tls_model("initial-exec")));

/* Heap requests are admitted with no lock held, and their stack is taken at once.  Mappings
 * are charged under maptab's lock, where unwinding (which may wait for the loader's lock)
 * is not taken: their cap event is told once the lock is released.  Except on-cap abort,
 * which aborts before that. */
static void crossed(crossing_t *c, acc_kind_t k)
{
	if (c->kind == AG_CAP_EV_CAP && k != ACC_HEAP && on_cap != AG_ON_CAP_ABORT) {
		deferred = *c;
		deferred_kind = k == ACC_SWAPPED ? AG_KIND_SWAP : AG_KIND_MMAP;
		return;
	}
	tell(c, k == ACC_HEAP ? AG_KIND_HEAP : 0);
}

void cap_tell_deferred(void)
{
	char kind = deferred_kind;
	if (!kind)
		return;
	int saved = errno;
	deferred_kind = 0;
	crossing_t c = deferred;
	tell(&c, kind);
	if (c.acted && on_cap == AG_ON_CAP_FAIL && !ag_unsafe)
		outbox_sync(AG_REASON_CAP);
	errno = saved;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* After a refusal near the cap (on-cap fail), small requests and commits may use the
 * recovery headroom (cap.h). */
static bool headroom_open(uint64_t bytes, bool commit)
{
	if (on_cap != AG_ON_CAP_FAIL)
		return false;
	bool refused_before = atomic_load_explicit(&fired, memory_order_relaxed) & (1u << AG_CAP_EV_CAP);
	return refused_before && (commit || bytes <= headroom / 16);
}

/* Admit bytes with a chunk of credit for this thread, when both stay under credit_limit. */
static bool admit_with_credit(uint64_t bytes)
{
	uint64_t before, limit = atomic_load_explicit(&credit_limit, memory_order_relaxed);
	if (bytes >= limit || !credit_slot() ||
	    account_admit(bytes + CREDIT_CHUNK, limit, &before) != 0)
		return false;
	int64_t back;
	if (!credit_give(CREDIT_CHUNK, &back))
		back = CREDIT_CHUNK;
	if (back)
		account_unadmit((uint64_t)back);
	return true;
}

static bool event_due(uint64_t now)
{
	unsigned f = atomic_load_explicit(&fired, memory_order_relaxed);
	return (now >= warn_bytes && !(f & (1u << AG_CAP_EV_WARN))) ||
	       (now >= crit_bytes && !(f & (1u << AG_CAP_EV_CRITICAL))) ||
	       (now > cap_bytes && !(f & (1u << AG_CAP_EV_CAP)));
}

static void thresholds(uint64_t before, uint64_t now, const char *what, uint64_t asked,
		       acc_kind_t k)
{
	if (now < warn_bytes)
		return;
	crossing_t c = { AG_CAP_EV_WARN, before, now, what, asked, true, 0 };
	if (fire(AG_CAP_EV_WARN))
		crossed(&c, k);
	c.kind = AG_CAP_EV_CRITICAL;
	if (now >= crit_bytes && fire(AG_CAP_EV_CRITICAL))
		crossed(&c, k);
}

/* Admission is decided on the admitted total with compare-and-swap (account_admit), so a
 * request that would pass the cap is never added, not even for an instant: racing threads
 * cannot be refused because of it, and it can never show in a peak. */
static int admit(uint64_t bytes, uint64_t asked, const char *what, bool commit, acc_kind_t k)
{
	uint64_t before;
	if (!cap_bytes)
		return 0;
	if (ag_ready() && admit_with_credit(bytes))
		return 0;
	if (!ag_ready() || on_cap == AG_ON_CAP_WARN) {
		account_admit(bytes, UINT64_MAX, &before);
		if (!ag_ready())
			return 0;
	} else if (account_admit(bytes, cap_bytes, &before) != 0 &&
		   !(reclaim() && account_admit(bytes, cap_bytes, &before) == 0)) {
		/* A refusal latches the cap event (and opens the headroom) only when usage was
		 * already near the cap; one huge request refused at low usage is reported but
		 * latches nothing, so a later climb to the cap is a crossing of its own. */
		bool near = before + rearm_gap >= cap_bytes;
		if (near && headroom_open(bytes, commit) &&
		    account_admit(bytes, cap_bytes + headroom, &before) == 0) {
			crossing_t c = { AG_CAP_EV_CAP, before, before + bytes, what, asked, false, 0 };
			if (fire(AG_CAP_EV_CAP))
				crossed(&c, k);
			return 0;
		}
		crossing_t c = { AG_CAP_EV_CAP, before, sat_add(before, asked), what, asked, true, 0 };
		if (near ? fire(AG_CAP_EV_CAP) : far_refusal_due()) {
			crossed(&c, k);
			/* the program may abort on the NULL it is about to get: the refusal is
			 * on disk first (not while a lock of ours is held: the mapping path) */
			if (on_cap == AG_ON_CAP_FAIL && !ag_unsafe)
				outbox_sync(AG_REASON_CAP);
		}
		if (on_cap == AG_ON_CAP_ABORT) {
			outbox_sync(AG_REASON_ABORT);
			abort();
		}
		return ENOMEM;
	}
	uint64_t now = before + bytes;
	/* an event is judged on what the program holds, without the threads' credit */
	if (event_due(now) && reclaim())
		now = account_admitted();
	/* the thresholds crossed on the way first: a reader sees warn, critical, then cap */
	thresholds(before, now, what, asked, k);
	crossing_t c = { AG_CAP_EV_CAP, before, now, what, asked, true, 0 };
	if (now > cap_bytes && (before + rearm_gap >= cap_bytes ? fire(AG_CAP_EV_CAP) : far_refusal_due()))
		crossed(&c, k);   /* on-cap warn */
	return 0;
}

/* Admit bytes more for memory already obtained beyond what was admitted, quietly: nothing
 * is refused to the program, so no events. */
static int admit_quietly(uint64_t bytes)
{
	uint64_t before;
	if (!cap_bytes)
		return 0;
	return account_admit(bytes, ag_ready() && on_cap != AG_ON_CAP_WARN ? cap_bytes : UINT64_MAX,
			     &before);
}

int cap_charge_slow(acc_kind_t kind, uint64_t bytes, uint64_t asked, const char *what,
		    unsigned how)
{
	int saved = errno;   /* an event's message may touch it */
	int rc = 0;
	uint64_t before;
	if (how & CAP_UNDO)
		account_admit(bytes, UINT64_MAX, &before);
	else if (how & CAP_QUIET)
		rc = admit_quietly(bytes);
	else
		rc = admit(bytes, asked, what, how & CAP_COMMIT, kind);
	if (rc == 0 && (how & (CAP_NOW | CAP_UNDO)))
		account_count(kind, (int64_t)bytes);
	errno = saved;
	return rc;
}

/* Re-arm the events once usage fell well below their thresholds. */
static void rearm(void)
{
	unsigned f = atomic_load_explicit(&fired, memory_order_relaxed);
	if (!f)
		return;
	int64_t held = credit_held();
	uint64_t now = account_admitted();
	now = held > 0 && (uint64_t)held < now ? now - (uint64_t)held : now;
	unsigned clear = 0;
	if ((f & (1u << AG_CAP_EV_WARN)) && now + rearm_gap < warn_bytes)
		clear |= 1u << AG_CAP_EV_WARN;
	if ((f & (1u << AG_CAP_EV_CRITICAL)) && now + rearm_gap < crit_bytes)
		clear |= 1u << AG_CAP_EV_CRITICAL;
	if ((f & (1u << AG_CAP_EV_CAP)) && now + rearm_gap < cap_bytes)
		clear |= 1u << AG_CAP_EV_CAP;
	if (!clear)
		return;
	unsigned was = atomic_fetch_and_explicit(&fired, ~clear, memory_order_relaxed);
	if (level_of(was & ~clear) != level_of(was))
		outbox_pressure(level_of(was & ~clear), now);
}

void cap_refund(acc_kind_t kind, uint64_t bytes, unsigned how)
{
	if (how & (CAP_NOW | CAP_UNDO))
		account_count(kind, -(int64_t)bytes);   /* out of the kind first */
	else if (!cap_on())
		return;   /* nothing was admitted */
	account_unadmit(bytes);
	rearm();
}

void cap_count(acc_kind_t kind, int64_t delta)
{
	account_count(kind, delta);
	if (delta > 0)
		account_raise_peaks();
}

void cap_give_back(uint64_t bytes)
{
	account_unadmit(bytes);
	rearm();
}

void cap_peaks(void)
{
	account_raise_peaks();
}

/* A thread's credit and unflushed heap bytes go back to the totals. */
static void settle(int64_t credit, int64_t unflushed)
{
	if (credit)
		account_unadmit((uint64_t)credit);
	if (unflushed)
		account_count(ACC_HEAP, unflushed);
}

int cap_level(void)
{
	return level_of(atomic_load_explicit(&fired, memory_order_relaxed));
}

/* Events fired under the old cap that the new one does not explain are re-armed; those it
 * does are fired (with their messages), as if usage had just got there. */
void cap_set(uint64_t bytes)
{
	set_limits(bytes);
	if (!bytes) {
		unsigned was = atomic_exchange(&fired, 0);
		if (level_of(was))
			outbox_pressure(0, account_tracked());
		return;
	}
	rearm();
	uint64_t now = account_admitted();
	thresholds(now, now, "set_cap", 0, ACC_MAPPED);
}

void cap_postfork_child(void)
{
	int64_t credit, unflushed;
	credit_postfork_child(&credit, &unflushed);
	settle(credit, unflushed);
}
