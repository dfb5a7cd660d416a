/* scanchild.h: the exit scan in a copy-on-write child, off the program's exit.  With
 * ALLOCGUARD_SCAN_CHILD=yes (`allocguard run` sets it and waits for the child), the exit
 * scan forks at the moment the other threads are stopped and their registers saved
 * (threadstop_then): the child, a frozen copy of the process, finishes the scan, writes
 * the exit snapshot and ends the log; the program goes on exiting at once and never
 * writes its log again.  Where the fork cannot be made safely or fails, the scan runs in
 * the process as before. */
#ifndef ALLOCGUARD_SCANCHILD_H
#define ALLOCGUARD_SCANCHILD_H

#include <stdbool.h>

/* The exit scan (reach_scan), in a child when asked and possible.  Returns true in the
 * program's process when a child took over: the caller must not write the exit snapshot.
 * Otherwise (the scan ran here, or this is the child) the caller writes it as usual, then
 * calls scanchild_end. */
bool scanchild_scan(void);
/* After the exit snapshot: in the scanner child, the end of it (nothing of the program's
 * exit runs twice: no atexit handler, no stdio flush); elsewhere nothing. */
void scanchild_end(void);

#endif
