/* plot.c: `allocguard plot`: a picture of one log.  The SVG has two panels sharing the time
 * axis: tracked bytes (and heap, mapped and swapped when present) with the warn, critical
 * and cap lines and the events, and below it the live bytes of the top sites stacked.
 * Every series carries its exact figures (data-points="t_s:bytes ...") so tests and
 * scripts can read what is drawn.  Self-contained: no scripts, fonts or links to fetch.
 * The HTML page is page.c's. */
#include "exports.h"
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_TOP_SITES 5
#define PLOT_W 960
#define PLOT_LEFT 80         /* room for the byte axis labels */
#define PLOT_RIGHT 200       /* room for the threshold labels and legends */
#define PANEL1_Y 70
#define PANEL1_H 250
#define PANEL2_Y 380
#define PANEL2_H 190
#define PLOT_H 620
#define PLOT_TITLE_MAX 64    /* characters of the command in the title */
/* A cap this many times above the peak would flatten the curve: it is named, not drawn. */
#define PLOT_CAP_ZOOM 4.0

static const char *const site_colors[PLOT_TOP_SITES + 1] = {
	"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#bbbbbb",
};

typedef struct {
	const char *id, *label, *color;
	double *y;
	int width;                   /* stroke width; the total is drawn boldest */
	const char *dash;
} series_t;

typedef struct {
	double t;
	int kind;                    /* AG_CAP_EV_* */
	uint64_t bytes;
	uint64_t pid;
} plot_event_t;

typedef struct {
	char title[600], subtitle[400], panel2[100];
	int tree;                    /* several processes: panel 2 stacks them; caps are theirs */
	plot_event_t *ev;
	size_t nev;
	size_t n;                    /* points: one per snapshot */
	double *t;
	double *tracked, *heap, *mapped, *swapped;
	double *peak_so_far;         /* the highest tracked bytes seen by each snapshot */
	uint64_t peak;
	double tmax, ymax1, ymax2;
	uint64_t cap, warn_pct, crit_pct;
	int cap_drawn;
	size_t ntop;
	uint32_t top[PLOT_TOP_SITES];   /* sites (sites.h ids) */
	uint32_t *of;                   /* stack -> site */
	char label[PLOT_TOP_SITES + 1][200];
	double *site[PLOT_TOP_SITES + 1];   /* live bytes per top site, then "other" */
} plot_t;

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
	sites_labels(log, sym, rows, p->ntop, &p->label[0][0], sizeof p->label[0]);
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

/* Several logs of one process tree on one clock (their start times): panel 1 is the sum,
 * panel 2 stacks the processes. */
