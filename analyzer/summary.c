/* summary.c: the few lines `allocguard run` prints after the command ends: the started
 * process (named by what it finally exec'd) with its peak (led by what was live at it, by
 * site, when nothing was lost), cap events, how it ended and its top lost sites; then the
 * child processes that matter; then where the logs are.  The figures are the reports'
 * (report_t, leaks_t); every line starts "allocguard:" like all our messages.  Also the
 * hand-over once the command ended (run_finish).  Which logs belong to the run is
 * runlogs.c's decision, starting the command run.c's. */
#include "cli.h"
#include "node.h"
#include "reports.h"
#include "runlogs.h"
#include "sites.h"
#include "suppress.h"
#include "table.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUMMARY_SITES 3
#define SUMMARY_CHILDREN 3
/* A child process with nothing lost, no cap event and a peak under this is small: its log
 * is removed unless --keep-logs. */
#define SUMMARY_SMALL_PEAK (1u << 20)

static const char *base(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;
	return b ? b + 1 : p ? p : "?";
}

typedef struct {
	ag_log_t *log;
	report_t report;     /* figures only: no site lists */
	int have_report;
	leaks_t leaks;
	int have_leaks;
	int end;             /* ag_reason_t of the last snapshot, -1 without one */
	int small;           /* a child whose log is not worth keeping */
} proc_t;

/* Suppressions need names: symbolized only for a process that lost something. */
static void proc_read(proc_t *p, ag_log_t *log, supp_t *supp)
{
	memset(p, 0, sizeof *p);
	p->log = log;
	p->have_report = report_collect(log, NULL, &p->report) == 0;
	p->end = log->nsnaps ? log->snaps[log->nsnaps - 1].why : -1;
	p->have_leaks = leaks_collect(log, &p->leaks) == 0;
	if (p->have_leaks && p->leaks.lost_bytes && supp && supp->n) {
		symbols_t *sym = symbols_open(log, NULL);
		if (sym)
			leaks_suppress(log, sym, supp, &p->leaks, 1);
		symbols_close(sym);
	}
}

static void events_line(FILE *err, const ag_log_t *log)
{
	if (!log->nevents)
		return;
	size_t n[3] = { 0 };
	for (size_t i = 0; i < log->nevents; i++)
		n[log->events[i].kind]++;
	const ag_event_t *e = &log->events[0];
	char a[40];
	size_str(e->bytes, a, sizeof a);
	fprintf(err, "allocguard:   cap events: %zu warn, %zu critical, %zu cap (first: %s at "
		"%.3f s, %s)\n", n[AG_CAP_EV_WARN], n[AG_CAP_EV_CRITICAL], n[AG_CAP_EV_CAP],
		ag_cap_event_name(e->kind),
		(double)e->t_ns / 1e9, a);
}

/* One site under a process's line: its bytes, blocks and label. */
static void site_line(FILE *err, symbols_t *sym, const ag_stack_t *st, uint64_t bytes,
		      uint64_t count)
{
	static const site_view_t view = SITE_VIEW_DEFAULT;   /* run's summary: no --frames */
	char label[600], b[40];
	site_label(sym, &view, st, label, sizeof label);
	size_str(bytes, b, sizeof b);
	fprintf(err, "allocguard:     %10s in %6" PRIu64 " block%s  %s\n", b, count,
		count == 1 ? " " : "s", label);
}

/* The top directly lost sites (where the bug is), one row per site as the reports show it:
 * the stacks that fold to the same frames merged, as `allocguard leaks` does. */
static void lost_sites(FILE *err, const proc_t *p, supp_t *supp)
{
	if (!p->leaks.lost_bytes)
		return;
	symbols_t *sym = symbols_open(p->log, NULL);
	leaks_t merged = { 0 };
	if (!sym || leaks_collect(p->log, &merged)) {
		leaks_free(&merged);
		symbols_close(sym);
		return;
	}
	leaks_suppress(p->log, sym, supp, &merged, 0);
	if (leaks_group(p->log, sym, &merged)) {
		leaks_free(&merged);
		symbols_close(sym);
		return;
	}
	const site_set_t *lost = &merged.set[LEAK_LOST];
	for (size_t i = 0; i < lost->nsites && i < SUMMARY_SITES; i++) {
		const site_t *s = &lost->sites[i];
		site_line(err, sym, &p->log->stacks[s->stack], s->fig.bytes, s->fig.count);
	}
	leaks_free(&merged);
	symbols_close(sym);
}

