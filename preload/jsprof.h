/* jsprof.h: node's JS heap, as the companion addon (nodejs/addon.cc) reads it from V8's
 * sampling heap profiler.  JS functions get synthetic addresses (F lines), JS call stacks
 * are interned as stacks of kind j, and each isolate's latest profile is kept as those
 * stacks' live figures, so snapshots carry them like any stack.  The entry points the addon
 * calls are exported under allocguard_node_* (private to the addon, not in allocguard.h);
 * the writer asks the isolates for a fresh read before its snapshots (jsprof_refresh). */
#ifndef ALLOCGUARD_JSPROF_H
#define ALLOCGUARD_JSPROF_H

#include "logbuf.h"

#include <stdbool.h>
#include <stdint.h>

/* Synthetic addresses of JS functions: far above any user-space address; the analyzer
 * knows the range (logfmt.h's AG_JS_ADDR_BASE). */
#define JSPROF_MAX_ISOLATES 64

/* node is exiting: periodic snapshots would show its workers' teardown, not the program
 * (writer.c skips them; the exit snapshot still comes). */
bool jsprof_exiting(void);
/* F lines for the functions this log generation has not seen yet (logwrite.c, under its
 * lock, before the S lines).  gen is the log generation. */
void jsprof_write_funcs(logbuf_t *lb, uint32_t gen);
/* The lock jsprof_write_funcs takes, without waiting (scanchild.c): whether it is ours. */
bool jsprof_trylock(void);
void jsprof_unlock(void);
/* Before a periodic snapshot (writer thread): ask every isolate for a read and wait a
 * little for them (an isolate busy in JS answers through an interrupt, an idle one on its
 * event loop; one that does neither keeps its last figures). */
void jsprof_refresh(void);
#endif