static int collect_tree(ag_log_t *const *logs, size_t nlogs, plot_t *p)
{
	memset(p, 0, sizeof *p);
	p->tree = 1;
	uint64_t origin = UINT64_MAX;
	size_t n = 0;
	for (size_t i = 0; i < nlogs; i++) {
		if (logs[i]->start_ns < origin)
			origin = logs[i]->start_ns;
		n += logs[i]->nsnaps;
	}
	double *offset = calloc(nlogs, sizeof *offset);
	double *most = calloc(nlogs, sizeof *most);
	size_t *cur = calloc(nlogs, sizeof *cur);
	int rc = offset && most && cur ? alloc_series(p, n) : ENOMEM;
	for (size_t i = 0, k = 0; !rc && i < nlogs; i++) {
		offset[i] = (double)(logs[i]->start_ns - origin) / 1e9;
		for (size_t j = 0; j < logs[i]->nsnaps; j++)
			p->t[k++] = offset[i] + (double)logs[i]->snaps[j].t_ns / 1e9;
		rc = add_events(p, logs[i], offset[i]);
	}
	if (rc) {
		free(offset);
		free(most);
		free(cur);
		return rc;
	}
	qsort(p->t, n, sizeof *p->t, dbl_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || p->t[i] > p->t[u - 1])
			p->t[u++] = p->t[i];
	p->n = n = u;
	for (size_t i = 0; i < nlogs; i++) {
		cur[i] = SIZE_MAX;
		for (size_t g = 0; g < n; g++)
			if (at_time(logs[i], offset[i], p->t[g], &cur[i]) &&
			    (double)logs[i]->snaps[cur[i]].tracked > most[i])
				most[i] = (double)logs[i]->snaps[cur[i]].tracked;
		cur[i] = SIZE_MAX;
	}
	/* the processes holding the most, each in its own band */
	size_t top[PLOT_TOP_SITES];
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
	for (size_t g = 0; g < n; g++) {
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
	free(offset);
	free(most);
	free(cur);
	p->cap = log_option_u64(logs[0], "cap", 0);
	scale(p);
	char *cmd = report_command(logs[0]), pk[40];
	size_str(p->peak, pk, sizeof pk);
	snprintf(p->title, sizeof p->title, "%zu processes of %s", nlogs, shorter(cmd));
	snprintf(p->subtitle, sizeof p->subtitle, "the sum peaked at %s tracked at a snapshot; "
		 "%zu points over %.3f s", pk, n, p->tmax);
	snprintf(p->panel2, sizeof p->panel2, "tracked bytes by process (stacked)");
	free(cmd);
	return 0;
}

/* ---- writing ---- */

void plot_esc(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		default:
			/* control bytes other than newline and tab are not allowed in XML 1.0 */
			fputc((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t' ? ' ' : *s, out);
		}
	}
}

static double px_x(const plot_t *p, double t)
{
	return PLOT_LEFT + t / p->tmax * (PLOT_W - PLOT_LEFT - PLOT_RIGHT);
}

static double px_y(double v, double ymax, int y0, int h)
{
	return y0 + h - v / ymax * h;
}

/* A round step near span/5 in 1, 2, 5 times a power of ten of the unit. */
static double nice_step(double span, double unit)
{
	double raw = span / unit / 5, mag = pow(10, floor(log10(raw > 0 ? raw : 1)));
	double f = raw / mag;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag * unit;
}

static void y_axis(FILE *out, double ymax, int y0, int h, const char *title)
{
	double unit = ymax >= 1024.0 * 1024 * 1024 * 2 ? 1024.0 * 1024 * 1024
		    : ymax >= 1024.0 * 1024 * 2 ? 1024.0 * 1024 : ymax >= 2048 ? 1024 : 1;
	const char *uname = unit >= 1024.0 * 1024 * 1024 ? "GiB" : unit >= 1024.0 * 1024 ? "MiB"
			  : unit >= 1024 ? "KiB" : "B";
	double step = nice_step(ymax, unit);
	fprintf(out, "<g class=\"axis\">\n");
	for (double v = 0; v <= ymax; v += step) {
		double y = px_y(v, ymax, y0, h);
		fprintf(out, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s%s</text>\n", PLOT_LEFT, y,
			PLOT_W - PLOT_RIGHT, y, PLOT_LEFT - 6, y + 4, v / unit, v > 0 ? " " : "",
			v > 0 ? uname : "");
	}
	fprintf(out, "<text class=\"title\" x=\"%d\" y=\"%d\">", PLOT_LEFT, y0 - 10);
	plot_esc(out, title);
	fprintf(out, "</text>\n</g>\n");
}

static void x_axis(FILE *out, const plot_t *p, int y0, int h)
{
	/* a run shorter than two seconds reads better in milliseconds */
	double unit = p->tmax < 2 ? 0.001 : 1;
	double step = nice_step(p->tmax, unit);
	fprintf(out, "<g class=\"axis\">\n<line class=\"base\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
		"y2=\"%d\"/>\n", PLOT_LEFT, y0 + h, PLOT_W - PLOT_RIGHT, y0 + h);
	for (double t = 0; t <= p->tmax * 1.0001; t += step)
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g %s</text>\n",
			px_x(p, t), y0 + h + 16, round(t / unit * 1000) / 1000, unit < 1 ? "ms" : "s");
	fprintf(out, "</g>\n");
}

static void data_points(FILE *out, const plot_t *p, const double *y)
{
	fputs(" data-points=\"", out);
	for (size_t i = 0; i < p->n; i++)
		fprintf(out, "%s%.3f:%.0f", i ? " " : "", p->t[i], y[i]);
	fputc('"', out);
}

static int any(const plot_t *p, const double *y)
{
	for (size_t i = 0; i < p->n; i++)
		if (y[i] > 0)
			return 1;
	return 0;
}

static void line_series(FILE *out, const plot_t *p, const series_t *s, size_t row)
{
	fprintf(out, "<path id=\"series-%s\" class=\"series\" fill=\"none\" stroke=\"%s\" "
		"stroke-width=\"%d\"%s%s%s", s->id, s->color, s->width,
		s->dash ? " stroke-dasharray=\"" : "", s->dash ? s->dash : "", s->dash ? "\"" : "");
	data_points(out, p, s->y);
	fputs(" d=\"", out);
	for (size_t i = 0; i < p->n; i++)
		fprintf(out, "%c%.1f %.1f", i ? 'L' : 'M', px_x(p, p->t[i]),
			px_y(s->y[i], p->ymax1, PANEL1_Y, PANEL1_H));
	fprintf(out, "\"/>\n");
	/* one dot per snapshot keeps a single-snapshot log visible */
	if (p->n == 1)
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
			px_x(p, p->t[0]), px_y(s->y[0], p->ymax1, PANEL1_Y, PANEL1_H), s->color);
	int lx = PLOT_W - PLOT_RIGHT + 14, ly = PANEL1_Y + 110 + (int)row * 18;
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
		"stroke-width=\"%d\"%s%s%s/><text x=\"%d\" y=\"%d\">", lx, ly - 4, lx + 18, ly - 4,
		s->color, s->width, s->dash ? " stroke-dasharray=\"" : "", s->dash ? s->dash : "",
		s->dash ? "\"" : "", lx + 24, ly);
	plot_esc(out, s->label);
	fputs("</text>\n", out);
}

