/* plot_svg.c: the SVG of `allocguard plot` (see plot.c): two panels sharing the time axis,
 * the tracked bytes with the thresholds and events, and the top sites (or processes)
 * stacked; every series with its exact figures as data-points. */
#include "exports.h"
#include "plot.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_W 960
#define PLOT_LEFT 80         /* room for the byte axis labels */
#define PLOT_RIGHT 200       /* room for the threshold labels and legends */
#define PANEL1_Y 70
#define PANEL1_H 250
#define PANEL2_Y 380
#define PANEL2_H 190
#define PLOT_H 620

static const char *const site_colors[PLOT_TOP_SITES + 1] = {
	"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#bbbbbb",
};

typedef struct {
	const char *id, *label, *color;
	double *y;
	int width;                   /* stroke width; the total is drawn boldest */
	const char *dash;
} series_t;

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

int plot_write_svg(const plot_t *p, FILE *out)
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
