/* plot.c: `allocguard plot`: a picture of one log.  The SVG has two panels sharing the time
 * axis: tracked bytes (and heap, mapped and swapped when present) with the warn, critical
 * and cap lines and the events, and below it the live bytes of the top sites stacked.
 * Every series carries its exact figures (data-points="t_s:bytes ...") so tests and
 * scripts can read what is drawn.  The HTML page wraps the SVG with the text of `report`,
 * `leaks` and `growth`.  Self-contained: no scripts, fonts or links to fetch. */
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
	size_t n;                    /* points: one per snapshot */
	double *t;
	double *tracked, *heap, *mapped, *swapped;
	double *peak_so_far;         /* the highest tracked bytes seen by each snapshot */
	uint64_t peak;
	double tmax, ymax1, ymax2;
	uint64_t cap, warn_pct, crit_pct;
	int cap_drawn;
	size_t ntop;
	uint32_t top[PLOT_TOP_SITES];
	char label[PLOT_TOP_SITES + 1][200];
	double *site[PLOT_TOP_SITES + 1];   /* live bytes per top site, then "other" */
} plot_t;

static void plot_free(plot_t *p)
{
	free(p->t);
	free(p->tracked);
	free(p->heap);
	free(p->mapped);
	free(p->swapped);
	free(p->peak_so_far);
	for (size_t i = 0; i <= PLOT_TOP_SITES; i++)
		free(p->site[i]);
}

/* The top sites: largest live bytes at any snapshot. */
static int pick_top(const ag_log_t *log, symbols_t *sym, plot_t *p)
{
	ag_stackval_t *st = calloc(log->nstacks + 1, sizeof *st);
	uint64_t *most = calloc(log->nstacks + 1, sizeof *most);
	if (!st || !most) {
		free(st);
		free(most);
		return ENOMEM;
	}
	for (size_t k = 0; k < log->nsnaps; k++) {
		log_apply(log, k, st);
		for (size_t i = 0; i < log->nstacks; i++)
			if (st[i].live_bytes > most[i])
				most[i] = st[i].live_bytes;
	}
	for (p->ntop = 0; p->ntop < PLOT_TOP_SITES; p->ntop++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < log->nstacks; i++)
			if (most[i] && (best == SIZE_MAX || most[i] > most[best]))
				best = i;
		if (best == SIZE_MAX)
			break;
		p->top[p->ntop] = (uint32_t)best;
		most[best] = 0;
		const ag_stack_t *s = &log->stacks[best];
		char l[180];
		site_label(sym, s, l, sizeof l);
		if (s->kind != 'h')
			snprintf(p->label[p->ntop], sizeof p->label[0], "[%s] %s",
				 site_kind_name(s->kind), l);
		else
			snprintf(p->label[p->ntop], sizeof p->label[0], "%s", l);
	}
	snprintf(p->label[p->ntop], sizeof p->label[0], "other sites");
	free(st);
	free(most);
	return 0;
}

static int collect(const ag_log_t *log, symbols_t *sym, plot_t *p)
{
	memset(p, 0, sizeof *p);
	size_t n = p->n = log->nsnaps;
	p->t = calloc(n, sizeof(double));
	p->tracked = calloc(n, sizeof(double));
	p->heap = calloc(n, sizeof(double));
	p->mapped = calloc(n, sizeof(double));
	p->swapped = calloc(n, sizeof(double));
	p->peak_so_far = calloc(n, sizeof(double));
	for (size_t i = 0; i <= PLOT_TOP_SITES; i++)
		p->site[i] = calloc(n, sizeof(double));
	if (!p->t || !p->tracked || !p->heap || !p->mapped || !p->swapped || !p->peak_so_far ||
	    !p->site[PLOT_TOP_SITES])
		return ENOMEM;
	int rc = pick_top(log, sym, p);
	ag_stackval_t *st = calloc(log->nstacks + 1, sizeof *st);
	if (rc || !st) {
		free(st);
		return rc ? rc : ENOMEM;
	}
	p->peak = export_peak(log, NULL);
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
		for (size_t i = 0; i < p->ntop; i++) {
			p->site[i][k] = (double)st[p->top[i]].live_bytes;
			sum += p->site[i][k];
		}
		p->site[p->ntop][k] = other - sum;
		if (other > p->ymax2)
			p->ymax2 = other;
	}
	free(st);
	p->tmax = n ? p->t[n - 1] : 0;
	for (size_t i = 0; i < log->nevents; i++)
		if ((double)log->events[i].t_ns / 1e9 > p->tmax)
			p->tmax = (double)log->events[i].t_ns / 1e9;
	if (!(p->tmax > 0))
		p->tmax = 1;
	p->cap = log_option_u64(log, "cap", 0);
	p->warn_pct = log_option_u64(log, "warn", 80);
	p->crit_pct = log_option_u64(log, "critical", 90);
	double top = (double)p->peak;
	for (size_t i = 0; i < n; i++)
		if (p->tracked[i] > top)
			top = p->tracked[i];
	p->cap_drawn = p->cap && (double)p->cap <= PLOT_CAP_ZOOM * (top > 0 ? top : 1);
	if (p->cap_drawn && (double)p->cap > top)
		top = (double)p->cap;
	p->ymax1 = top > 0 ? top * 1.08 : 1024;
	if (!(p->ymax2 > 0))
		p->ymax2 = 1024;
	p->ymax2 *= 1.08;
	return 0;
}

