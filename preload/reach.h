/* reach.h: the at-exit reachability scan.  Conservatively scans the roots (every writable
 * byte that is not a tracked block or mapping, not glibc's heap and not our own memory; the
 * exiting thread's live stack and callee-saved registers) and marks live blocks and
 * anonymous mappings transitively, as LeakSanitizer and memcheck do, without ptrace.  The
 * result is each stack's lost and, of those, indirectly lost bytes and counts
 * (stack_rec_t.lost_*, indirect_*). */
#ifndef ALLOCGUARD_REACH_H
#define ALLOCGUARD_REACH_H

void reach_scan(void);

#endif
