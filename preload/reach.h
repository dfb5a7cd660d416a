/* reach.h: the at-exit reachability scan.  Conservatively scans the roots (writable data of
 * loaded modules, live thread stacks, other writable mappings that hold no heap blocks) and
 * marks live blocks transitively, as LeakSanitizer and memcheck do, without ptrace.  The
 * result is each stack's lost bytes and count (stack_rec_t.lost_*). */
#ifndef ALLOCGUARD_REACH_H
#define ALLOCGUARD_REACH_H

void reach_scan(void);

#endif