/* ---- writing ---- */

static void esc(FILE *out, const char *s)
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
	esc(out, title);
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
	esc(out, s->label);
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

static void panel_tracked(FILE *out, const ag_log_t *log, const plot_t *p)
{
	y_axis(out, p->ymax1, PANEL1_Y, PANEL1_H, "tracked bytes at each snapshot");
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
			"fill=\"#c00000\">cap %s (far above)</text>\n", p->cap,
			PLOT_W - PLOT_RIGHT + 6, PANEL1_Y + 4, sz);
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
	for (size_t i = 0; i < log->nevents; i++) {
		const ag_event_t *e = &log->events[i];
		const char *kind = e->kind == AG_EV_WARN ? "warn"
				 : e->kind == AG_EV_CRITICAL ? "critical" : "cap";
		const char *color = e->kind == AG_EV_WARN ? "#c9a400"
				  : e->kind == AG_EV_CRITICAL ? "#e07000" : "#c00000";
		double x = px_x(p, (double)e->t_ns / 1e9);
		double y = px_y((double)e->bytes, p->ymax1, PANEL1_Y, PANEL1_H);
		fprintf(out, "<g class=\"event\" data-kind=\"%s\" data-t=\"%.3f\" data-bytes=\"%"
			PRIu64 "\"><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
			"stroke-dasharray=\"2 3\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" "
			"fill=\"%s\"/><title>%s at %.3f s</title></g>\n", kind, (double)e->t_ns / 1e9,
			e->bytes, x, PANEL1_Y, x, PANEL1_Y + PANEL1_H, color, x, y, color, kind,
			(double)e->t_ns / 1e9);
	}
	fprintf(out, "</g>\n");
	if (log->nevents) {
		size_t nw = 0, nc = 0, ncap = 0;
		for (size_t i = 0; i < log->nevents; i++)
			*(log->events[i].kind == AG_EV_WARN ? &nw : log->events[i].kind == AG_EV_CRITICAL
			  ? &nc : &ncap) += 1;
		int ly = PANEL1_Y + 110 + (int)row * 18 + 8;
		fprintf(out, "<text class=\"small\" x=\"%d\" y=\"%d\">events (dots): %zu warn,</text>"
			"<text class=\"small\" x=\"%d\" y=\"%d\">%zu critical, %zu cap</text>\n",
			PLOT_W - PLOT_RIGHT + 14, ly, nw, PLOT_W - PLOT_RIGHT + 14, ly + 14, nc, ncap);
	}
}

static void panel_sites(FILE *out, const plot_t *p)
{
	y_axis(out, p->ymax2, PANEL2_Y, PANEL2_H, "live bytes of the top sites (stacked)");
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
		esc(out, p->label[s]);
		fputs("\" d=\"", out);
		for (size_t i = 0; i < p->n; i++)
			fprintf(out, "%c%.1f %.1f", i ? 'L' : 'M', px_x(p, p->t[i]),
				px_y(base[i] + p->site[s][i], p->ymax2, PANEL2_Y, PANEL2_H));
		for (size_t i = p->n; i-- > 0;)
			fprintf(out, "L%.1f %.1f", px_x(p, p->t[i]),
				px_y(base[i], p->ymax2, PANEL2_Y, PANEL2_H));
		fprintf(out, "Z\"><title>");
		esc(out, p->label[s]);
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
			esc(out, paren + 1);
		} else {
			esc(out, p->label[s]);
		}
		fputs("</text>\n", out);
	}
	free(base);
}

