/* sandbox.h: whether a seccomp filter may be in force, so that the exit path and the scan
 * make no system call a filter could punish (kill, trap into the program's SIGSYS handler,
 * or refuse).  Known from /proc/self/status at start (a filter inherited from the parent)
 * and from the program's own prctl(PR_SET_SECCOMP) and syscall(SYS_seccomp) calls, seen by
 * hook_seccomp.c. */
#ifndef ALLOCGUARD_SANDBOX_H
#define ALLOCGUARD_SANDBOX_H

#include <stdbool.h>

void sandbox_init(void);
/* The program is about to install a filter: what needs a system call to know is known now. */
void sandbox_before_filter(void);
/* The program installed a filter (strict mode or a filter program) in some thread. */
void sandbox_note_filter(void);
/* A filter may be in force for the calling thread (it is counted for all threads: one
 * installed in a thread reaches the threads it starts afterwards, or all with TSYNC). */
bool sandbox_filtered(void);

#endif
