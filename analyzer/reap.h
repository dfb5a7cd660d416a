/* reap.h: waiting for the exit scans of copy-on-write children: `allocguard run` for its
 * process tree, every log reader for the log it opens.  A guarded process
 * may leave its exit scan to a copy-on-write child (preload/scanchild.h) and exit at once;
 * run becomes a child subreaper, so that such a child, orphaned when its program ends, is
 * reparented to run, which waits for it before reading the logs. */
#ifndef ALLOCGUARD_REAP_H
#define ALLOCGUARD_REAP_H

#include <stdbool.h>
#include <stddef.h>

/* Before the command starts: ask the preload for scanner children (ALLOCGUARD_SCAN_CHILD=yes,
 * unless the user chose) and become their reaper.  When that fails, the scans stay in the
 * processes (nobody could wait for a child).  Whether run will wait for scanners. */
bool reap_start(void);
/* After the command ended: wait for every scanner child reparented to run, saying one line
 * for each that did not finish (its log then has no exit snapshot and no leak verdict).
 * Returns how many did not. */
size_t reap_scanners(void);
/* Before reading the log at path: when a scanner child is still writing it (a log read
 * inside the run's tree, or with ALLOCGUARD_SCAN_CHILD=yes by hand), wait until it is done,
 * saying so once; bounded by the scanner's own watchdog. */
void reap_wait_log(const char *path);

#endif
