/* threadstop.h: stopping the program's other threads for a scan, without ptrace.  Each
 * running thread gets a realtime signal whose handler saves its registers (general and
 * vector, from the signal context) and stack pointer, then waits until the scan is done.
 * A thread that is blocked in a system call, stopped, traced, under a seccomp filter or
 * blocking the signal is not signalled (the signal would interrupt its call, or never
 * come): it is listed as not stopped, with why, and the scan keeps the older rule for it
 * (its whole stack is a root, its registers are not).  Waits are bounded: a thread that
 * does not answer in time is not stopped either. */
#ifndef ALLOCGUARD_THREADSTOP_H
#define ALLOCGUARD_THREADSTOP_H

#include "arch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Why a thread was not stopped (also the words of the log's X line). */
typedef enum {
	TS_STOPPED = 0,
	TS_IN_SYSCALL,   /* sleeping or in uninterruptible wait: in a system call */
	TS_HALTED,       /* stopped by a signal (SIGSTOP) or traced */
	TS_BLOCKS,       /* blocks the stop signal */
	TS_SECCOMP,      /* under a seccomp filter: the handler's system calls could be punished */
	TS_NO_ANSWER,    /* signalled, did not answer in time */
	TS_TOO_MANY,     /* past the table's size */
	TS_COUNT
} ts_why_t;

typedef struct {
	pid_t tid;
	ts_why_t why;
	uintptr_t sp;          /* the interrupted (or, in a system call, the user) stack
				* pointer; 0 when unknown */
	int nregs;
	uintptr_t regs[REGS_MAX];
} ts_thread_t;

/* Phase one, before any lock is taken (it reads /proc): list the program's other live
 * threads (not the caller, not the guard's own).  Returns how many. */
size_t threadstop_list(void);
/* Phase two: signal the running threads listed and wait (bounded) until each answered.
 * Call with nothing held that a running thread may need to reach its handler.  It may be
 * called again after threadstop_resume (the same threads, signalled anew).  Returns what
 * the call-back (threadstop_then) returned, false without one. */
bool threadstop_stop(void);
/* fn runs once, in the stopping thread, at the end of the next threadstop_stop (the
 * threads stopped, their registers saved, the caller's locks still held); NULL cancels.
 * scanchild.c forks the scanner there; fn returns true where the caller is then the only
 * thread of its process (the child): no lock a stopped thread held is held there. */
void threadstop_then(bool (*fn)(void));
/* Let the stopped threads go on. */
void threadstop_resume(void);
/* The listed threads: index 0 .. threadstop_list() - 1. */
const ts_thread_t *threadstop_thread(size_t i);
/* How many listed threads were not stopped for each reason (counts[TS_COUNT]). */
void threadstop_counts(size_t *counts);
const char *threadstop_why_word(ts_why_t why);

#endif