/* How the process ended, when it did not end with an exit snapshot. */
static void ending_line(FILE *err, const proc_t *p, int status, int is_main)
{
	char live[40];
	size_str(p->leaks.reach_bytes + p->leaks.lost_bytes, live, sizeof live);
	if (p->leaks.unchecked && p->leaks.at_exit) {
		fprintf(err, "allocguard:   exited with %s live; leak check off (--leak-check no): "
			"no lost or reachable verdict\n", live);
	} else if (p->end == AG_REASON_EXIT && !log_judged(p->log)) {
		fprintf(err, "allocguard:   exited, but its exit scan did not judge (%s): lost and "
			"reachable unknown; %s live\n", ag_verdict_name(p->log->verdict), live);
	} else if (p->end == AG_REASON_ABORT) {
		fprintf(err, "allocguard:   aborted at the cap (--on-cap abort); its final snapshot "
			"shows %s live\n", live);
	} else if (p->end == AG_REASON_EXEC) {
		fprintf(err, "allocguard:   replaced its image by exec (of a program not under the "
			"guard); %s live then\n", live);
	} else if (is_main && WIFSIGNALED(status)) {
		fprintf(err, "allocguard:   killed by signal %d (%s): no exit snapshot; %s live at "
			"the last one\n", WTERMSIG(status), strsignal(WTERMSIG(status)), live);
	} else {
		fprintf(err, "allocguard:   no exit snapshot (ended by _exit, a crash or a kill); "
			"%s live at the last one\n", live);
	}
}

/* The sites that made the peak, when the log says (K/T lines): the report's, symbolized
 * only for the started process and only when they are shown. */
static void peak_sites(FILE *err, const ag_log_t *log)
{
	symbols_t *sym = symbols_open(log, NULL);
	report_t r;
	if (sym && report_collect(log, sym, &r) == 0) {
		for (size_t i = 0; i < r.peak_sites.nsites && i < SUMMARY_SITES; i++) {
			const site_t *s = &r.peak_sites.sites[i];
			site_line(err, sym, &log->stacks[s->stack], s->fig.bytes, s->fig.count);
		}
		report_free(&r);
	}
	symbols_close(sym);
}

static void main_lines(FILE *err, const proc_t *p, const proc_t *first, int status,
		       supp_t *supp)
{
	char a[40], b[40], c[40], d[40];
	report_peak_t pk = p->report.peak;
	size_str(pk.bytes, a, sizeof a);
	size_str(pk.heap, b, sizeof b);
	size_str(pk.mapped, c, sizeof c);
	size_str(pk.swapped, d, sizeof d);
	char from[300] = "";
	if (first != p)
		snprintf(from, sizeof from, ", exec'd by %s", base(first->log->exe));
	fprintf(err, "allocguard: pid %" PRIu64 " (%s%s): peak %s tracked (heap %s, mapped %s, "
		"swapped %s), %zu snapshot%s\n", p->log->pid, base(p->log->exe), from, a, b, c, d,
		p->log->nsnaps, p->log->nsnaps == 1 ? "" : "s");
	if (p->have_leaks && p->leaks.known && !p->leaks.lost_bytes && p->report.peak_by_site &&
	    pk.bytes) {
		fprintf(err, "allocguard:   live at the peak, by site%s:\n",
			p->report.sampled ? " (estimated)" : "");
		peak_sites(err, p->log);
	}
	events_line(err, p->log);
	if (!p->have_leaks)
		return;
	if (!p->leaks.known) {
		ending_line(err, p, status, 1);
	} else {
		size_str(p->leaks.lost_bytes, a, sizeof a);
		size_str(p->leaks.reach_bytes, b, sizeof b);
		char more[80] = "";
		if (p->leaks.supp_bytes) {
			size_str(p->leaks.supp_bytes, d, sizeof d);
			snprintf(more, sizeof more, " (%s more suppressed)", d);
		}
		fprintf(err, "allocguard:   lost at exit: %s in %" PRIu64 " block%s%s%s; still "
			"reachable: %s\n", a, p->leaks.lost_count, p->leaks.lost_count == 1 ? "" : "s",
			log_sampled(p->log) ? " (estimated)" : "", more, b);
		lost_sites(err, p, supp);
	}
	log_warn_damage(p->log, err);
	fprintf(err, "allocguard:   log: %s\n", p->log->path);
}

