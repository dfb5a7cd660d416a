/* table.c: aligned tables, sizes and colour for human output (see table.h). */
#include "table.h"
#include "fmt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void table_init(table_t *t, size_t ncols, const char *const *head, const col_align_t *align)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols > TABLE_MAX_COLS ? TABLE_MAX_COLS : ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		t->head[i] = head[i];
		t->align[i] = align[i];
	}
}

static table_row_t *new_row(table_t *t)
{
	if (t->nrows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		table_row_t *r = realloc(t->rows, nc * sizeof *r);
		if (!r)
			return NULL;
		t->rows = r;
		t->cap = nc;
	}
	table_row_t *r = &t->rows[t->nrows++];
	memset(r, 0, sizeof *r);
	return r;
}

int table_add(table_t *t, const char *const *cells, const tone_t *tones)
{
	table_row_t *r = new_row(t);
	if (!r)
		return ENOMEM;
	for (size_t i = 0; i < t->ncols; i++) {
		r->cell[i] = strdup(cells[i] ? cells[i] : "");
		r->tone[i] = tones ? tones[i] : TONE_NONE;
	}
	return 0;
}

int table_more(table_t *t, const char *text)
{
	table_row_t *r = new_row(t);
	if (!r)
		return ENOMEM;
	r->continuation = 1;
	r->cell[t->ncols - 1] = strdup(text);
	r->tone[t->ncols - 1] = TONE_DIM;
	return 0;
}

static const char *esc(tone_t tone)
{
	switch (tone) {
	case TONE_BAD: return "\033[31m";
	case TONE_WARN: return "\033[33m";
	case TONE_GOOD: return "\033[32m";
	case TONE_DIM: return "\033[2m";
	case TONE_BOLD: return "\033[1m";
	default: return "";
	}
}

void table_put(FILE *out, int color, tone_t tone, const char *text)
{
	if (color && tone != TONE_NONE)
		fprintf(out, "%s%s\033[0m", esc(tone), text);
	else
		fputs(text, out);
}

/* Display width: count UTF-8 lead bytes only. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; s && *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

void table_print(const table_t *t, FILE *out, int color)
{
	size_t w[TABLE_MAX_COLS] = { 0 };
	size_t last = t->ncols - 1;
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = width(t->head[c]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < last; c++)
			if (!t->rows[r].continuation && width(t->rows[r].cell[c]) > w[c])
				w[c] = width(t->rows[r].cell[c]);
	/* header */
	for (size_t c = 0; c < t->ncols; c++) {
		size_t cw = width(t->head[c]);
		if (c < last && t->align[c] == COL_RIGHT)
			pad(out, w[c] - cw);
		table_put(out, color, TONE_BOLD, t->head[c]);
		if (c < last)
			pad(out, (t->align[c] == COL_LEFT ? w[c] - cw : 0) + 2);
	}
	fputc('\n', out);
	for (size_t r = 0; r < t->nrows; r++) {
		const table_row_t *row = &t->rows[r];
		if (row->continuation) {
			size_t indent = 0;
			for (size_t c = 0; c < last; c++)
				indent += w[c] + 2;
			pad(out, indent + 2);
			table_put(out, color, row->tone[last], row->cell[last] ? row->cell[last] : "");
			fputc('\n', out);
			continue;
		}
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = row->cell[c] ? row->cell[c] : "";
			size_t cw = width(s);
			if (c < last && t->align[c] == COL_RIGHT)
				pad(out, w[c] - cw);
			table_put(out, color, row->tone[c], s);
			if (c < last)
				pad(out, (t->align[c] == COL_LEFT ? w[c] - cw : 0) + 2);
		}
		fputc('\n', out);
	}
}

void table_free(table_t *t)
{
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			free(t->rows[r].cell[c]);
	free(t->rows);
	memset(t, 0, sizeof *t);
}

int table_color_for(FILE *out)
{
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	if (nc && *nc)
		return 0;
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fileno(out));
}

void size_str(uint64_t bytes, char *buf, size_t len)
{
	fmt_t f;
	fmt_init(&f, buf, len);
	fmt_size(&f, bytes);
}

void size_str_signed(int64_t bytes, char *buf, size_t len)
{
	char tmp[40];
	uint64_t mag = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;
	size_str(mag, tmp, sizeof tmp);
	snprintf(buf, len, "%s%s", bytes < 0 ? "-" : bytes > 0 ? "+" : "", tmp);
}

void rate_str(double bps, char *buf, size_t len)
{
	static const char *units[] = { "B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s" };
	double mag = fabs(bps);
	int u = 0;
	while (mag >= 1024 && u < 4) {
		mag /= 1024;
		u++;
	}
	int zero = u == 0 ? mag < 0.5 : mag < 0.05;
	const char *sign = zero ? "" : bps < 0 ? "-" : "+";
	if (u == 0)
		snprintf(buf, len, "%s%.0f %s", sign, mag, units[u]);
	else
		snprintf(buf, len, "%s%.1f %s", sign, mag, units[u]);
}
