/* test_cap.c: the cap's decisions and its edge-triggered events (preload/cap.c). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cap.h"
#include "options.h"
#include "state.h"

static void setup(uint64_t cap, int on_cap)
{
	/* the cap's messages are the preload's, for the program's stderr: not the suite's */
	cr_redirect_stderr();
	ag_config_t c;
	opt_defaults(&c);
	c.cap = cap;
	c.on_cap = (uint64_t)on_cap;
	cap_init(&c);
	atomic_store(&ag_phase, AG_READY);
}

/* A charge counted at once, as the mapping table makes them (cap.h's CAP_NOW); a commit of
 * reserved memory (CAP_COMMIT). */
static int charge(acc_kind_t kind, uint64_t bytes, const char *what)
{
	return cap_charge(kind, bytes, bytes, what, CAP_NOW);
}

static int commit(acc_kind_t kind, uint64_t bytes, const char *what)
{
	return cap_charge(kind, bytes, bytes, what, CAP_NOW | CAP_COMMIT);
}

static size_t take(cap_event_t *ev, size_t max)
{
	return outbox_cap_events_take(ev, max);
}

Test(cap, refuses_exactly_past_the_cap)
{
	setup(1000, AG_ON_CAP_FAIL);
	cr_assert_eq(charge(ACC_HEAP, 600, "malloc"), 0);
	cr_assert_eq(charge(ACC_HEAP, 400, "malloc"), 0, "reaching the cap exactly is allowed");
	cr_assert_eq(charge(ACC_HEAP, 1, "malloc"), ENOMEM);
	cr_assert_eq(account_tracked(), 1000, "a refused charge leaves nothing behind");
	cap_release(ACC_HEAP, 1000, 0);
	cr_assert_eq(account_tracked(), 0);
	cr_assert_eq(charge(ACC_MAPPED, 1000, "mmap"), 0);
	cr_assert_eq(charge(ACC_HEAP, 1, "malloc"), ENOMEM, "all kinds share one cap");
}

Test(cap, thresholds_fire_once_per_crossing_and_rearm)
{
	setup(1000, AG_ON_CAP_FAIL);
	cap_event_t ev[16];
	charge(ACC_HEAP, 790, "malloc");
	cr_assert_eq(take(ev, 16), 0);
	charge(ACC_HEAP, 20, "malloc");
	charge(ACC_HEAP, 5, "malloc");
	size_t n = take(ev, 16);
	cr_assert_eq(n, 1);
	cr_assert_eq(ev[0].kind, AG_CAP_EV_WARN);
	cr_assert_eq(ev[0].bytes, 810);
	charge(ACC_HEAP, 100, "malloc");   /* 915: critical */
	n = take(ev, 16);
	cr_assert_eq(n, 1);
	cr_assert_eq(ev[0].kind, AG_CAP_EV_CRITICAL);
	cr_assert_eq(charge(ACC_HEAP, 100, "malloc"), ENOMEM);
	cr_assert_eq(charge(ACC_HEAP, 100, "malloc"), ENOMEM);
	n = take(ev, 16);
	cr_assert_eq(n, 1, "one cap event per episode, not per refusal");
	cr_assert_eq(ev[0].kind, AG_CAP_EV_CAP);
	/* hovering just under the warn line does not re-arm it */
	cap_release(ACC_HEAP, 125, 0);            /* 790 */
	charge(ACC_HEAP, 20, "malloc");    /* 810 */
	cr_assert_eq(take(ev, 16), 0);
	/* falling well below re-arms */
	cap_release(ACC_HEAP, 500, 0);            /* 310 */
	charge(ACC_HEAP, 500, "malloc");   /* 810 */
	n = take(ev, 16);
	cr_assert_eq(n, 1);
	cr_assert_eq(ev[0].kind, AG_CAP_EV_WARN);
}

Test(cap, warn_action_reports_but_allows)
{
	setup(1000, AG_ON_CAP_WARN);
	cr_assert_eq(charge(ACC_HEAP, 1500, "malloc"), 0);
	cr_assert_eq(account_tracked(), 1500);
	cap_event_t ev[16];
	size_t n = take(ev, 16);
	cr_assert_eq(n, 3);
	/* in the order a reader expects: the thresholds crossed on the way, then the cap */
	cr_assert_eq(ev[0].kind, AG_CAP_EV_WARN);
	cr_assert_eq(ev[1].kind, AG_CAP_EV_CRITICAL);
	cr_assert_eq(ev[2].kind, AG_CAP_EV_CAP);
}

Test(cap, no_cap_means_no_events)
{
	setup(0, AG_ON_CAP_FAIL);
	cr_assert_eq(charge(ACC_HEAP, UINT64_C(1) << 45, "malloc"), 0);
	cap_event_t ev[4];
	cr_assert_eq(take(ev, 4), 0);
}