static void child_line(FILE *err, const proc_t *p, int removed)
{
	char a[40], b[40];
	size_str(p->report.peak.bytes, a, sizeof a);
	size_str(p->leaks.lost_bytes, b, sizeof b);
	const char *how = p->leaks.known ? "" : p->leaks.unchecked ? " (leak check off)" :
			  p->end == AG_REASON_EXEC ? " (then exec'd)" : " (no exit snapshot)";
	fprintf(err, "allocguard: child pid %" PRIu64 " (%s): peak %s, lost %s%s%s: %s%s\n",
		p->log->pid, base(p->log->exe), a, b, how,
		p->log->nevents ? ", cap events" : "", p->log->path, removed ? " (removed)" : "");
}

/* Children that matter first: any loss, then cap events, then the largest peaks. */
static int child_cmp(const void *x, const void *y)
{
	const proc_t *a = *(proc_t *const *)x, *b = *(proc_t *const *)y;
	if (a->leaks.lost_bytes != b->leaks.lost_bytes)
		return a->leaks.lost_bytes > b->leaks.lost_bytes ? -1 : 1;
	if (!!a->log->nevents != !!b->log->nevents)
		return a->log->nevents ? -1 : 1;
	if (a->report.peak.bytes != b->report.peak.bytes)
		return a->report.peak.bytes > b->report.peak.bytes ? -1 : 1;
	return a->log->pid < b->log->pid ? -1 : a->log->pid > b->log->pid;
}

static int is_small(const proc_t *p)
{
	int ended = p->leaks.known || p->end == AG_REASON_EXEC ||
		    (p->leaks.unchecked && p->leaks.at_exit);
	return p->have_leaks && ended && p->leaks.lost_bytes == 0 && !p->log->nevents &&
	       !p->log->damage_line && p->report.peak.bytes < SUMMARY_SMALL_PEAK;
}

/* Whether the gate may judge: something of the tree was seen, and the started process did
 * not end in a program the guard could not follow.  A started process with no log of its
 * own but logging children is a shell that ended by _exit before its first snapshot (dash
 * does): its children were seen. */
static void judge(const run_tree_t *tree, const proc_t *last, const char *cmd, run_verdict_t *v)
{
	v->judged = 0;
	if (!tree->n)
		snprintf(v->why, sizeof v->why, "%s left no log (a static or setuid program, or a "
			 "log that could not be created)", cmd);
	else if (last && last->end == AG_REASON_EXEC)
		snprintf(v->why, sizeof v->why, "the program %s exec'd left no log (a static or "
			 "setuid program)", base(last->log->exe));
	else if (v->unjudged)
		snprintf(v->why, sizeof v->why, "%zu process%s exited without a leak verdict (see "
			 "the summary)", v->unjudged, v->unjudged == 1 ? "" : "es");
	else
		v->judged = 1;
}

