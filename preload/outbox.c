/* outbox.c: the events and snapshot requests on their way to the writer (see outbox.h).
 * Requests are bits in an atomic word and a futex wake-up, so hooks and signal handlers can
 * ask without blocking and without a file descriptor the program could close or see. */
#include "outbox.h"
#include "evring.h"
#include "fmt.h"
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

EVRING(cap_events, cap_event_t, 1024);
EVRING(swap_events, swap_event_t, 64);
EVRING(pressure_events, pressure_event_t, 64);

static _Atomic uint32_t wake;        /* futex word: bumped on every request */
static _Atomic uint64_t pressure_seq;
static _Atomic unsigned pending;
static void (*sync_server)(int reason);

void outbox_cap_event(int kind, uint64_t bytes, uint64_t request, uint32_t stack)
{
	uint64_t ticket;
	cap_event_t *ev = evring_claim(&cap_events, &ticket);
	if (!ev)
		return;   /* writer far behind: the message on stderr still went out */
	ev->t_ns = sys_now_ns() - ag_start_ns;
	ev->bytes = bytes;
	ev->request = request;
	ev->stack = stack;
	ev->kind = kind;
	evring_publish(&cap_events, ticket);
}

void outbox_swap_event(int mode, uint64_t bytes, const char *path)
{
	uint64_t ticket;
	swap_event_t *ev = evring_claim(&swap_events, &ticket);
	if (!ev)
		return;   /* the writer is far behind: drop, as for cap events */
	ev->t_ns = sys_now_ns() - ag_start_ns;
	ev->bytes = bytes;
	ev->mode = mode;
	fmt_t f;
	fmt_init(&f, ev->path, sizeof ev->path);
	fmt_str(&f, path);
	evring_publish(&swap_events, ticket);
}

void outbox_pressure(int level, uint64_t tracked)
{
	int saved = errno;
	uint64_t ticket, seq = atomic_fetch_add(&pressure_seq, 1) + 1;
	pressure_event_t *ev = evring_claim(&pressure_events, &ticket);
	if (ev) {   /* full: the listener still learns the level it ends at (api.c) */
		ev->seq = seq;
		ev->level = level;
		ev->tracked = tracked;
		evring_publish(&pressure_events, ticket);
	}
	outbox_pressure_wake();
	errno = saved;
}

void outbox_pressure_wake(void)
{
	atomic_fetch_add(&wake, 1);
	sys_syscall(SYS_futex, &wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

uint64_t outbox_pressure_seq(void)
{
	return atomic_load(&pressure_seq);
}

size_t outbox_pressure_take(pressure_event_t *out, size_t max)
{
	return evring_take(&pressure_events, out, max);
}

size_t outbox_cap_events_take(cap_event_t *out, size_t max)
{
	return evring_take(&cap_events, out, max);
}

size_t outbox_swap_events_take(swap_event_t *out, size_t max)
{
	return evring_take(&swap_events, out, max);
}

void outbox_request(int reason)
{
	int saved = errno;
	atomic_fetch_or(&pending, 1u << reason);
	atomic_fetch_add(&wake, 1);
	sys_syscall(SYS_futex, &wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = saved;
}

void outbox_serve_sync(void (*serve)(int reason))
{
	sync_server = serve;
}

void outbox_sync(int reason)
{
	if (sync_server)
		sync_server(reason);
}

unsigned outbox_requests_take(void)
{
	return atomic_exchange(&pending, 0);
}

bool outbox_requests_waiting(void)
{
	return atomic_load_explicit(&pending, memory_order_relaxed) != 0;
}

uint32_t outbox_wake_seq(void)
{
	return atomic_load(&wake);
}

void outbox_wait(uint32_t seq, uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	if (atomic_load(&pending) == 0)
		sys_syscall(SYS_futex, &wake, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
}