Test(cap, abort_action_raises_sigabrt, .signal = SIGABRT)
{
	setup(1000, AG_ON_CAP_ABORT);
	charge(ACC_HEAP, 2000, "malloc");
}

Test(cap, recovery_headroom_after_a_refusal)
{
	const uint64_t M = 1 << 20;
	setup(160 * M, AG_ON_CAP_FAIL);   /* headroom = cap/16 = 10 MiB, small = 640 KiB */
	cr_assert_eq(charge(ACC_HEAP, 159 * M, "malloc"), 0);
	cr_assert_eq(charge(ACC_HEAP, 100 * 1024, "malloc"), 0);
	cr_assert_eq(charge(ACC_HEAP, 2 * M, "malloc"), ENOMEM, "first crossing is refused");
	cr_assert_eq(charge(ACC_HEAP, 2 * M, "malloc"), ENOMEM, "large requests stay refused");
	/* a runtime recovering: small allocations and commits may use the headroom */
	cr_assert_eq(charge(ACC_HEAP, 4096, "malloc"), 0);
	cr_assert_eq(commit(ACC_MAPPED, 4 * M, "mprotect"), 0);
	cr_assert_eq(commit(ACC_MAPPED, 7 * M, "mprotect"), ENOMEM,
		     "never past cap + headroom");
	cr_assert_leq(account_tracked(), 170 * M);
}

Test(cap, the_first_commit_past_the_cap_is_refused_too)
{
	const uint64_t M = 1 << 20;
	setup(160 * M, AG_ON_CAP_FAIL);
	cr_assert_eq(charge(ACC_HEAP, 159 * M, "malloc"), 0);
	cap_event_t ev[8];
	outbox_cap_events_take(ev, 8);
	cr_assert_eq(commit(ACC_MAPPED, 2 * M, "mprotect"), ENOMEM);
	cr_assert_eq(outbox_cap_events_take(ev, 8), 0,
		     "a mapping's refusal is told once the mapping table's lock is released");
	cap_tell_deferred();
	size_t n = outbox_cap_events_take(ev, 8);
	cr_assert_eq(n, 1);
	cr_assert_eq(ev[0].kind, AG_CAP_EV_CAP);
	cr_assert_eq(commit(ACC_MAPPED, 2 * M, "mprotect"), 0,
		     "after the refusal, a runtime's commits may use the headroom");
	cap_release(ACC_MAPPED, 2 * M, 0);
	cap_release(ACC_HEAP, 20 * M, 0);   /* falls back below the cap: headroom closes */
	cr_assert_eq(charge(ACC_HEAP, 19 * M, "malloc"), 0);
	cr_assert_eq(commit(ACC_MAPPED, 3 * M, "mprotect"), ENOMEM);
}

Test(cap, abort_action_has_no_headroom, .signal = SIGABRT)
{
	setup(1000, AG_ON_CAP_ABORT);
	charge(ACC_HEAP, 900, "malloc");
	commit(ACC_MAPPED, 200, "mprotect");
}

Test(cap, a_huge_refusal_far_below_the_cap_opens_no_headroom)
{
	const uint64_t M = 1 << 20;
	setup(160 * M, AG_ON_CAP_FAIL);
	cr_assert_eq(charge(ACC_HEAP, 10 * M, "malloc"), 0);
	cr_assert_eq(charge(ACC_HEAP, 1024 * M, "malloc"), ENOMEM);
	cap_event_t ev[8];
	cr_assert_eq(outbox_cap_events_take(ev, 8), 1, "the refusal is reported");
	cr_assert_eq(charge(ACC_HEAP, 150 * M, "malloc"), 0);
	cr_assert_eq(charge(ACC_HEAP, 64 * 1024, "malloc"), ENOMEM,
		     "the climb is refused at the cap itself");
	size_t n = outbox_cap_events_take(ev, 8);
	cr_assert_eq(ev[n - 1].kind, AG_CAP_EV_CAP, "and reported as a crossing of its own");
	cr_assert_eq(charge(ACC_HEAP, 4096, "malloc"), 0, "now the headroom is open");
}

/* A refusal is invisible to everyone else: while one thread keeps asking for 8 GiB under a
 * 1 GiB cap, small charges in other threads never fail, and the refused size never reaches
 * the totals or the peaks.  (Charging first and taking the charge back on refusal let other
 * threads see 8 GiB for an instant.) */
static _Atomic int refusing_done;

static void *ask_huge(void *arg)
{
	long *refused = arg;
	while (!atomic_load(&refusing_done))
		*refused += charge(ACC_HEAP, UINT64_C(8) << 30, "malloc") == ENOMEM;
	return NULL;
}

