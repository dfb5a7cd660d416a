/* summary.c: the few lines `allocguard run` prints after the command ends: per process its
 * peak, cap events, lost bytes with the top lost sites, and where the logs are.  Every line
 * starts "allocguard:" like all our messages. */
#include "cli.h"
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_SITES 3
#define SUMMARY_CHILDREN 3

static const char *base(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;
	return b ? b + 1 : p ? p : "?";
}

static void one(FILE *err, const ag_log_t *log, uint64_t *lost)
{
	char a[40], b[40], c[40];
	uint64_t peak = 0, ph = 0, pm = 0;
	for (size_t i = 0; i < log->nsnaps; i++) {
		if (log->snaps[i].peak_tracked > peak)
			peak = log->snaps[i].peak_tracked;
		if (log->snaps[i].peak_heap > ph)
			ph = log->snaps[i].peak_heap;
		if (log->snaps[i].peak_mapped > pm)
			pm = log->snaps[i].peak_mapped;
	}
	size_str(peak, a, sizeof a);
	size_str(ph, b, sizeof b);
	size_str(pm, c, sizeof c);
	fprintf(err, "allocguard: %s %" PRIu64 " (%s): peak %s tracked (heap %s, mapped %s), "
		"%zu snapshot%s\n", "pid", log->pid, base(log->exe), a,
		b, c, log->nsnaps, log->nsnaps == 1 ? "" : "s");
	if (log->nevents) {
		size_t n[3] = { 0 };
		for (size_t i = 0; i < log->nevents; i++)
			n[log->events[i].kind]++;
		const ag_event_t *e = &log->events[0];
		size_str(e->bytes, a, sizeof a);
		fprintf(err, "allocguard:   cap events: %zu warn, %zu critical, %zu cap (first: %s at "
			"%.3f s, %s)\n", n[AG_EV_WARN], n[AG_EV_CRITICAL], n[AG_EV_CAP],
			e->kind == AG_EV_WARN ? "warn" : e->kind == AG_EV_CRITICAL ? "critical" : "cap",
			(double)e->t_ns / 1e9, a);
	}
	leaks_t l;
	if (leaks_collect(log, &l))
		return;
	*lost += l.lost_bytes;
	size_str(l.lost_bytes, a, sizeof a);
	size_str(l.reach_bytes, b, sizeof b);
	if (!l.known) {
		fprintf(err, "allocguard:   no exit snapshot (killed?): %s live at the last one\n", b);
	} else {
		fprintf(err, "allocguard:   lost at exit: %s in %" PRIu64 " block%s%s; still reachable: "
			"%s\n", a, l.lost_count, l.lost_count == 1 ? "" : "s",
			log_sampled(log) ? " (estimated)" : "", b);
		symbols_t *sym = NULL;
		size_t shown = 0;
		for (size_t i = 0; i < l.nsites && shown < SUMMARY_SITES; i++) {
			if (l.sites[i].reachable)
				continue;
			if (!sym && !(sym = symbols_open(log, NULL)))
				break;
			char label[600], bytes[40];
			site_label(sym, &log->stacks[l.sites[i].stack], label, sizeof label);
			size_str(l.sites[i].bytes, bytes, sizeof bytes);
			fprintf(err, "allocguard:     %10s in %6" PRIu64 " block%s  %s\n", bytes,
				l.sites[i].count, l.sites[i].count == 1 ? " " : "s", label);
			shown++;
		}
		symbols_close(sym);
	}
	leaks_free(&l);
	log_warn_damage(log, err);
	fprintf(err, "allocguard:   log: %s\n", log->path);
}

/* Children get one line each: who, peak, lost, where. */
static void child(FILE *err, const ag_log_t *log, uint64_t *lost)
{
	uint64_t peak = 0;
	for (size_t i = 0; i < log->nsnaps; i++)
		if (log->snaps[i].peak_tracked > peak)
			peak = log->snaps[i].peak_tracked;
	leaks_t l;
	if (leaks_collect(log, &l))
		return;
	*lost += l.lost_bytes;
	char a[40], b[40];
	size_str(peak, a, sizeof a);
	size_str(l.lost_bytes, b, sizeof b);
	fprintf(err, "allocguard: child pid %" PRIu64 " (%s): peak %s, lost %s%s: %s\n", log->pid,
		base(log->exe), a, b, l.known ? "" : " (no exit snapshot)", log->path);
	leaks_free(&l);
}

static void child_lost(const ag_log_t *log, uint64_t *lost)
{
	leaks_t l;
	if (leaks_collect(log, &l))
		return;
	*lost += l.lost_bytes;
	leaks_free(&l);
}

void run_summary(FILE *err, char *const *logs, size_t nlogs, pid_t main_pid, uint64_t *lost)
{
	*lost = 0;
	if (!nlogs) {
		fprintf(err, "allocguard: no log was found (is the log directory writable? a static "
			"or setuid program cannot be preloaded)\n");
		return;
	}
	ag_log_t **parsed = calloc(nlogs, sizeof *parsed);
	if (!parsed)
		return;
	size_t main_idx = nlogs;
	for (size_t i = 0; i < nlogs; i++) {
		char msg[512];
		if (log_load(logs[i], &parsed[i], msg, sizeof msg)) {
			fprintf(err, "allocguard: %s\n", msg);
			parsed[i] = NULL;
			continue;
		}
		if (parsed[i]->pid == (uint64_t)main_pid)
			main_idx = i;
	}
	if (main_idx < nlogs)
		one(err, parsed[main_idx], lost);
	size_t children = 0;
	for (size_t i = 0; i < nlogs; i++) {
		if (i == main_idx || !parsed[i])
			continue;
		if (children++ < SUMMARY_CHILDREN)
			child(err, parsed[i], lost);
		else
			child_lost(parsed[i], lost);
	}
	if (children > SUMMARY_CHILDREN)
		fprintf(err, "allocguard: ... and %zu more child process logs (same pattern)\n",
			children - SUMMARY_CHILDREN);
	if (main_idx < nlogs)
		fprintf(err, "allocguard: details: allocguard leaks %s  (also: report, growth)\n",
			logs[main_idx]);
	for (size_t i = 0; i < nlogs; i++)
		log_free(parsed[i]);
	free(parsed);
}