static void run_summary(FILE *err, const run_tree_t *tree, const run_end_t *e,
			run_verdict_t *v)
{
	const summary_opts_t *o = &e->summary;
	v->lost = 0;
	if (!tree->n) {
		if (!e->unfinished_scans)   /* else a log that has no snapshot yet: said */
			fprintf(err, "allocguard: no log was found (is the log directory writable? "
				"a static or setuid program cannot be preloaded)\n");
		judge(tree, NULL, e->cmd, v);
		return;
	}
	proc_t *procs = calloc(tree->n, sizeof *procs);
	proc_t **children = calloc(tree->n, sizeof *children);
	if (!procs || !children) {
		free(procs);
		free(children);
		return;
	}
	/* Logs come by start time: the started pid's images in exec order. */
	proc_t *first = NULL, *last = NULL;
	size_t nchildren = 0;
	for (size_t i = 0; i < tree->n; i++) {
		proc_t *p = &procs[i];
		proc_read(p, tree->logs[i], e->supp);
		if (p->have_leaks)
			v->lost = ag_sat_add(v->lost, p->leaks.lost_bytes);
		v->unjudged += p->end == AG_REASON_EXIT && !log_judged(p->log);
		if (p->log->pid == (uint64_t)tree->main_pid) {
			first = first ? first : p;
			last = p;
			p->small = is_small(p);   /* an image that exec'd on: a wrapper's */
		} else {
			p->small = is_small(p);
			children[nchildren++] = p;
		}
	}
	judge(tree, last, e->cmd, v);
	if (e->quiet)
		;   /* -q: nobody reads the main process's lines (symbols, sites): not computed */
	else if (last)
		main_lines(err, last, first, o->status, e->supp);
	else
		fprintf(err, "allocguard: pid %d wrote no log (it exec'd a static or setuid "
			"program, or ended by _exit before its first snapshot)\n", (int)tree->main_pid);
	qsort(children, nchildren, sizeof *children, child_cmp);
	size_t removed = 0, shown = 0, hidden_small = 0;
	/* the started process's images before the last (a wrapper that exec'd the program,
	 * living long enough for a snapshot): small ones go like small children */
	for (size_t i = 0; i < tree->n; i++)
		removed += &procs[i] != last && procs[i].log->pid == (uint64_t)tree->main_pid &&
			   procs[i].small && procs[i].end == AG_REASON_EXEC && !o->keep_logs &&
			   unlink(procs[i].log->path) == 0;
	for (size_t i = 0; i < nchildren; i++) {
		proc_t *p = children[i];
		int rm = p->small && !o->keep_logs && unlink(p->log->path) == 0;
		removed += rm;
		if (o->verbose || (shown < SUMMARY_CHILDREN && !p->small)) {
			child_line(err, p, rm);
			shown++;
		} else if (p->small) {
			hidden_small++;
		}
	}
	if (shown < nchildren) {
		char small[40];
		size_str(SUMMARY_SMALL_PEAK, small, sizeof small);
		fprintf(err, "allocguard: ... and %zu more child process%s (%zu small: peak under "
			"%s, nothing lost); -v lists every one\n", nchildren - shown,
			nchildren - shown == 1 ? "" : "es", hidden_small, small);
	}
	if (removed)
		fprintf(err, "allocguard: removed the logs of %zu small process%s (children, "
			"and images that exec'd the program; --keep-logs keeps them)\n", removed,
			removed == 1 ? "" : "es");
	supp_print_used(e->supp, err, "allocguard: ");
	if (last)
		fprintf(err, "allocguard: details: allocguard leaks %s  (also: report, growth)\n",
			last->log->path);
	for (size_t i = 0; i < tree->n; i++) {
		if (procs[i].have_leaks)
			leaks_free(&procs[i].leaks);
		if (procs[i].have_report)
			report_free(&procs[i].report);
	}
	free(children);
	free(procs);
}

void run_finish(runlogs_t *rl, const run_end_t *e, run_verdict_t *v)
{
	run_tree_t tree;
	runlogs_collect(rl, e->pid, e->tag, &e->start, e->cmd, &tree, stderr);
	runlogs_free(rl);
	memset(v, 0, sizeof *v);
	if (tree.n || !e->exec_may_have_failed) {
		FILE *sink = e->quiet ? fopen("/dev/null", "w") : stderr;
		run_summary(sink ? sink : stderr, &tree, e, v);
		if (sink && sink != stderr)
			fclose(sink);
	} else {
		judge(&tree, NULL, e->cmd, v);
	}
	node_side_files(tree.logs, tree.n, e->node_maps);
	run_tree_free(&tree);
}
