/* reach.h: the reachability scan.  Conservatively scans the roots (every writable byte that
 * is not a tracked block or mapping, not glibc's heap and not our own memory; the calling
 * thread's live stack and callee-saved registers; each other thread's registers and live
 * stack, the threads stopped by threadstop.h where they can be) and marks live blocks and
 * anonymous mappings transitively, as LeakSanitizer and memcheck do, without ptrace.  At
 * exit the result is each stack's lost and, of those, indirectly lost bytes and counts
 * (stack_rec_t.lost_*, indirect_*), and the verdict for the log's X line. */
#ifndef ALLOCGUARD_REACH_H
#define ALLOCGUARD_REACH_H

#include "fmt.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
	uint64_t lost_bytes, lost_blocks, reachable_bytes, reachable_blocks;
} reach_totals_t;

/* The exit scan: each stack's lost figures, and the verdict.  forking: the stop's
 * call-back (threadstop_then) may fork a copy-on-write child to finish the scan; the
 * blocks are then copied, sorted and indexed after the stop (in the child; where none was
 * made, with the threads let go meanwhile and stopped again), not before it. */
void reach_scan(bool forking);
/* The exit snapshot is written without a scan, for this reason (AG_VERDICT_*). */
void reach_skipped(int why);
/* Whether the exit scan judged (its stacks' lost and judged figures hold). */
bool reach_judged(void);
/* The log's X line for the exit snapshot: the verdict and the threads' fates. */
void reach_verdict_line(fmt_t *f);

/* Judge now, as the exit scan does, with the other threads stopped for the scan; the
 * program goes on.  Totals only (no stack's figures change).  Called from a program
 * thread as is: it enters the guard itself.  0; EBUSY when another scan runs, the program
 * is exiting, or the caller is inside the guard (a hook, where a table lock may be held);
 * EPERM when memory cannot be read (a seccomp filter, process_vm_readv refused); ENOMEM.
 * *out is zero unless 0. */
int reach_check_now(reach_totals_t *out);

#endif
