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

/* The per-thread reentrancy guard, one TLS block so that a hook computes its address once.
 * frame and ret: the frame of the hook this thread is in, and the return address saved in
 * it: a hook left by a jump (siglongjmp out of a signal handler that interrupted it) is
 * told from a live one by its frame being gone or reused (state.c).  frame is 0 when `in`
 * was set otherwise (our own threads). */
typedef struct {
	int in;                 /* inside a hook: nested calls pass straight through */
	uintptr_t frame, ret;
} ag_hook_t;
extern __thread ag_hook_t ag_hook __attribute__((tls_model("initial-exec")));
/* Non-zero while this thread holds a lock that a jump out of the hook could not let go
 * (the loader's, inside libunwind; the mapping table's): such a hook is never taken over. */
extern __thread int ag_unsafe;
bool ag_hook_abandoned(uintptr_t fp);

/* Enter a hook: false when this thread is already inside one (the caller must then pass
 * the call straight through, untracked). */
static inline __attribute__((always_inline)) bool ag_guard_enter(void)
{
	uintptr_t *fp = __builtin_frame_address(0);
	if (ag_hook.in && !(ag_hook.frame && ag_hook_abandoned((uintptr_t)fp)))
		return false;
	/* A jump out of a signal handler may land between any two of these stores: "in" is
	 * set only once the frame that lets a later call take the hook over is there (else
	 * in = 1 with no frame would pass every later call straight through, silently), and
	 * the frame is stored again after it, in case a handler's own hook in between left
	 * none.  Leaving clears "in" first, for the same reason. */
	ag_hook.frame = (uintptr_t)fp;
	ag_hook.ret = fp[1];
	atomic_signal_fence(memory_order_seq_cst);
	ag_hook.in = 1;
	atomic_signal_fence(memory_order_seq_cst);
	ag_hook.frame = (uintptr_t)fp;
	ag_hook.ret = fp[1];
	return true;
}

static inline void ag_guard_leave(void)
{
	ag_hook.in = 0;
	atomic_signal_fence(memory_order_seq_cst);
	ag_hook.frame = 0;
}

static inline bool ag_ready(void)
{
	return atomic_load_explicit(&ag_phase, memory_order_acquire) == AG_READY;
}

#endif
