/* runlogs.h: the logs of the process tree `allocguard run` started: found in the log
 * pattern's directory, kept only when written during the run by the started process or one
 * of its descendants (P lines carry pid and the parent's pid at start), and loaded.  How
 * they are summarised is summary.c's; starting the command is run.c's. */
#ifndef ALLOCGUARD_RUNLOGS_H
#define ALLOCGUARD_RUNLOGS_H

#include "model.h"

#include <stdio.h>
#include <sys/types.h>
#include <time.h>

typedef struct runlogs runlogs_t;

/* Note the logs that exist before the run (pattern: absolute, with %p/%e). */
runlogs_t *runlogs_before(const char *pattern);

typedef struct run_tree {
	ag_log_t **logs;       /* loaded logs of the tree, by start time */
	size_t n;
	pid_t main_pid;
} run_tree_t;

/* After the run: the tree's logs, loaded; messages for unusable ones go to err.  start is
 * when the command was started (CLOCK_REALTIME); tag the ALLOCGUARD_TAG the run set. */
int runlogs_collect(runlogs_t *rl, pid_t main_pid, const char *tag,
		    const struct timespec *start, const char *cmd, run_tree_t *out, FILE *err);
void run_tree_free(run_tree_t *t);
void runlogs_free(runlogs_t *rl);

#endif
