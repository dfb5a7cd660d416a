/* threads.h: a registry of the threads that allocate, with an address on each one's stack
 * and whether it is still alive, so the exit scan can tell a dead thread's cached stack
 * (stale pointers, not roots) from a live one. */
#ifndef ALLOCGUARD_THREADS_H
#define ALLOCGUARD_THREADS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

void threads_init(void);
/* Register the calling thread once (cheap after the first call). */
void threads_note(void);
/* Whether [lo, hi) holds the stack of a thread that exited and of no live thread that
 * allocated; *tcb is then that thread's descriptor, which glibc keeps (with its TLS vector)
 * for reuse.  A hint only: the mark is made by the guard's key destructor, which runs before
 * the program's own, and a thread that never allocated may run on that stack since; the
 * caller checks that no live thread's stack pointer is in [lo, hi). */
bool threads_dead_stack(uintptr_t lo, uintptr_t hi, uintptr_t *tcb);
void threads_postfork_child(void);

/* The guard's own threads (snapshot writer, lazy-swap handler) call this when they start;
 * their creator calls threads_internal_starting(+1) before pthread_create (and -1 when it
 * fails), so that a thread of ours not yet registered is known to exist. */
void threads_internal_start(void);
void threads_internal_starting(int delta);
/* How many of the guard's threads are created but not registered yet. */
int threads_internal_pending(void);
/* True when the program has no thread left: its main thread has ended (pthread_exit) and
 * every task still alive is one of ours.  glibc exits the process when the last thread
 * ends, but counts ours, so the writer has to notice this and exit on the program's behalf. */
bool threads_only_internal_left(void);
/* Read /proc/self/task/TID/<file> into buf (NUL-terminated); its length, or -1. */
ssize_t threads_task_read(pid_t tid, const char *file, char *buf, size_t cap);
/* Whether tid is one of the guard's own threads. */
bool threads_is_internal(pid_t tid);

#endif
