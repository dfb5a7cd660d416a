/* jumped.c: a hook left by a jump (siglongjmp out of a signal handler that interrupted it):
 * told from a live one; when it held no lock of ours or of the libraries it called, the
 * thread is tracked again (see ag_guard_enter in state.h). */
#include "state.h"
#include "fmt.h"
#include "ptrtab.h"

#include <signal.h>


/* Nested calls (our own code allocating, a signal handler interrupting a hook) run deeper
 * on the same stack while the hook's frame, and the return address in it, stay in place;
 * or on a signal handler's alternate stack.  A frame at or above the hook's, or a
 * different return address in its place, means the hook was left by a jump. */
bool ag_hook_abandoned(uintptr_t fp)
{
	uintptr_t slot = ag_hook.frame;
	const uintptr_t near = 256 * 1024;
	if (fp < slot && slot - fp < near && ((const uintptr_t *)slot)[1] == ag_hook.ret)
		return false;   /* the usual nesting: no system call */
	if (fp < slot ? slot - fp >= near : fp - slot >= near)
		return false;   /* another stack altogether: the hook below is live */
	stack_t ss;
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) &&
	    !(slot >= (uintptr_t)ss.ss_sp && slot < (uintptr_t)ss.ss_sp + ss.ss_size))
		return false;   /* a handler on its own stack, above a live hook */
	if (ag_unsafe || ptrtab_holds_any()) {   /* a block-table update cut short too */
		static _Atomic bool said_stuck;
		if (!atomic_exchange(&said_stuck, true))
			fmt_say("an allocation was left by a jump out of a signal handler "
				"(siglongjmp) while holding a lock; that thread's allocations are "
				"no longer tracked");
		return false;
	}
	static _Atomic bool said;
	if (!atomic_exchange(&said, true))
		fmt_say("an allocation was left by a jump out of a signal handler (siglongjmp); "
			"that thread is tracked again from its next call, the interrupted call may "
			"be miscounted");
	return true;
}