static int write_svg(const ag_log_t *log, const plot_t *p, FILE *out)
{
	char *cmd = report_command(log);
	char pk[40], fin[40];
	size_str(p->peak, pk, sizeof pk);
	size_str(log->snaps[log->nsnaps - 1].tracked, fin, sizeof fin);
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\" "
		"data-peak=\"%" PRIu64 "\">\n", PLOT_W, PLOT_H, PLOT_W, PLOT_H, p->peak);
	fputs("<style>.grid{stroke:#e4e4e4}.base{stroke:#888}.axis text{fill:#555}"
	      ".title{font-weight:bold;fill:#222}.small{font-size:11px}"
	      "text{fill:#222}</style>\n", out);
	fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", PLOT_W, PLOT_H);
	fprintf(out, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">", PLOT_LEFT);
	esc(out, cmd ? cmd : "?");
	fprintf(out, " (pid %" PRIu64 ")</text>\n<text x=\"%d\" y=\"42\" fill=\"#555\">peak %s "
		"tracked, final %s, %zu snapshot%s over %.3f s%s</text>\n", log->pid, PLOT_LEFT, pk,
		fin, log->nsnaps, log->nsnaps == 1 ? "" : "s", p->tmax,
		log_sampled(log) ? " (sampled: site figures are estimates)" : "");
	free(cmd);
	panel_tracked(out, log, p);
	panel_sites(out, p);
	fputs("</svg>\n", out);
	return ferror(out) ? EIO : 0;
}

int plot_svg(const ag_log_t *log, symbols_t *sym, FILE *out)
{
	plot_t p;
	int rc = collect(log, sym, &p);
	if (!rc)
		rc = write_svg(log, &p, out);
	plot_free(&p);
	return rc;
}

typedef int (*text_fn)(const ag_log_t *, symbols_t *, const report_opts_t *, FILE *);

static int leaks_text(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out)
{
	return leaks_print(log, sym, o, out, NULL);
}

/* A report's human text, escaped into a <pre>. */
static int section(FILE *out, const ag_log_t *log, symbols_t *sym, const char *id,
		   const char *title, text_fn fn)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return ENOMEM;
	report_opts_t o = { .json = 0, .top = 15, .color = 0 };
	int rc = fn(log, sym, &o, m);
	fclose(m);
	if (!rc) {
		fprintf(out, "<section id=\"%s\">\n<h2>%s</h2>\n<pre>", id, title);
		esc(out, buf);
		fputs("</pre>\n</section>\n", out);
	}
	free(buf);
	return rc;
}

int plot_html(const ag_log_t *log, symbols_t *sym, FILE *out)
{
	char *cmd = report_command(log);
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
	      "allocguard: ", out);
	esc(out, cmd ? cmd : "?");
	fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:24px auto;max-width:1000px;"
	      "color:#222}\nh1{font-size:20px}h2{font-size:16px;border-bottom:1px solid #ddd;"
	      "padding-bottom:4px}\npre{background:#f7f7f7;padding:10px;overflow-x:auto;"
	      "font-size:12px;line-height:1.35}\nsvg{max-width:100%;height:auto}\n</style>\n"
	      "</head>\n<body>\n<h1>allocguard: ", out);
	esc(out, cmd ? cmd : "?");
	fprintf(out, " (pid %" PRIu64 ")</h1>\n<p>from ", log->pid);
	esc(out, log->path);
	fputs("</p>\n<section id=\"plot\">\n", out);
	free(cmd);
	int rc = plot_svg(log, sym, out);
	fputs("</section>\n", out);
	if (!rc)
		rc = section(out, log, sym, "summary", "Summary", report_print);
	if (!rc)
		rc = section(out, log, sym, "leaks", "Leaks (live at exit, by call site)", leaks_text);
	if (!rc)
		rc = section(out, log, sym, "growth", "Growth (per call site, across the snapshots)",
			     growth_print);
	fputs("</body>\n</html>\n", out);
	if (!rc && ferror(out))
		rc = EIO;
	return rc;
}
