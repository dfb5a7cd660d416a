/* writer.h: the background snapshot writer.  Anyone (hooks, signal handlers, the cap) may
 * ask for a snapshot through the outbox (outbox.h); only the writer thread, or the exiting
 * thread, writes one. */
#ifndef ALLOCGUARD_WRITER_H
#define ALLOCGUARD_WRITER_H

#include "logfmt.h"

#include <stdatomic.h>
#include <stdbool.h>

/* Arm the writer: the first interval snapshot is due one interval from now, and it serves
 * the outbox's synchronous requests (outbox_sync: wait, bounded, until it is on disk). */
void writer_arm(void);
/* Start the writer thread (the constructor does, so SIGUSR2 is served even in a process
 * that sits idle). */
int writer_start(void);
/* Called on the allocation path: starts the thread when it is needed and not running, as
 * in a fork child, which gets its thread only once it lives long enough to need one (most
 * children exec at once), and runs the raw-clone child check.  One byte is read: writer_go
 * points at a byte that is non-zero only while nothing is to do (the born flag of
 * writer_watch_children once the thread was started, which a raw clone() child sees
 * zeroed; a zero byte before). */
extern const volatile unsigned char *_Atomic writer_go;
void writer_tick_slow(void);
static inline void writer_tick(void)
{
	if (__builtin_expect(*atomic_load_explicit(&writer_go, memory_order_relaxed), 1))
		return;
	writer_tick_slow();
}
/* Final snapshot with the reachability scan, in the calling (exiting) thread. */
void writer_exit(void);
/* The program called exit() (hooks_exec.c): a second thread doing so while the first ends the
 * process writes (or waits for) the exit snapshot first. */
void writer_exit_called(void);
/* check runs the fork-child reset in a process made without fork()'s handlers (a raw
 * clone() child); the writer calls it before its snapshots, and on the allocation path when
 * *flag reads 0 (flag: a byte such a child sees zeroed; NULL = call it every time). */
void writer_watch_children(void (*check)(void), const volatile unsigned char *flag);
/* fn runs in the writer thread on each of its turns: after every wake-up (a snapshot
 * request, a pressure change posted to the outbox) and at least once a second. */
void writer_each_turn(void (*fn)(void));
/* fork support: quiesce before fork, resume in the parent, reset in the child. */
void writer_prefork(void);
void writer_postfork_parent(void);
void writer_postfork_child(void);

#endif
