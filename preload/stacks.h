/* stacks.h: call-stack capture for allocations.  The only user of libunwind.  Returns
 * call-site addresses (return address - 1) with the guard's own frames removed; interning
 * them is stacktab.c's job. */
#ifndef ALLOCGUARD_STACKS_H
#define ALLOCGUARD_STACKS_H

#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

/* Prepare the unwinder (per-thread cache, one warm-up unwind) before hooks use it. */
void stacks_init(void);
/* The stack pointer of the innermost frame of the calling thread that belongs to the
 * program rather than to libc, the loader or the guard (for the exit scan: the frames of the
 * exit machinery below it hold stale values, not roots), and the callee-saved registers as
 * that frame sees them (a pointer the program keeps only in a register is a root).  0 when
 * it cannot be told. */
#define STACKS_SAVED_REGS 16
uintptr_t stacks_program_frame(uintptr_t *regs, int *nregs);
/* While uc is set (not NULL), stacks_program_frame in this thread unwinds from uc, the
 * saved registers of a thread whose code now runs on another stack (writer.c's exit
 * snapshot). */
void stacks_exit_context(const ucontext_t *uc);
/* The calling thread enters (+1) or leaves (-1) pthread_getattr_np, which holds the
 * thread's lock: meanwhile its stack bounds are not asked for (unwindshim.c). */
void stacks_getattr(int delta);
/* One line, once, when some stacks were recorded by the frame-pointer walk for lack of
 * stack to unwind on (said by the writer, never on the small stack itself). */
void stacks_say_pending(void);
/* Fork child: inside_unwind when the forking thread was inside libunwind (fork from a
 * signal handler); the child's stacks are then taken by frame pointers only. */
void stacks_postfork_child(bool inside_unwind);
/* Capture and intern in one step; returns a stack id (0 = none). */
uint32_t stacks_here(char kind);
/* The same, given where the hook's return address into its caller sits (STACKS_CALLER in
 * the hook): the chain cache then needs no walk over the guard's own frames.  A slot whose
 * return address is in the guard (a hook called by another) or NULL means "find it". */
uint32_t stacks_here_from(char kind, const uintptr_t *slot);
#define STACKS_CALLER ((const uintptr_t *)__builtin_frame_address(0) + 1)

#endif
