/* plot.c: `allocguard plot`: a picture of one log.  The SVG has two panels sharing the time
 * axis: tracked bytes (and heap, mapped and swapped when present) with the warn, critical
 * and cap lines and the events, and below it the live bytes of the top sites stacked.
 * Every series carries its exact figures (data-points="t_s:bytes ...") so tests and
 * scripts can read what is drawn.  Self-contained: no scripts, fonts or links to fetch.
 * This file collects the figures (plot.h); plot_svg.c draws them; the HTML page is
 * page.c's. */
#include "exports.h"
#include "plot.h"
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_TITLE_MAX 64    /* characters of the command in the title */
/* A cap this many times above the peak would flatten the curve: it is named, not drawn. */
#define PLOT_CAP_ZOOM 4.0

static void plot_free(plot_t *p)
{
	free(p->t);
	free(p->of);
	free(p->tracked);
	free(p->heap);
	free(p->mapped);
	free(p->swapped);
	free(p->peak_so_far);
	free(p->ev);
	for (size_t i = 0; i <= PLOT_TOP_SITES; i++)
		free(p->site[i]);
}

static int alloc_series(plot_t *p, size_t n)
{
	p->n = n;
	double **all[] = { &p->t, &p->tracked, &p->heap, &p->mapped, &p->swapped,
			   &p->peak_so_far };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (!(*all[i] = calloc(n + 1, sizeof(double))))
			return ENOMEM;
	for (size_t i = 0; i <= PLOT_TOP_SITES; i++)
		if (!(p->site[i] = calloc(n + 1, sizeof(double))))
			return ENOMEM;
	return 0;
}

/* The y ranges and the time span, once the series are filled. */
static void scale(plot_t *p)
{
	double top = (double)p->peak;
	p->tmax = p->n ? p->t[p->n - 1] : 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->tracked[i] > top)
			top = p->tracked[i];
		double sum = 0;
		for (size_t k = 0; k <= p->ntop; k++)
			sum += p->site[k][i];
		if (sum > p->ymax2)
			p->ymax2 = sum;
	}
	for (size_t i = 0; i < p->nev; i++)
		if (p->ev[i].t > p->tmax)
			p->tmax = p->ev[i].t;
	if (!(p->tmax > 0))
		p->tmax = 1;
	p->cap_drawn = !p->tree && p->cap &&
		       (double)p->cap <= PLOT_CAP_ZOOM * (top > 0 ? top : 1);
	if (p->cap_drawn && (double)p->cap > top)
		top = (double)p->cap;
	p->ymax1 = top > 0 ? top * 1.08 : 1024;
	p->ymax2 = p->ymax2 > 0 ? p->ymax2 * 1.08 : 1024;
}

static int add_events(plot_t *p, const ag_log_t *log, double offset_s)
{
	if (!log->nevents)
		return 0;
	plot_event_t *ev = realloc(p->ev, (p->nev + log->nevents) * sizeof *ev);
	if (!ev)
		return ENOMEM;
	p->ev = ev;
	for (size_t i = 0; i < log->nevents; i++)
		p->ev[p->nev++] = (plot_event_t){ offset_s + (double)log->events[i].t_ns / 1e9,
						  log->events[i].kind, log->events[i].bytes,
						  log->pid };
	return 0;
}

/* The top sites (sites.h): largest live bytes, summed over their paths, at any snapshot.
 * p->of maps each stack to its site. */
