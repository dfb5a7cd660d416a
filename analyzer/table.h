/* table.h: human output for the reports: aligned tables, readable sizes and durations,
 * and colour only when writing to a terminal with NO_COLOR unset.  Owns layout, not
 * content. */
#ifndef ALLOCGUARD_TABLE_H
#define ALLOCGUARD_TABLE_H

#include <stdint.h>
#include <stdio.h>

#define TABLE_MAX_COLS 8

typedef enum { COL_RIGHT, COL_LEFT } col_align_t;
typedef enum { TONE_NONE, TONE_BAD, TONE_WARN, TONE_GOOD, TONE_DIM, TONE_BOLD } tone_t;

typedef struct {
	char *cell[TABLE_MAX_COLS];
	tone_t tone[TABLE_MAX_COLS];
	int continuation;           /* only the last column, under the previous row */
} table_row_t;

typedef struct {
	size_t ncols;
	const char *head[TABLE_MAX_COLS];
	col_align_t align[TABLE_MAX_COLS];
	table_row_t *rows;
	size_t nrows, cap;
} table_t;

void table_init(table_t *t, size_t ncols, const char *const *head, const col_align_t *align);
/* Add a row; cells are copied.  tones may be NULL. */
int table_add(table_t *t, const char *const *cells, const tone_t *tones);
/* Add a line under the previous row, in the last column. */
int table_more(table_t *t, const char *text);
void table_print(const table_t *t, FILE *out, int color);
void table_free(table_t *t);

/* Colour wanted for out: a terminal, NO_COLOR unset, TERM not "dumb". */
int table_color_for(FILE *out);
/* Wrap text in the tone's escape codes when color is set. */
void table_put(FILE *out, int color, tone_t tone, const char *text);

/* "512 B", "1.5 KiB", "200.0 MiB"; signed variant prefixes + or -. */
void size_str(uint64_t bytes, char *buf, size_t len);
void size_str_signed(int64_t bytes, char *buf, size_t len);
/* "12.3 KiB/s" with sign. */
void rate_str(double bytes_per_s, char *buf, size_t len);

#endif
