/* state.h: process-wide state of the preload: the init phase, the parsed configuration, and
 * the per-thread reentrancy guard that lets hooks pass nested calls straight to libc.
 * Policies live elsewhere; this only says what phase we are in and who is inside a hook. */
#ifndef ALLOCGUARD_STATE_H
#define ALLOCGUARD_STATE_H

#include "options.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
	AG_UNINIT = 0,  /* before our constructor: track sizes, no cap, no stacks */
	AG_READY,       /* configured: full tracking and cap */
	AG_FINISHED,    /* exit snapshot written: keep libc semantics and totals only */
} ag_phase_t;

extern _Atomic int ag_phase;
extern ag_config_t ag_config;
extern uint64_t ag_start_ns;       /* CLOCK_MONOTONIC at init */
extern pid_t ag_pid;               /* updated in fork children */
extern pid_t ag_ppid;              /* the parent when this process started (fork or exec) */

extern __thread int ag_in_hook;

/* Enter a hook: false when this thread is already inside one (the caller must then pass
 * the call straight through, untracked). */
static inline bool ag_guard_enter(void)
{
	if (ag_in_hook)
		return false;
	ag_in_hook = 1;
	return true;
}

static inline void ag_guard_leave(void)
{
	ag_in_hook = 0;
}

static inline bool ag_ready(void)
{
	return atomic_load_explicit(&ag_phase, memory_order_acquire) == AG_READY;
}

#endif