static void threshold(FILE *out, const plot_t *p, const char *id, const char *label,
		      uint64_t bytes, const char *color, const char *dash)
{
	double y = px_y((double)bytes, p->ymax1, PANEL1_Y, PANEL1_H);
	char sz[40];
	size_str(bytes, sz, sizeof sz);
	fprintf(out, "<g id=\"line-%s\" class=\"threshold\" data-bytes=\"%" PRIu64 "\">"
		"<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\""
		"%s%s%s/><text x=\"%d\" y=\"%.1f\" fill=\"%s\">%s %s</text></g>\n", id, bytes,
		PLOT_LEFT, y, PLOT_W - PLOT_RIGHT, y, color, dash ? " stroke-dasharray=\"" : "",
		dash ? dash : "", dash ? "\"" : "", PLOT_W - PLOT_RIGHT + 6, y + 4, color, label, sz);
}

static void panel_tracked(FILE *out, const plot_t *p)
{
	y_axis(out, p->ymax1, PANEL1_Y, PANEL1_H, p->tree ? "tracked bytes of all the processes"
							 : "tracked bytes at each snapshot");
	x_axis(out, p, PANEL1_Y, PANEL1_H);
	if (p->cap_drawn) {
		threshold(out, p, "warn", "warn", p->cap / 100 * p->warn_pct, "#c9a400", "6 4");
		threshold(out, p, "critical", "critical", p->cap / 100 * p->crit_pct, "#e07000",
			  "6 4");
		threshold(out, p, "cap", "cap", p->cap, "#c00000", NULL);
	} else if (p->cap) {
		char sz[40];
		size_str(p->cap, sz, sizeof sz);
		fprintf(out, "<text id=\"cap-note\" data-bytes=\"%" PRIu64 "\" x=\"%d\" y=\"%d\" "
			"fill=\"#c00000\">cap %s %s</text>\n", p->cap, PLOT_W - PLOT_RIGHT + 6,
			PANEL1_Y + 4, sz, p->tree ? "per process" : "(far above)");
	}
	series_t s[] = {
		{ "tracked", "tracked (total)", "#222222", p->tracked, 3, NULL },
		{ "heap", "heap", "#1f77b4", p->heap, 1, NULL },
		{ "mapped", "mapped", "#ff7f0e", p->mapped, 1, NULL },
		{ "swapped", "swapped files", "#2ca02c", p->swapped, 1, NULL },
		/* peaks between snapshots show here, not on the tracked line */
		{ "peak", "peak so far", "#888888", p->peak_so_far, 1, "3 3" },
	};
	size_t row = 0;
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (i == 0 || any(p, s[i].y))
			line_series(out, p, &s[i], row++);
	fprintf(out, "<g id=\"events\">\n");
	for (size_t i = 0; i < p->nev; i++) {
		const plot_event_t *e = &p->ev[i];
		const char *kind = ag_cap_event_name(e->kind);
		const char *color = e->kind == AG_CAP_EV_WARN ? "#c9a400"
				  : e->kind == AG_CAP_EV_CRITICAL ? "#e07000" : "#c00000";
		double x = px_x(p, e->t);
		double y = px_y((double)e->bytes, p->ymax1, PANEL1_Y, PANEL1_H);
		fprintf(out, "<g class=\"event\" data-kind=\"%s\" data-t=\"%.3f\" data-bytes=\"%"
			PRIu64 "\" data-pid=\"%" PRIu64 "\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
			"y2=\"%d\" stroke=\"%s\" stroke-dasharray=\"2 3\"/><circle cx=\"%.1f\" "
			"cy=\"%.1f\" r=\"5\" fill=\"%s\"/><title>%s at %.3f s (pid %" PRIu64 ")"
			"</title></g>\n", kind, e->t, e->bytes, e->pid, x, PANEL1_Y, x,
			PANEL1_Y + PANEL1_H, color, x, y, color, kind, e->t, e->pid);
	}
	fprintf(out, "</g>\n");
	if (p->nev) {
		size_t nw = 0, nc = 0, ncap = 0;
		for (size_t i = 0; i < p->nev; i++)
			*(p->ev[i].kind == AG_CAP_EV_WARN ? &nw : p->ev[i].kind == AG_CAP_EV_CRITICAL ? &nc
			  : &ncap) += 1;
		int ly = PANEL1_Y + 110 + (int)row * 18 + 8;
		fprintf(out, "<text class=\"small\" x=\"%d\" y=\"%d\">events (dots): %zu warn,</text>"
			"<text class=\"small\" x=\"%d\" y=\"%d\">%zu critical, %zu cap</text>\n",
			PLOT_W - PLOT_RIGHT + 14, ly, nw, PLOT_W - PLOT_RIGHT + 14, ly + 14, nc, ncap);
	}
}

