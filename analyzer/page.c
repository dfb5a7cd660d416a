/* page.c: `allocguard plot -o FILE.html`: one self-contained page to explore a run, as
 * heaptrack_gui and massif-visualizer are to theirs.  This file writes the HTML around
 * the data (page_data.c, page_json.c) and the page's CSS and scripts (analyzer/page/,
 * built in as page_assets); a content security policy lets the page fetch nothing.  The
 * text of report, leaks and growth follows, as they print it. */
#include "exports.h"
#include "page.h"
#include "reports.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The assets whose names end in ext, in the order the Makefile lists them. */
static void assets(FILE *out, const char *ext)
{
	size_t el = strlen(ext);
	for (size_t i = 0; i < page_nassets; i++) {
		size_t nl = strlen(page_assets[i].name);
		if (nl >= el && strcmp(page_assets[i].name + nl - el, ext) == 0)
			fwrite(page_assets[i].data, 1, page_assets[i].len, out);
	}
}

/* One process's data: JSON inside a script element, where "</script>" must never appear:
 * every '<' (only ever inside strings) is written as its JSON escape. */
static int process_json(FILE *out, const ag_log_t *log, symbols_t *sym)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return ENOMEM;
	page_t p;
	int rc = page_collect(log, sym, &p);
	if (!rc) {
		rc = page_json(&p, m);
		page_free(&p);
	}
	if (fclose(m) && !rc)
		rc = ENOMEM;
	for (size_t i = 0; !rc && i < len; i++) {
		if (buf[i] == '<')
			fputs("\\u003c", out);
		else
			fputc(buf[i], out);
	}
	free(buf);
	return rc;
}

typedef int (*text_fn)(const ag_log_t *, symbols_t *, const report_opts_t *, FILE *);

static int leaks_text(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out)
{
	return leaks_print(log, sym, o, out, NULL);
}

/* A report's human text, escaped into a <pre> under a summary line. */
static int text_section(FILE *out, const ag_log_t *log, symbols_t *sym, const char *id,
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
		fprintf(out, "<details class=\"text\" id=\"%s\"><summary>%s</summary><pre>", id,
			title);
		plot_esc(out, buf);
		fputs("</pre></details>\n", out);
	}
	free(buf);
	return rc;
}

static int texts(FILE *out, const ag_log_t *log, symbols_t *sym)
{
	char id[3][64];
	snprintf(id[0], sizeof id[0], "summary-%" PRIu64, log->pid);
	snprintf(id[1], sizeof id[1], "leaks-%" PRIu64, log->pid);
	snprintf(id[2], sizeof id[2], "growth-%" PRIu64, log->pid);
	fprintf(out, "<section class=\"texts\" data-pid=\"%" PRIu64 "\">\n", log->pid);
	int rc = text_section(out, log, sym, id[0], "report (as text)", report_print);
	if (!rc)
		rc = text_section(out, log, sym, id[1], "leaks (as text)", leaks_text);
	if (!rc)
		rc = text_section(out, log, sym, id[2], "growth (as text)", growth_print);
	fputs("</section>\n", out);
	return rc;
}

static void head(FILE *out, const char *cmd)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n<title>allocguard: ", out);
	plot_esc(out, cmd ? cmd : "?");
	fputs("</title>\n<style>\n", out);
	assets(out, ".css");
	fputs("</style>\n</head>\n<body>\n", out);
}

int plot_html(ag_log_t *const *logs, symbols_t *const *syms, size_t n, FILE *out)
{
	char *cmd = report_command(logs[0]);
	head(out, cmd);
	free(cmd);
	assets(out, ".html");
	int rc = 0;
	if (n > 1) {
		fprintf(out, "<details class=\"tree\" id=\"tree\" open><summary>the process tree: "
			"%zu processes</summary>\n", n);
		rc = plot_tree_svg(logs, n, out);
		fputs("</details>\n", out);
	}
	fputs("<div id=\"texts\">\n", out);
	for (size_t i = 0; i < n && !rc; i++)
		rc = texts(out, logs[i], syms[i]);
	fputs("</div>\n<script type=\"application/json\" id=\"ag-data\">[", out);
	for (size_t i = 0; i < n && !rc; i++) {
		if (i)
			fputc(',', out);
		rc = process_json(out, logs[i], syms[i]);
	}
	fputs("]</script>\n<script>\n", out);
	assets(out, ".js");
	fputs("</script>\n</body>\n</html>\n", out);
	if (!rc && ferror(out))
		rc = EIO;
	return rc;
}