static int pick_top(const ag_log_t *log, symbols_t *sym, plot_t *p)
{
	ag_stackval_t *st = calloc(log->nstacks + 1, sizeof *st);
	double *now = calloc(log->nstacks + 1, sizeof *now);
	double *most = calloc(log->nstacks + 1, sizeof *most);
	p->of = sites_of(log, sym);
	if (!st || !now || !most || !p->of) {
		free(st);
		free(now);
		free(most);
		return ENOMEM;
	}
	for (size_t k = 0; k < log->nsnaps; k++) {
		log_apply(log, k, st);
		memset(now, 0, log->nstacks * sizeof *now);
		for (size_t i = 0; i < log->nstacks; i++)
			now[p->of[i]] += (double)st[i].live_bytes;
		for (size_t i = 0; i < log->nstacks; i++)
			if (now[i] > most[i])
				most[i] = now[i];
	}
	for (p->ntop = 0; p->ntop < PLOT_TOP_SITES; p->ntop++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < log->nstacks; i++)
			if (most[i] > 0 && (best == SIZE_MAX || most[i] > most[best]))
				best = i;
		if (best == SIZE_MAX)
			break;
		p->top[p->ntop] = (uint32_t)best;
		most[best] = 0;
	}
	/* the labels of the top sites, made distinct (sites.h) */
	site_t as[PLOT_TOP_SITES];
	const site_t *rows[PLOT_TOP_SITES];
	for (size_t i = 0; i < p->ntop; i++) {
		as[i] = (site_t){ .id = p->top[i], .stack = p->top[i],
				  .kind = log->stacks[p->top[i]].kind };
		rows[i] = &as[i];
	}
	static const site_view_t view = SITE_VIEW_DEFAULT;   /* plot has no --frames */
	sites_labels(log, sym, &view, rows, p->ntop, &p->label[0][0], sizeof p->label[0]);
	snprintf(p->label[p->ntop], sizeof p->label[0], "other sites");
	free(st);
	free(now);
	free(most);
	return 0;
}

/* A command cut to what fits the title line (in place; "?" for none). */
static const char *shorter(char *cmd)
{
	if (!cmd)
		return "?";
	if (strlen(cmd) > PLOT_TITLE_MAX)
		strcpy(cmd + PLOT_TITLE_MAX - 3, "...");
	return cmd;
}

