/* writer.c: the snapshot writer thread (see writer.h).  It drains the requests posted to
 * the outbox (outbox.h); the thread runs with every signal blocked and writes snapshots off
 * the allocation path. */
#include "writer.h"
#include "fmt.h"
#include "jsprof.h"
#include "logwrite.h"
#include "outbox.h"
#include "reach.h"
#include "scanchild.h"
#include "stacks.h"
#include "state.h"
#include "sys.h"

#include "shardlock.h"
#include "threads.h"
#include "sandbox.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* Large enough for the program's atexit handlers, which run here when the program ends
 * by pthread_exit from main (see threads_only_internal_left). */
#define WRITER_STACK (1024 * 1024)
/* The exit snapshot's own stack: its frames take 20-25 KB, more than a small thread stack
 * or sigaltstack has left (reserved, so untouched pages cost nothing). */
#define OWN_STACK (512 * 1024)
/* How often the writer looks whether the program has ended without exiting. */
#define CHECK_MS 1000

static _Atomic bool running;
static _Atomic bool writer_starting;
static const volatile unsigned char *writer_born_flag;
static const unsigned char byte_zero, byte_one = 1;
const volatile unsigned char *_Atomic writer_go = &byte_zero;

/* writer_go (writer.h) after writer_starting or writer_born_flag changed. */
static void go_update(void)
{
	const volatile unsigned char *go = &byte_zero;
	if (atomic_load(&writer_starting))
		go = writer_born_flag ? writer_born_flag : &byte_one;
	atomic_store(&writer_go, go);
}
static uint64_t first_due;            /* CLOCK_MONOTONIC of the first interval snapshot, 0 = none */
static pthread_t thread;
static void (*child_check)(void);

void writer_watch_children(void (*check)(void), const volatile unsigned char *flag)
{
	child_check = check;
	writer_born_flag = flag;
	go_update();
}

static void (*_Atomic each_turn)(void);

void writer_each_turn(void (*fn)(void))
{
	each_turn = fn;
	outbox_pressure_wake();
}

static void check_child(void)
{
	if (child_check)
		child_check();
}
static _Atomic pthread_t writer_tid_self;

/* Snapshots written in the caller's thread (exit, abort) run on own_stack, one at a time;
 * the switch saves the caller's registers in `caller`, from which stacks.c unwinds the
 * caller's frames for the exit scan. */
static void *own_stack;
static _Atomic bool own_stack_busy;
static ucontext_t caller, callee;
static int own_reason;
static bool own_scan;

static void snapshot_here(void)
{
	if (own_scan && scanchild_scan())
		return;   /* a scanner child writes the exit snapshot */
	logwrite_snapshot(own_reason, own_scan, NULL);
	if (own_scan)
		scanchild_end();
}