static void *ask_small(void *arg)
{
	long *failed = arg;
	for (int i = 0; i < 300000; i++) {
		if (charge(i % 2 ? ACC_HEAP : ACC_MAPPED, 64, "malloc")) {
			(*failed)++;
			continue;
		}
		cap_peaks();
		cap_release(i % 2 ? ACC_HEAP : ACC_MAPPED, 64, 0);
	}
	return NULL;
}

Test(cap, a_refusal_is_invisible_to_other_threads)
{
	setup(UINT64_C(1) << 30, AG_ON_CAP_FAIL);
	long refused = 0, failed[3] = { 0 };
	pthread_t huge, small[3];
	pthread_create(&huge, NULL, ask_huge, &refused);
	for (int i = 0; i < 3; i++)
		pthread_create(&small[i], NULL, ask_small, &failed[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(small[i], NULL);
	atomic_store(&refusing_done, 1);
	pthread_join(huge, NULL);
	cr_assert_gt(refused, 0);
	cr_expect_eq(failed[0] + failed[1] + failed[2], 0, "%ld small charges failed beside %ld "
		     "refusals", failed[0] + failed[1] + failed[2], refused);
	account_totals_t t;
	account_read(&t);
	/* at most 3 x 64 bytes were held at once; the peak reads the kinds one after another,
	 * so a block moving between kinds meanwhile may count twice: far from 8 GiB either way */
	cr_expect_leq(t.peak_tracked, 64 * 1024, "peak %llu: a refused request showed in the peak",
		      (unsigned long long)t.peak_tracked);
	cr_expect_eq(t.tracked, 0);
}

/* The cap message names the size the program asked for, not the size we count (sizes past
 * the block table's limit are counted clamped). */
Test(cap, the_message_names_the_size_asked_for)
{
	setup(UINT64_C(1) << 30, AG_ON_CAP_FAIL);
	char path[] = "/tmp/agtest-capmsg-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	int saved = dup(2);
	dup2(fd, 2);
	int rc = cap_charge(ACC_HEAP, (UINT64_C(1) << 40) - 1, SIZE_MAX, "malloc", 0);
	dup2(saved, 2);
	close(saved);
	cr_assert_eq(rc, ENOMEM);
	char buf[400] = { 0 };
	cr_assert_gt(pread(fd, buf, sizeof buf - 1, 0), 0);
	close(fd);
	cr_expect(strstr(buf, "malloc of 16383.9 PiB"), "%s", buf);
	cr_expect_eq(account_admitted(), 0, "nothing admitted");
}

/* The pressure levels posted for allocguard_on_pressure (outbox_pressure): one per change. */
static size_t levels(int *out, size_t max)
{
	pressure_event_t pe[16];
	size_t n = outbox_pressure_take(pe, 16);
	for (size_t i = 0; i < n && i < max; i++) {
		out[i] = pe[i].level;
		if (i)
			cr_assert_gt(pe[i].seq, pe[i - 1].seq, "changes keep their order");
	}
	return n;
}

Test(cap, levels_follow_the_events_and_every_change_is_posted)
{
	setup(1000, AG_ON_CAP_FAIL);
	int lv[16];
	charge(ACC_HEAP, 700, "malloc");
	cr_assert_eq(cap_level(), 0);
	cr_assert_eq(levels(lv, 16), 0);
	charge(ACC_HEAP, 110, "malloc");   /* 810: warn */
	charge(ACC_HEAP, 100, "malloc");   /* 910: critical */
	cr_assert_eq(cap_level(), 2);
	cr_assert_eq(levels(lv, 16), 2);
	cr_assert(lv[0] == 1 && lv[1] == 2, "%d %d", lv[0], lv[1]);
	cap_release(ACC_HEAP, 20, 0);             /* 890: within 5% of critical, no change */
	cr_assert_eq(levels(lv, 16), 0);
	cap_release(ACC_HEAP, 50, 0);             /* 840: critical re-armed */
	cr_assert_eq(cap_level(), 1);
	cap_release(ACC_HEAP, 800, 0);            /* 40: all re-armed */
	cr_assert_eq(cap_level(), 0);
	cr_assert_eq(levels(lv, 16), 2);
	cr_assert(lv[0] == 1 && lv[1] == 0, "%d %d", lv[0], lv[1]);
	cr_assert_eq(charge(ACC_HEAP, 960, "malloc"), 0);
	cr_assert_eq(charge(ACC_HEAP, 100, "malloc"), ENOMEM);   /* refused near the cap */
	cr_assert_eq(cap_level(), 3);
}

Test(cap, a_cap_set_at_run_time_moves_the_thresholds)
{
	setup(0, AG_ON_CAP_FAIL);
	int lv[16];
	cr_assert_eq(charge(ACC_HEAP, 500, "malloc"), 0);
	cr_assert(!cap_on());
	cap_set(600);                          /* warn 480, critical 540 */
	cr_assert(cap_on());
	cr_assert_eq(cap_level(), 1);
	cr_assert_eq(charge(ACC_HEAP, 50, "malloc"), 0);
	cr_assert_eq(cap_level(), 2);
	cr_assert_eq(charge(ACC_HEAP, 60, "malloc"), ENOMEM, "the new cap refuses");
	cr_assert_eq(levels(lv, 16), 2);
	cr_assert(lv[0] == 1 && lv[1] == 2, "%d %d", lv[0], lv[1]);
	cap_set(2000);                         /* 550 is far below every threshold now */
	cr_assert_eq(cap_level(), 0);
	cr_assert_eq(charge(ACC_HEAP, 600, "malloc"), 0);
	cap_set(0);
	cr_assert(!cap_on());
	cr_assert_eq(cap_level(), 0);
	cr_assert_eq(charge(ACC_HEAP, 5000, "malloc"), 0, "no cap: nothing refused");
	cap_set(1000);                         /* usage 6150: over the cap at once */
	cr_assert_eq(cap_level(), 2);
	cr_assert_eq(charge(ACC_HEAP, 1, "malloc"), ENOMEM);
	cap_release(ACC_HEAP, 6150, 0);
	cr_assert_eq(cap_level(), 0);
	cr_assert_eq(account_tracked(), 0);
}

/* What the program holds under a cap: the admitted total less the threads' credit. */
static uint64_t held_by_the_cap(void)
{
	return account_admitted() - (uint64_t)credit_held();
}

/* The heap's two steps: a charge is admitted but counts in no total and no peak until it
 * is held; a refund and a release leave nothing behind; a refusal is never admitted.  The
 * thread's credit (CAP_CREDIT) and its own count (CAP_LOCAL) change none of the figures a
 * reader gets. */
Test(cap, a_heap_charge_counts_once_held_and_leaves_nothing_behind)
{
	setup(10 << 20, AG_ON_CAP_FAIL);
	cr_assert_eq(cap_charge(ACC_HEAP, 1000, 1000, "malloc", CAP_CREDIT), 0);
	account_totals_t t;
	account_read(&t);
	cr_assert_eq(t.tracked, 0, "a charge is not memory the program holds yet");
	cr_assert_eq(t.peak_tracked, 0);
	cr_assert_eq(held_by_the_cap(), 1000, "but it is admitted");
	cap_hold(ACC_HEAP, 1000, CAP_CREDIT);
	account_read(&t);
	cr_assert_eq(t.heap, 1000);
	cr_assert_eq(t.peak_heap, 1000);
	cr_assert_eq(held_by_the_cap(), 1000);
	cr_assert_eq(cap_charge(ACC_HEAP, 2000, 2000, "malloc", CAP_CREDIT), 0);
	cap_refund(ACC_HEAP, 2000, CAP_CREDIT);
	cr_assert_eq(cap_charge(ACC_HEAP, 20 << 20, 20 << 20, "malloc", CAP_CREDIT), ENOMEM);
	account_read(&t);
	cr_assert_eq(t.heap, 1000, "a refund and a refusal leave the totals as they were");
	cr_assert_eq(t.peak_heap, 1000);
	cr_assert_eq(held_by_the_cap(), 1000);
	cr_assert_eq(cap_charge(ACC_HEAP, 300, 300, "malloc", CAP_CREDIT | CAP_LOCAL), 0);
	cap_hold(ACC_HEAP, 300, CAP_CREDIT | CAP_LOCAL);
	account_read(&t);
	cr_assert_eq(t.heap, 1300, "the thread's own count is in the totals read");
	cap_release(ACC_HEAP, 300, CAP_CREDIT | CAP_LOCAL);
	cap_release(ACC_HEAP, 1000, CAP_CREDIT);
	account_read(&t);
	cr_assert_eq(t.tracked, 0);
	cr_assert_eq(t.peak_tracked, 1300);
	cr_assert_eq(held_by_the_cap(), 0, "what was released is admitted no more");
}

/* A mapping release taken back (its munmap failed) counts again, past the cap if need be:
 * the memory is still the program's. */
Test(cap, an_undone_release_counts_again_even_past_the_cap)
{
	setup(1000, AG_ON_CAP_FAIL);
	cr_assert_eq(charge(ACC_MAPPED, 800, "mmap"), 0);
	cap_release(ACC_MAPPED, 800, 0);
	cr_assert_eq(charge(ACC_MAPPED, 900, "mmap"), 0);
	cr_assert_eq(cap_charge(ACC_MAPPED, 800, 0, NULL, CAP_UNDO), 0);
	cr_assert_eq(account_tracked(), 1700);
	cr_assert_eq(account_admitted(), 1700);
	cap_refund(ACC_MAPPED, 900, CAP_NOW);
	cr_assert_eq(account_tracked(), 800);
	cr_assert_eq(account_admitted(), 800);
}
