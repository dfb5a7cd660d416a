/* writer.c: the snapshot writer thread (see writer.h).  Requests are bits in an atomic word
 * plus a byte on an eventfd, so hooks and signal handlers can ask without blocking; the
 * thread runs with every signal blocked and writes snapshots off the allocation path. */
#include "writer.h"
#include "fmt.h"
#include "logwrite.h"
#include "reach.h"
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WRITER_STACK (256 * 1024)

static int efd = -1;
static _Atomic unsigned pending;
static _Atomic bool running;
static pthread_t thread;
static _Atomic pthread_t writer_tid_self;

const char *writer_reason_name(int reason)
{
	static const char *const names[] = {
#define X(name, str) str,
		AG_REASON_LIST(X)
#undef X
	};
	return (reason >= 0 && reason < AG_REASON_COUNT) ? names[reason] : "interval";
}

void writer_request(int reason)
{
	int saved = errno;
	atomic_fetch_or(&pending, 1u << reason);
	if (efd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(efd, &one, sizeof one);
		(void)n;
	}
	errno = saved;
}

/* The most telling reason among the pending bits. */
static int pick(unsigned bits)
{
	static const int order[] = { AG_REASON_ABORT, AG_REASON_CAP, AG_REASON_CRITICAL,
				     AG_REASON_WARN, AG_REASON_SIGNAL, AG_REASON_INTERVAL };
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (bits & (1u << order[i]))
			return order[i];
	return AG_REASON_INTERVAL;
}

static void *writer_main(void *arg)
{
	ag_in_hook = 1;   /* anything we call that allocates is passed straight to libc */
	uint64_t period = ag_config.interval * 1000000ull;
	uint64_t next = period ? sys_now_ns() + period : 0;
	while (atomic_load(&ag_phase) == AG_READY) {
		int timeout = -1;
		if (period) {
			uint64_t now = sys_now_ns();
			timeout = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		}
		struct pollfd p = { .fd = efd, .events = POLLIN };
		int r = poll(&p, 1, timeout);
		if (r > 0) {
			uint64_t v;
			ssize_t n = read(efd, &v, sizeof v);
			(void)n;
		}
		unsigned bits = atomic_exchange(&pending, 0);
		if (period && sys_now_ns() >= next) {
			bits |= 1u << AG_REASON_INTERVAL;
			while (next <= sys_now_ns())
				next += period;
		}
		if (bits && atomic_load(&ag_phase) == AG_READY)
			logwrite_snapshot(pick(bits), false);
	}
	return NULL;
}

int writer_start(void)
{
	if (atomic_load(&running))
		return 0;
	if (efd < 0)
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* Its stack is internal memory: small, and skipped by the exit scan. */
	static void *stack;
	if (!stack)
		stack = sys_alloc(WRITER_STACK, false);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (stack)
		pthread_attr_setstack(&attr, stack, WRITER_STACK);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&thread, &attr, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		fmt_say("cannot start the snapshot writer thread; snapshots only at exit");
		return rc;
	}
	atomic_store(&writer_tid_self, thread);
	atomic_store(&running, true);
	return 0;
}

void writer_sync(int reason)
{
	if (!atomic_load(&running) || pthread_equal(pthread_self(), atomic_load(&writer_tid_self))) {
		logwrite_snapshot(reason, false);
		return;
	}
	uint64_t before = logwrite_written();
	writer_request(reason);
	/* Bounded wait: a stuck writer must not keep an aborting process alive. */
	for (int i = 0; i < 500 && logwrite_written() == before; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (logwrite_written() == before)
		logwrite_snapshot(reason, false);
}

void writer_exit(void)
{
	int expected = AG_READY;
	if (!atomic_compare_exchange_strong(&ag_phase, &expected, AG_FINISHED))
		return;
	/* Nested in a hook (exit() from a signal handler that interrupted one): this thread
	 * may hold a block-table lock, so no scan, only the totals and stacks. */
	int outer = guard_enter();
	if (outer)
		reach_scan();
	logwrite_snapshot(AG_REASON_EXIT, outer);
	if (outer)
		guard_leave();
}

void writer_prefork(void)
{
	logwrite_lock();
}

void writer_postfork_parent(void)
{
	logwrite_unlock();
}

void writer_postfork_child(void)
{
	logwrite_child();
	atomic_store(&running, false);
	atomic_store(&pending, 0);
	if (efd >= 0)
		close(efd);
	efd = -1;
	if (atomic_load(&ag_phase) == AG_READY)
		writer_start();
}