static void panel_sites(FILE *out, const plot_t *p)
{
	y_axis(out, p->ymax2, PANEL2_Y, PANEL2_H, p->panel2);
	x_axis(out, p, PANEL2_Y, PANEL2_H);
	double *base = calloc(p->n + 1, sizeof *base);
	if (!base)
		return;
	for (size_t s = 0; s <= p->ntop; s++) {
		const char *color = s == p->ntop ? site_colors[PLOT_TOP_SITES] : site_colors[s];
		fprintf(out, "<path id=\"site-%zu\" class=\"site\" fill=\"%s\" fill-opacity=\"0.8\" "
			"stroke=\"%s\"", s, color, color);
		data_points(out, p, p->site[s]);
		fputs(" data-label=\"", out);
		plot_esc(out, p->label[s]);
		fputs("\" d=\"", out);
		for (size_t i = 0; i < p->n; i++)
			fprintf(out, "%c%.1f %.1f", i ? 'L' : 'M', px_x(p, p->t[i]),
				px_y(base[i] + p->site[s][i], p->ymax2, PANEL2_Y, PANEL2_H));
		for (size_t i = p->n; i-- > 0;)
			fprintf(out, "L%.1f %.1f", px_x(p, p->t[i]),
				px_y(base[i], p->ymax2, PANEL2_Y, PANEL2_H));
		fprintf(out, "Z\"><title>");
		plot_esc(out, p->label[s]);
		fprintf(out, "</title></path>\n");
		for (size_t i = 0; i < p->n; i++)
			base[i] += p->site[s][i];
		int lx = PLOT_W - PLOT_RIGHT + 14, ly = PANEL2_Y + 10 + (int)s * 30;
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			"<text class=\"small\" x=\"%d\" y=\"%d\">", lx, ly - 10, color, lx + 18, ly);
		/* long labels wrap once: the function, then where it is */
		const char *paren = strstr(p->label[s], " (");
		if (paren && strlen(p->label[s]) > 26) {
			fprintf(out, "%.*s</text><text class=\"small\" x=\"%d\" y=\"%d\">",
				(int)(paren - p->label[s]), p->label[s], lx + 18, ly + 13);
			plot_esc(out, paren + 1);
		} else {
			plot_esc(out, p->label[s]);
		}
		fputs("</text>\n", out);
	}
	free(base);
}

static int write_svg(const plot_t *p, FILE *out)
{
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" "
		"data-peak=\"%" PRIu64 "\">\n", PLOT_W, PLOT_H, PLOT_W, PLOT_H, p->peak);
	fputs("<style>.grid{stroke:#e4e4e4}.base{stroke:#888}.axis text{fill:#555}"
	      ".title{font-weight:bold;fill:#222}.small{font-size:11px}"
	      "text{fill:#222}</style>\n", out);
	fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", PLOT_W, PLOT_H);
	fprintf(out, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">", PLOT_LEFT);
	plot_esc(out, p->title);
	fprintf(out, "</text>\n<text x=\"%d\" y=\"42\" fill=\"#555\">", PLOT_LEFT);
	plot_esc(out, p->subtitle);
	fputs("</text>\n", out);
	panel_tracked(out, p);
	panel_sites(out, p);
	fputs("</svg>\n", out);
	return ferror(out) ? EIO : 0;
}

int plot_svg(const ag_log_t *log, symbols_t *sym, FILE *out)
{
	plot_t p;
	int rc = collect(log, sym, &p);
	if (!rc)
		rc = write_svg(&p, out);
	plot_free(&p);
	return rc;
}

int plot_tree_svg(ag_log_t *const *logs, size_t n, FILE *out)
{
	plot_t p;
	int rc = collect_tree(logs, n, &p);
	if (!rc)
		rc = write_svg(&p, out);
	plot_free(&p);
	return rc;
}
