/* node.h: what `run` does for node programs: NODE_OPTIONS that make node name its JS
 * functions (a perf map, interpreted frames included), and afterwards keeping the part of
 * each perf map the logs need beside the log instead of in /tmp.  run.c prepares;
 * summary.c's run_finish keeps the maps after the summary. */
#ifndef ALLOCGUARD_NODE_H
#define ALLOCGUARD_NODE_H

#include "model.h"

#include <stddef.h>

/* Add the flags to NODE_OPTIONS, keeping the user's own.  Returns 1 when the perf map is
 * ours (the user did not ask for one), 0 when the user's NODE_OPTIONS already had it. */
int node_prepare(void);
/* For each process of the run that left /tmp/perf-PID.map: when ours, copy the entries
 * its stacks use to LOG.jsmap, name that in the log (a J line) and remove the /tmp map
 * and V8's isolate log.  Call it after the summary (which reads the /tmp maps). */
void node_side_files(ag_log_t *const *logs, size_t nlogs, int ours);

#endif
