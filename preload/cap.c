/* cap.c: cap thresholds, edge-triggered events and on-cap actions (see cap.h).  Runs on the
 * allocation hot path: without a cap, nothing; with one, a compare-and-swap and compares. */
#include "cap.h"
#include "fmt.h"
#include "outbox.h"
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

uint64_t cap_limit;
static uint64_t cap_bytes, warn_bytes, crit_bytes, rearm_gap, headroom;
static int on_cap;
static uint64_t warn_pct, crit_pct;

/* Which events have fired and not been re-armed: bit per ag_cap_event_t. */
static _Atomic unsigned fired;

void cap_init(const ag_config_t *c)
{
	cap_bytes = c->cap;
	on_cap = (int)c->on_cap;
	warn_pct = c->warn;
	crit_pct = c->critical;
	warn_bytes = cap_bytes ? cap_bytes / 100 * c->warn + cap_bytes % 100 * c->warn / 100 : 0;
	crit_bytes = cap_bytes ? cap_bytes / 100 * c->critical + cap_bytes % 100 * c->critical / 100 : 0;
	/* Re-arm only after usage falls 5% of the cap below a threshold, so a program hovering
	 * at a threshold gets one event per real crossing, not one per allocation. */
	rearm_gap = cap_bytes / 20;
	headroom = cap_bytes / 16;
	if (cap_bytes)
		account_keep_admitted();
	cap_limit = cap_bytes;
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
	return !(atomic_fetch_or_explicit(&fired, bit, memory_order_relaxed) & bit);
}

static void say_threshold(int kind, uint64_t now, const char *what, uint64_t request,
			  bool acted)
{
	char buf[300];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	if (kind == AG_CAP_EV_CAP) {
		fmt_str(&f, "cap: ");
		fmt_str(&f, what);
		fmt_str(&f, " of ");
		fmt_size(&f, request);
		fmt_str(&f, " would make tracked memory ");
		fmt_size(&f, now);
		fmt_str(&f, ", over the ");
		fmt_size(&f, cap_bytes);
		fmt_str(&f, " cap");
		fmt_str(&f, !acted ? ": allowed within the recovery headroom" :
			    on_cap == AG_ON_CAP_FAIL ? ": refused with ENOMEM" :
			    on_cap == AG_ON_CAP_ABORT ? ": writing a final snapshot, then aborting" :
			    ": allowed (on-cap warn)");
	} else {
		fmt_str(&f, kind == AG_CAP_EV_WARN ? "warning: " : "critical: ");
		fmt_str(&f, "tracked memory ");
		fmt_size(&f, now);
		fmt_str(&f, " reached ");
		fmt_u64(&f, kind == AG_CAP_EV_WARN ? warn_pct : crit_pct);
		fmt_str(&f, "% of the ");
		fmt_size(&f, cap_bytes);
		fmt_str(&f, " cap");
	}
	fmt_say(buf);
}

static void crossed(int kind, uint64_t now, const char *what, uint64_t request, bool acted)
{
	say_threshold(kind, now, what, request, acted);
	outbox_cap_event(kind, now);
	outbox_request(kind == AG_CAP_EV_WARN ? AG_REASON_WARN :
		       kind == AG_CAP_EV_CRITICAL ? AG_REASON_CRITICAL : AG_REASON_CAP);
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

static void thresholds(uint64_t now, const char *what, uint64_t asked)
{
	if (now < warn_bytes)
		return;
	if (fire(AG_CAP_EV_WARN))
		crossed(AG_CAP_EV_WARN, now, what, asked, true);
	if (now >= crit_bytes && fire(AG_CAP_EV_CRITICAL))
		crossed(AG_CAP_EV_CRITICAL, now, what, asked, true);
}

/* Admission is decided on the admitted total with compare-and-swap (account_admit), so a
 * request that would pass the cap is never added, not even for an instant: racing threads
 * cannot be refused because of it, and it can never show in a peak. */
static int admit(uint64_t bytes, uint64_t asked, const char *what, bool commit)
{
	uint64_t before;
	if (!cap_bytes)
		return 0;
	if (!ag_ready() || on_cap == AG_ON_CAP_WARN) {
		account_admit(bytes, UINT64_MAX, &before);
		if (!ag_ready())
			return 0;
	} else if (account_admit(bytes, cap_bytes, &before) != 0) {
		/* A refusal latches the cap event (and opens the headroom) only when usage was
		 * already near the cap; one huge request refused at low usage is reported but
		 * latches nothing, so a later climb to the cap is a crossing of its own. */
		bool near = before + rearm_gap >= cap_bytes;
		if (near && headroom_open(bytes, commit) &&
		    account_admit(bytes, cap_bytes + headroom, &before) == 0) {
			if (fire(AG_CAP_EV_CAP))
				crossed(AG_CAP_EV_CAP, before + bytes, what, asked, false);
			return 0;
		}
		if (near ? fire(AG_CAP_EV_CAP) : far_refusal_due()) {
			crossed(AG_CAP_EV_CAP, sat_add(before, asked), what, asked, true);
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
	/* the thresholds crossed on the way first: a reader sees warn, critical, then cap */
	thresholds(now, what, asked);
	if (now > cap_bytes && (before + rearm_gap >= cap_bytes ? fire(AG_CAP_EV_CAP) : far_refusal_due()))
		crossed(AG_CAP_EV_CAP, now, what, asked, true);   /* on-cap warn */
	return 0;
}

int cap_admit(uint64_t bytes, uint64_t asked, const char *what)
{
	return admit(bytes, asked, what, false);
}

int cap_admit_slack(uint64_t bytes)
{
	uint64_t before;
	if (!cap_bytes)
		return 0;
	return account_admit(bytes, ag_ready() && on_cap != AG_ON_CAP_WARN ? cap_bytes : UINT64_MAX,
			     &before);
}

static int charge(acc_kind_t kind, uint64_t bytes, const char *what, bool commit)
{
	int rc = admit(bytes, bytes, what, commit);
	if (rc == 0)
		account_obtained(kind, bytes);
	return rc;
}

int cap_charge(acc_kind_t kind, uint64_t bytes, const char *what)
{
	return charge(kind, bytes, what, false);
}

int cap_charge_commit(acc_kind_t kind, uint64_t bytes, const char *what)
{
	return charge(kind, bytes, what, true);
}

/* Re-arm the events once usage fell well below their thresholds. */
static void rearm(void)
{
	unsigned f = atomic_load_explicit(&fired, memory_order_relaxed);
	if (!f)
		return;
	uint64_t now = account_admitted();
	unsigned clear = 0;
	if ((f & (1u << AG_CAP_EV_WARN)) && now + rearm_gap < warn_bytes)
		clear |= 1u << AG_CAP_EV_WARN;
	if ((f & (1u << AG_CAP_EV_CRITICAL)) && now + rearm_gap < crit_bytes)
		clear |= 1u << AG_CAP_EV_CRITICAL;
	if ((f & (1u << AG_CAP_EV_CAP)) && now + rearm_gap < cap_bytes)
		clear |= 1u << AG_CAP_EV_CAP;
	if (clear)
		atomic_fetch_and_explicit(&fired, ~clear, memory_order_relaxed);
}

void cap_unadmit(uint64_t bytes)
{
	account_unadmit(bytes);
	rearm();
}

void cap_release(acc_kind_t kind, uint64_t bytes)
{
	account_sub(kind, bytes);
	rearm();
}