static void snapshot_on_own_stack(int reason, bool scan)
{
	if (!own_stack || atomic_exchange(&own_stack_busy, true)) {
		own_reason = reason;   /* no stack to switch to: the caller's, as before */
		own_scan = scan;
		snapshot_here();
		return;
	}
	own_reason = reason;
	own_scan = scan;
	if (getcontext(&callee) == 0) {
		callee.uc_stack.ss_sp = own_stack;
		callee.uc_stack.ss_size = OWN_STACK;
		callee.uc_link = &caller;
		makecontext(&callee, snapshot_here, 0);
		stacks_exit_context(&caller);
		uintptr_t frame = ag_hook.frame;
		ag_hook.frame = 0;   /* nested calls there run on another stack: never "left" */
		if (swapcontext(&caller, &callee) != 0)
			snapshot_here();
		ag_hook.frame = frame;
		stacks_exit_context(NULL);
	} else {
		snapshot_here();
	}
	atomic_store(&own_stack_busy, false);
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

static bool claim_exit(void);

/* exit(0) as a program thread: this thread claims the exit (as the exit() hook would, hooks_exec.c),
 * then glibc's exit runs the atexit handlers and our destructor's exit snapshot. */
static void exit_as_program(void)
{
	claim_exit();
	bool outer = ag_guard_enter();
	void (*real)(int) = (void (*)(int))dlsym(RTLD_NEXT, "exit");
	if (outer)
		ag_guard_leave();
	if (real)
		real(0);
	_exit(0);
}

static void *writer_main(void *arg)
{
	ag_hook.in = 1;   /* anything we call that allocates is passed straight to libc */
	threads_internal_start();
	uint64_t period = ag_config.interval * 1000000ull;
	uint64_t next = first_due;
	while (atomic_load(&ag_phase) == AG_READY) {
		uint32_t seen = outbox_wake_seq();
		uint64_t ms = CHECK_MS;
		if (period) {
			uint64_t now = sys_now_ns();
			uint64_t left = next > now ? (next - now + 999999) / 1000000 : 0;
			ms = left < ms ? left : ms;
		}
		outbox_wait(seen, ms);
		unsigned bits = outbox_requests_take();
		if (period && sys_now_ns() >= next) {
			if (!jsprof_exiting())
				bits |= 1u << AG_REASON_INTERVAL;
			while (next <= sys_now_ns())
				next += period;
		}
		if (bits && atomic_load(&ag_phase) == AG_READY) {
			jsprof_refresh();
			if (jsprof_exiting())   /* it began exiting meanwhile */
				bits &= ~(1u << AG_REASON_INTERVAL);
			if (bits)
				logwrite_snapshot(pick(bits), false, NULL);
		}
		stacks_say_pending();
		void (*turn)(void) = each_turn;
		if (turn && atomic_load(&ag_phase) == AG_READY)
			turn();
		if (!sandbox_filtered() && threads_only_internal_left()) {
			/* main called pthread_exit and its last thread has ended: glibc would now
			 * exit(0), but it still counts us.  Exit as it would, as a program thread. */
			ag_hook.in = 0;
			exit_as_program();
		}
	}
	return NULL;
}

int writer_start(void)
{
	if (atomic_exchange(&writer_starting, true))
		return 0;   /* another thread is at it */
	go_update();
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
	threads_internal_starting(1);
	int rc = pthread_create(&thread, &attr, writer_main, NULL);
	if (rc)
		threads_internal_starting(-1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		fmt_say("cannot start the snapshot writer thread; snapshots only at exit");
		return rc;   /* starting stays set: no second try on every allocation */
	}
	atomic_store(&writer_tid_self, thread);
	atomic_store(&running, true);
	return 0;
}

/* The abort action's snapshot, and a refusal's (the program may abort on the NULL),
 * served for the outbox (outbox_sync). */
static void sync_snapshot(int reason)
{
	check_child();
	if (!atomic_load(&running) || pthread_equal(pthread_self(), atomic_load(&writer_tid_self))) {
		snapshot_on_own_stack(reason, false);
		return;
	}
	uint64_t before = logwrite_written();
	outbox_request(reason);
	/* Bounded wait: a stuck writer must not keep an aborting process alive. */
	for (int i = 0; i < 500 && logwrite_written() == before; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		sys_syscall(SYS_nanosleep, &ts, NULL);   /* on the allocation path: no cancellation */
	}
	if (logwrite_written() == before)
		snapshot_on_own_stack(reason, false);
}

void writer_arm(void)
{
	if (!own_stack)
		own_stack = sys_alloc(OWN_STACK, true);
	outbox_serve_sync(sync_snapshot);
	first_due = ag_config.interval ? sys_now_ns() + ag_config.interval * 1000000ull : 0;
}

static void tick(void)
{
	check_child();
	if (atomic_load_explicit(&writer_starting, memory_order_relaxed) || sandbox_filtered())
		return;   /* started, or a filter may punish the clone: snapshots at exit only */
	/* Until it starts, the clock on every allocation: a slow allocator (a daemon's 4 KiB
	 * every 100 ms) must get its first interval snapshot on time. */
	if (!outbox_requests_waiting()) {
		if (!first_due || sys_now_ns() < first_due)
			return;
	}
	writer_start();
}

void writer_tick_slow(void)
{
	int saved = errno;   /* the hooks keep the program's errno only on their slow paths */
	tick();
	errno = saved;
}

/* Which thread ends the process (the first to call exit, or to reach the destructor), and
 * whether its exit snapshot is written: a second thread calling exit() must not end the
 * process in the middle of it (undefined in C, common in practice). */
static _Atomic uint32_t exit_owner;
static _Atomic bool exit_snapshot_started, exit_snapshot_done;

static bool claim_exit(void)
{
	uint32_t me = shardlock_self(), expected = 0;
	return atomic_compare_exchange_strong(&exit_owner, &expected, me) || expected == me;
}

/* Until the other thread's exit snapshot is written, at most a minute (it is ours and
 * bounded; the bound only guards against that thread having been stopped). */
static void wait_exit_snapshot(void)
{
	for (int i = 0; i < 6000 && !atomic_load(&exit_snapshot_done); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		sys_syscall(SYS_nanosleep, &ts, NULL);
	}
}

void writer_exit_called(void)
{
	if (claim_exit())
		return;
	static _Atomic bool said;
	if (!atomic_exchange(&said, true))
		fmt_say("two threads called exit(); the exit snapshot is written before either "
			"ends the process");
	writer_exit();
}

void writer_exit(void)
{
	check_child();
	claim_exit();
	int expected = AG_READY;
	if (!atomic_compare_exchange_strong(&ag_phase, &expected, AG_FINISHED)) {
		if (atomic_load(&exit_snapshot_started))
			wait_exit_snapshot();
		return;
	}
	atomic_store(&exit_snapshot_started, true);
	stacks_say_pending();
	/* Nested in a hook (exit() from a signal handler that interrupted one): this thread
	 * may hold a block-table lock, so no scan, only the totals and stacks.  With the leak
	 * check off (a production guard) there is no scan either: the log says so. */
	int outer = ag_guard_enter();
	bool scan = outer && ag_config.leak_check == AG_YN_YES;
	if (!outer)
		reach_skipped(AG_VERDICT_NESTED);
	else if (!scan)
		reach_skipped(AG_VERDICT_SKIPPED);
	snapshot_on_own_stack(AG_REASON_EXIT, scan);
	if (outer)
		ag_guard_leave();
	atomic_store(&exit_snapshot_done, true);
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
	atomic_store(&exit_owner, 0);   /* the parent's exit, if it was exiting, is the parent's */
	atomic_store(&exit_snapshot_started, false);
	atomic_store(&exit_snapshot_done, false);
	atomic_store(&running, false);
	atomic_store(&writer_starting, false);
	go_update();
	outbox_requests_take();   /* the parent's requests are the parent's */
	writer_arm();
}
