/* logwrite.h: writing the snapshot log (format in logfmt.h): opening the file safely,
 * the header, module map, stacks, events and snapshots.  When to write is writer.c's
 * decision; this module is called with no locks of the hot path held. */
#ifndef ALLOCGUARD_LOGWRITE_H
#define ALLOCGUARD_LOGWRITE_H

#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>

/* Resolve the log pattern now (cwd, executable name, command line). */
void logwrite_init(void);
/* Create the log now, with its header, if this generation has none yet: before the program
 * gives up the right to (setuid, chroot).  Held open from then on, like every log.  Objects
 * loaded since the last snapshot are written too (before a scanner child, which cannot ask
 * the loader). */
void logwrite_create(void);
/* Write one snapshot; with leaks, R lines from the exit scan are included; label (NULL for
 * none) goes with AG_REASON_LABEL.  Returns the snapshot's sequence number, or -1 when
 * logging is off or failed.  Any thread may call it (the writer, the exiting thread, a
 * program thread asking through allocguard_snapshot). */
int64_t logwrite_snapshot(int reason, bool leaks, const char *label);
/* Snapshots written so far, across generations. */
uint64_t logwrite_written(void);
/* Before an exec: a final "exec" snapshot when this image has a log, else nothing. */
void logwrite_exec(void);

void logwrite_lock(void);
void logwrite_unlock(void);
/* Both locks of logwrite_lock without waiting: whether they are ours now. */
bool logwrite_trylock(void);
/* Right after the exit scan's child was forked (scanchild.c), the locks held, in both
 * processes: the child (scanner_pid is itself) writes the log, naming itself on the X line;
 * the parent never writes it again. */
void logwrite_scanner_forked(pid_t scanner_pid);
/* In a fork child: start a new log (new pid, new file) on the next snapshot. */
void logwrite_child(void);

#endif