static int collect(const ag_log_t *log, symbols_t *sym, plot_t *p)
{
	memset(p, 0, sizeof *p);
	size_t n = log->nsnaps;
	int rc = alloc_series(p, n);
	if (!rc)
		rc = pick_top(log, sym, p);
	if (!rc)
		rc = add_events(p, log, 0);
	/* the figures `report` shows: its peak, final and cap */
	report_t r;
	if (!rc)
		rc = report_collect(log, NULL, &r);
	ag_stackval_t *st = rc ? NULL : calloc(log->nstacks + 1, sizeof *st);
	if (rc || !st) {
		if (!rc)
			report_free(&r);
		free(st);
		return rc ? rc : ENOMEM;
	}
	p->peak = r.peak.bytes;
	for (size_t k = 0; k < n; k++) {
		const ag_snap_t *s = &log->snaps[k];
		p->t[k] = (double)s->t_ns / 1e9;
		p->tracked[k] = (double)s->tracked;
		p->heap[k] = (double)s->heap;
		p->mapped[k] = (double)s->mapped;
		p->swapped[k] = (double)s->swapped;
		p->peak_so_far[k] = (double)s->peak_tracked;
		if (k && p->peak_so_far[k - 1] > p->peak_so_far[k])
			p->peak_so_far[k] = p->peak_so_far[k - 1];
		log_apply(log, k, st);
		double other = 0, sum = 0;
		for (size_t i = 0; i < log->nstacks; i++)
			other += (double)st[i].live_bytes;
		for (size_t i = 0; i < p->ntop; i++)
			p->site[i][k] = 0;
		for (size_t i = 0; i < log->nstacks && p->ntop; i++)
			for (size_t b = 0; b < p->ntop; b++)
				if (p->of[i] == p->top[b]) {
					p->site[b][k] += (double)st[i].live_bytes;
					sum += (double)st[i].live_bytes;
				}
		p->site[p->ntop][k] = other - sum;
	}
	free(st);
	p->cap = r.cap.bytes;
	p->warn_pct = r.cap.warn_pct;
	p->crit_pct = r.cap.critical_pct;
	scale(p);
	char pk[40], fin[40];
	size_str(r.peak.bytes, pk, sizeof pk);
	size_str(r.final.bytes, fin, sizeof fin);
	snprintf(p->title, sizeof p->title, "%s (pid %" PRIu64 ")", shorter(r.command), log->pid);
	snprintf(p->subtitle, sizeof p->subtitle, "peak %s tracked, final %s, %zu snapshot%s over "
		 "%.3f s%s", pk, fin, r.snapshots, r.snapshots == 1 ? "" : "s", r.duration_s,
		 r.sampled ? " (sampled: site figures are estimates)" : "");
	snprintf(p->panel2, sizeof p->panel2, "live bytes of the top sites (stacked)");
	report_free(&r);
	return 0;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A process's snapshot at time t on the tree's clock: its last snapshot at or before t;
 * none before its first snapshot, nor after an exit snapshot.  *cur (start at SIZE_MAX)
 * only moves forward, so a pass over the ascending grid is linear. */
static int at_time(const ag_log_t *log, double offset, double t, size_t *cur)
{
	while ((*cur == SIZE_MAX ? 0 : *cur + 1) < log->nsnaps &&
	       offset + (double)log->snaps[*cur == SIZE_MAX ? 0 : *cur + 1].t_ns / 1e9 <= t + 1e-9)
		*cur = *cur == SIZE_MAX ? 0 : *cur + 1;
	if (*cur == SIZE_MAX)
		return 0;
	const ag_snap_t *s = &log->snaps[*cur];
	return !(*cur + 1 == log->nsnaps && s->why == AG_REASON_EXIT &&
		 offset + (double)s->t_ns / 1e9 < t - 1e-9);
}

static const char *base(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;
	return b ? b + 1 : p ? p : "?";
}

/* The tree's clock: every snapshot's time from the earliest start, sorted, each once;
 * offset[i] is where log i starts on it. */
static int tree_clock(ag_log_t *const *logs, size_t nlogs, plot_t *p, double *offset)
{
	uint64_t origin = UINT64_MAX;
	size_t n = 0;
	for (size_t i = 0; i < nlogs; i++) {
		if (logs[i]->start_ns < origin)
			origin = logs[i]->start_ns;
		n += logs[i]->nsnaps;
	}
	int rc = alloc_series(p, n);
	for (size_t i = 0, k = 0; !rc && i < nlogs; i++) {
		offset[i] = (double)(logs[i]->start_ns - origin) / 1e9;
		for (size_t j = 0; j < logs[i]->nsnaps; j++)
			p->t[k++] = offset[i] + (double)logs[i]->snaps[j].t_ns / 1e9;
		rc = add_events(p, logs[i], offset[i]);
	}
	if (rc)
		return rc;
	qsort(p->t, n, sizeof *p->t, dbl_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || p->t[i] > p->t[u - 1])
			p->t[u++] = p->t[i];
	p->n = u;
	return 0;
}

/* The processes that held the most at a point of the clock, each a band of panel 2 (top[b]
 * is band b's log); the others share the last band. */
static int tree_bands(ag_log_t *const *logs, size_t nlogs, plot_t *p, const double *offset,
		      size_t *top)
{
	double *most = calloc(nlogs, sizeof *most);
	if (!most)
		return ENOMEM;
	for (size_t i = 0; i < nlogs; i++) {
		size_t cur = SIZE_MAX;
		for (size_t g = 0; g < p->n; g++)
			if (at_time(logs[i], offset[i], p->t[g], &cur) &&
			    (double)logs[i]->snaps[cur].tracked > most[i])
				most[i] = (double)logs[i]->snaps[cur].tracked;
	}
	for (p->ntop = 0; p->ntop < PLOT_TOP_SITES && p->ntop < nlogs; p->ntop++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < nlogs; i++)
			if (most[i] >= 0 && (best == SIZE_MAX || most[i] > most[best]))
				best = i;
		if (best == SIZE_MAX)
			break;
		top[p->ntop] = best;
		most[best] = -1;
		snprintf(p->label[p->ntop], sizeof p->label[0], "%.150s (pid %" PRIu64 ")",
			 base(logs[best]->exe), logs[best]->pid);
	}
	snprintf(p->label[p->ntop], sizeof p->label[0], "other processes");
	free(most);
	return 0;
}

