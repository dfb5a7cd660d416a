/* cli.h: the subcommands behind build/allocguard (run.c: `run`; commands.c: the ones that
 * read logs), their help texts (help.c) and what `run` prints and does once its command
 * ended (summary.c); main.c only dispatches.  Exit codes: 0 ok, 1 a --fail-on threshold
 * was crossed, 2 bad usage or an unusable log; `run` passes the command's status through. */
#ifndef ALLOCGUARD_CLI_H
#define ALLOCGUARD_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "model.h"

#define ALLOCGUARD_VERSION "0.1.0"

int cmd_run(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_growth(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* ---- commands.c: what the log-reading commands share ---- */
/* leaks, growth and report take several logs (a run's children: allocguard leaks *.log) */
#define CMD_MAX_LOGS 4096
/* "allocguard: NAME: WHAT ARG (see allocguard NAME --help)"; returns 2. */
int cmd_usage_error(const char *name, const char *what, const char *arg);
/* Read a log (its damage warned about, node's JS heap merged): 0, or 2 after saying why. */
int cmd_load(const char *path, ag_log_t **log);

/* Help texts; topic NULL = the overall page.  0, or 2 for an unknown topic. */
int help_print(FILE *out, const char *topic);
/* The README's options table, in Markdown, from the options table. */
void help_options_table(FILE *out);

/* ---- summary.c: what `run` does once its command ended ---- */
typedef struct {
	int status;        /* the started command's wait status */
	int verbose;       /* every process of the tree, not only the few that matter */
	int keep_logs;     /* keep the logs of small child processes */
} summary_opts_t;

/* How the started command ended, for what follows it. */
struct runlogs;
typedef struct {
	pid_t pid;                   /* the started process */
	const char *tag;             /* the ALLOCGUARD_TAG the run set */
	struct timespec start;       /* when it was started (CLOCK_REALTIME), a second early */
	const char *cmd;             /* argv[0] as given */
	int exec_may_have_failed;    /* status 126 or 127: with no log, exec failed (said) */
	int quiet;                   /* no summary */
	int node_maps;               /* node's perf maps are ours (node_prepare) */
	struct supp *supp;           /* leak suppressions (suppress.h), NULL for none */
	size_t unfinished_scans;     /* exit scans' children that did not finish (said, reap.h) */
	summary_opts_t summary;
} run_end_t;

/* What the run's logs say for the leak gate. */
typedef struct {
	uint64_t lost;               /* lost bytes over the tree, after suppressions */
	int judged;                  /* the started process's final program left an exit verdict */
	size_t unjudged;             /* processes that exited without their exit scan judging */
	char why[400];               /* when not judged: why, for the gate's one line */
} run_verdict_t;

/* Find and load the run's logs (runlogs.c); print the summary (the started process, by what
 * it finally exec'd, first, then the child processes that matter, then what suppressions
 * took) and remove the logs of small child processes unless keep_logs; keep the part of
 * node's perf maps the logs need (node.c).  Takes rl over.  Fills v. */
void run_finish(struct runlogs *rl, const run_end_t *e, run_verdict_t *v);

#endif
