/* api.c: the in-process API (include/allocguard.h): usage, pressure listeners, the cap at
 * run time, labeled snapshots and the mid-run leak check (reach.h's, with the other threads
 * stopped as at exit).  Pressure changes come from
 * cap.c through the outbox; they are handed to listeners in the writer thread on its turn
 * (writer_each_turn), never in a hook or a signal handler. */
#include "api.h"
#include "account.h"
#include "cap.h"
#include "fmt.h"
#include "logwrite.h"
#include "outbox.h"
#include "reach.h"
#include "sandbox.h"
#include "state.h"
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct {
	api_pressure_fn fn;
	void *arg;
	int told;           /* the level this listener last heard (writer thread only) */
	uint64_t since;     /* it hears the changes posted after this one (outbox seq) */
} listener_t;

static listener_t listeners[API_LISTENERS];
static _Atomic int nlisteners;
static pthread_mutex_t listen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;

static int fail(int err)
{
	errno = err;
	return -1;
}

static int api_active(void)
{
	return ag_ready();
}

static void usage_now(allocguard_usage_t *u, int level)
{
	account_totals_t t;
	account_read(&t);
	*u = (allocguard_usage_t){ .tracked = t.tracked, .heap = t.heap, .mapped = t.mapped,
				   .swapped = t.swapped, .peak = t.peak_tracked,
				   .cap = atomic_load(&cap_limit), .level = level };
}

static int api_get_usage(allocguard_usage_t *u)
{
	if (!ag_ready())
		return fail(ENOSYS);
	if (!u)
		return fail(EINVAL);
	usage_now(u, cap_level());
	return 0;
}

/* Tell every listener that has not heard it yet, and registered before change seq, that
 * the level is now `level`.  The writer thread passes its calls to libc untouched
 * (ag_hook.in); the listener's own allocations and frees must count, so they go through
 * the hooks. */
static void tell(int level, uint64_t seq)
{
	allocguard_usage_t u;
	usage_now(&u, level);
	int n = atomic_load(&nlisteners);
	int saved = ag_hook.in;
	for (int i = 0; i < n; i++) {
		if (listeners[i].told == level || listeners[i].since >= seq)
			continue;
		listeners[i].told = level;
		ag_hook.in = 0;
		listeners[i].fn(level, &u, listeners[i].arg);
		ag_hook.in = saved;
	}
}

/* The writer's turn: the changes posted since, in order, then the level as it is now
 * (changes dropped from a full queue, listeners registered at a raised level). */
static void api_turn(void)
{
	pressure_event_t ev[16];
	size_t n;
	while ((n = outbox_pressure_take(ev, sizeof ev / sizeof ev[0])) > 0)
		for (size_t i = 0; i < n; i++)
			tell(ev[i].level, ev[i].seq);
	tell(cap_level(), UINT64_MAX);
}

static int api_on_pressure(api_pressure_fn fn, void *arg)
{
	if (!ag_ready())
		return fail(ENOSYS);
	if (!fn)
		return fail(EINVAL);
	if (sandbox_filtered())
		return fail(EPERM);   /* no writer thread under a filter: nobody would call it */
	pthread_mutex_lock(&listen_lock);
	int n = atomic_load(&nlisteners);
	if (n == API_LISTENERS) {
		pthread_mutex_unlock(&listen_lock);
		return fail(ENOSPC);
	}
	listeners[n] = (listener_t){ .fn = fn, .arg = arg, .told = 0,
				     .since = outbox_pressure_seq() };
	atomic_store(&nlisteners, n + 1);
	pthread_mutex_unlock(&listen_lock);
	writer_each_turn(api_turn);
	writer_start();   /* a fork child starts its writer lazily */
	return 0;
}

static int api_set_cap(uint64_t bytes)
{
	if (!ag_ready())
		return fail(ENOSYS);
	char buf[160];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	fmt_str(&f, "the program set the cap to ");
	if (bytes)
		fmt_size(&f, bytes);
	else
		fmt_str(&f, "none");
	fmt_say(buf);
	cap_set(bytes);
	return 0;
}

/* A label names a snapshot in LOG@label: not a number, not "peak", no '@', printable. */
static bool label_ok(const char *label)
{
	size_t n = label ? strnlen(label, AG_LABEL_MAX + 1) : 0;
	if (n == 0 || n > AG_LABEL_MAX || strcmp(label, "peak") == 0)
		return false;
	bool digits = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)label[i];
		if (c <= ' ' || c >= 0x7f || c == '@')
			return false;
		digits &= c >= '0' && c <= '9';
	}
	return !digits;
}

static int api_snapshot(const char *label)
{
	if (!ag_ready())
		return fail(ENOSYS);
	if (!label_ok(label))
		return fail(EINVAL);
	if (!ag_guard_enter())
		return fail(EDEADLK);   /* inside a hook: a signal handler interrupted one */
	int64_t seq = logwrite_snapshot(AG_REASON_LABEL, false, label);
	ag_guard_leave();
	return seq >= 0 ? 0 : fail(EIO);
}

/* errno EBUSY while the exit scan runs, EPERM when memory cannot be read (seccomp). */
static int api_leak_check(allocguard_leaks_t *out)
{
	if (!ag_ready())
		return fail(ENOSYS);
	if (!out)
		return fail(EINVAL);
	/* one check at a time: a second caller waits rather than being told EBUSY.  The scan
	 * enters the guard itself (EBUSY from inside a hook of ours). */
	pthread_mutex_lock(&scan_lock);
	reach_totals_t t;
	int rc = reach_check_now(&t);
	pthread_mutex_unlock(&scan_lock);
	if (rc)
		return fail(rc);
	*out = (allocguard_leaks_t){ .lost_bytes = t.lost_bytes, .lost_blocks = t.lost_blocks,
				     .reachable_bytes = t.reachable_bytes,
				     .reachable_blocks = t.reachable_blocks };
	return 0;
}

/* The exported names: forwards, so the library's own calls never bind to a name a program
 * could interpose. */
EXPORT int allocguard_active(void) { return api_active(); }
EXPORT int allocguard_get_usage(allocguard_usage_t *u) { return api_get_usage(u); }
EXPORT int allocguard_on_pressure(api_pressure_fn fn, void *arg) { return api_on_pressure(fn, arg); }
EXPORT int allocguard_set_cap(uint64_t bytes) { return api_set_cap(bytes); }
EXPORT int allocguard_snapshot(const char *label) { return api_snapshot(label); }
EXPORT int allocguard_leak_check(allocguard_leaks_t *out) { return api_leak_check(out); }
