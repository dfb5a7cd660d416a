/* exec.h: what the guard does when the process replaces its image (the exec family).  The
 * image's log, if it has one, ends with a final snapshot of reason "exec"; an image that
 * execs before its first snapshot leaves no log (its memory goes with it and nothing of it
 * can leak; the new program writes its own).  Which real function runs is hooks_exec.c's. */
#ifndef ALLOCGUARD_EXEC_H
#define ALLOCGUARD_EXEC_H

/* Called by the exec hooks just before the real exec.  Not in a vfork or raw-clone child
 * (it shares our memory and its pid is not ours): there it does nothing. */
void exec_prepare(void);

#endif
