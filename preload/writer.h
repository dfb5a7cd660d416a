/* writer.h: the background snapshot writer.  Anyone (hooks, signal handlers, the cap) may
 * ask for a snapshot; only the writer thread, or the exiting thread, writes one. */
#ifndef ALLOCGUARD_WRITER_H
#define ALLOCGUARD_WRITER_H

#include "logfmt.h"

typedef enum {
#define X(name, str) AG_REASON_##name,
	AG_REASON_LIST(X)
#undef X
	AG_REASON_COUNT
} ag_reason_t;

const char *writer_reason_name(int reason);

/* Start the writer thread (constructor, or first hook in a fork child). */
int writer_start(void);
/* Ask for a snapshot; async-signal-safe, never blocks. */
void writer_request(int reason);
/* Ask for a snapshot and wait (bounded) until it is on disk: the abort action. */
void writer_sync(int reason);
/* Final snapshot with the reachability scan, in the calling (exiting) thread. */
void writer_exit(void);
/* fork support: quiesce before fork, resume in the parent, reset in the child. */
void writer_prefork(void);
void writer_postfork_parent(void);
void writer_postfork_child(void);

#endif