/* At each point of the clock, panel 1 sums the processes and panel 2 stacks their bands. */
static int tree_sum(ag_log_t *const *logs, size_t nlogs, plot_t *p, const double *offset,
		    const size_t *top)
{
	size_t *cur = malloc((nlogs ? nlogs : 1) * sizeof *cur);
	if (!cur)
		return ENOMEM;
	for (size_t i = 0; i < nlogs; i++)
		cur[i] = SIZE_MAX;
	for (size_t g = 0; g < p->n; g++) {
		for (size_t i = 0; i < nlogs; i++) {
			if (!at_time(logs[i], offset[i], p->t[g], &cur[i]))
				continue;
			const ag_snap_t *s = &logs[i]->snaps[cur[i]];
			p->tracked[g] += (double)s->tracked;
			p->heap[g] += (double)s->heap;
			p->mapped[g] += (double)s->mapped;
			p->swapped[g] += (double)s->swapped;
			size_t band = p->ntop;
			for (size_t b = 0; b < p->ntop; b++)
				if (top[b] == i)
					band = b;
			p->site[band][g] += (double)s->tracked;
		}
		p->peak_so_far[g] = p->tracked[g];
		if (g && p->peak_so_far[g - 1] > p->peak_so_far[g])
			p->peak_so_far[g] = p->peak_so_far[g - 1];
		if (p->tracked[g] > (double)p->peak)
			p->peak = (uint64_t)p->tracked[g];
	}
	free(cur);
	return 0;
}

/* Several logs of one process tree on one clock (their start times): panel 1 is the sum,
 * panel 2 stacks the processes. */
static int collect_tree(ag_log_t *const *logs, size_t nlogs, plot_t *p)
{
	memset(p, 0, sizeof *p);
	p->tree = 1;
	double *offset = calloc(nlogs, sizeof *offset);
	size_t top[PLOT_TOP_SITES];
	int rc = offset ? tree_clock(logs, nlogs, p, offset) : ENOMEM;
	if (!rc)
		rc = tree_bands(logs, nlogs, p, offset, top);
	if (!rc)
		rc = tree_sum(logs, nlogs, p, offset, top);
	free(offset);
	if (rc)
		return rc;
	p->cap = log_option_u64(logs[0], "cap", 0);
	scale(p);
	char *cmd = report_command(logs[0]), pk[40];
	size_str(p->peak, pk, sizeof pk);
	snprintf(p->title, sizeof p->title, "%zu processes of %s", nlogs, shorter(cmd));
	snprintf(p->subtitle, sizeof p->subtitle, "the sum peaked at %s tracked at a snapshot; "
		 "%zu points over %.3f s", pk, p->n, p->tmax);
	snprintf(p->panel2, sizeof p->panel2, "tracked bytes by process (stacked)");
	free(cmd);
	return 0;
}

int plot_svg(const ag_log_t *log, symbols_t *sym, FILE *out)
{
	plot_t p;
	int rc = collect(log, sym, &p);
	if (!rc)
		rc = plot_write_svg(&p, out);
	plot_free(&p);
	return rc;
}

int plot_tree_svg(ag_log_t *const *logs, size_t n, FILE *out)
{
	plot_t p;
	int rc = collect_tree(logs, n, &p);
	if (!rc)
		rc = plot_write_svg(&p, out);
	plot_free(&p);
	return rc;
}
