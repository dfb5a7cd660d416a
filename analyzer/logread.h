/* logread.h: inside the log reader (logread*.c), not for the reports: the input source
 * (logread_gz.c), the reader's state and the field helpers every record parser uses
 * (logread_fields.c), the stack index (logread_index.c) and the record parsers
 * (logread_records.c: the process and its stacks; logread_snap.c: the snapshots).
 * logread.c reads the lines and hands each to its record's parser by letter. */
#ifndef ALLOCGUARD_LOGREAD_H
#define ALLOCGUARD_LOGREAD_H

#include "model.h"

#include <stdio.h>
#include <zlib.h>

#define LR_MAX_FIELDS (AG_LOG_MAX_FRAMES + 8)

/* One line split on single spaces. */
typedef struct {
	const char *f[LR_MAX_FIELDS];
	size_t n[LR_MAX_FIELDS];
	size_t count;
} fields_t;

typedef struct {
	ag_log_t *log;
	size_t line;
	char *why;                   /* set on damage */
	size_t whylen;
	/* the snapshot being read, not yet counted */
	int open;
	ag_snap_t cur;
	size_t cur_cap_l, cur_cap_r, cur_cap_t;
	size_t cur_line;
	/* capacities of the log's growing arrays */
	size_t cap_argv, cap_opts, cap_jit, cap_mod, cap_stk, cap_ev, cap_sw, cap_snap;
} reader_t;

/* A record's parser: 0, EINVAL with r->why set (damage), or ENOMEM. */
typedef int (*lr_record_fn)(reader_t *r, const fields_t *fl);

/* ---- logread_fields.c: fields and damage ---- */
int lr_damage(reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Split on single spaces; empty fields and too many fields are damage. */
int lr_split(reader_t *r, const char *s, size_t len, fields_t *fl);
int lr_dec(const char *s, size_t n, uint64_t *out);
int lr_hexval(char c);
int lr_hex(const char *s, size_t n, uint64_t *out);
/* Percent-decode one field into a new string; "%00" alone is the empty string. */
int lr_unescape(reader_t *r, const char *s, size_t n, char **out);
int lr_want(reader_t *r, const fields_t *fl, size_t n, const char *what);
/* Fields from .. from + n - 1 as decimal numbers into v. */
int lr_nums(reader_t *r, const fields_t *fl, size_t from, size_t n, uint64_t *v,
	    const char *what);

/* ---- logread_index.c: stack id -> index into log->stacks ---- */
int lr_idx_find(const ag_log_t *log, uint64_t id, uint32_t *out);
int lr_idx_insert(ag_log_t *log, uint64_t id, uint32_t val);

/* ---- logread_records.c: P A O M U S J F V W X ---- */
int rec_proc(reader_t *r, const fields_t *fl);
int rec_arg(reader_t *r, const fields_t *fl);
int rec_option(reader_t *r, const fields_t *fl);
int rec_module(reader_t *r, const fields_t *fl);
int rec_unload(reader_t *r, const fields_t *fl);
int rec_stack(reader_t *r, const fields_t *fl);
int rec_jit(reader_t *r, const fields_t *fl);
int rec_jsfunc(reader_t *r, const fields_t *fl);
int rec_event(reader_t *r, const fields_t *fl);
int rec_swap(reader_t *r, const fields_t *fl);
int rec_verdict(reader_t *r, const fields_t *fl);

/* ---- logread_snap.c: B L R K T Z E ---- */
int rec_begin(reader_t *r, const fields_t *fl);
int rec_live(reader_t *r, const fields_t *fl);
int rec_lost(reader_t *r, const fields_t *fl);
int rec_peak(reader_t *r, const fields_t *fl);
int rec_at_peak(reader_t *r, const fields_t *fl);
int rec_sizes(reader_t *r, const fields_t *fl);
int rec_end(reader_t *r, const fields_t *fl);

/* ---- logread_gz.c: where the lines come from ----
 * A buffer held whole (log_parse), or a file read in chunks (log_load), so a large log's
 * text is never held whole: only the line being read.  Either may be gzip: then the text
 * is inflated into the window as it is needed. */
typedef struct {
	const char *buf;           /* the bytes not yet handed out start at buf + pos */
	size_t len, pos;
	FILE *f;                   /* NULL: buf (or, gzip, raw) is all there is */
	char *own;                 /* the window, cap bytes */
	size_t cap;
	int eof, err;
	int gz;                    /* inflating */
	z_stream zs;
	unsigned char *in;         /* gzip from a file: its input chunk, in_cap bytes */
	size_t in_cap;
	int in_eof;                /* no more input */
	char zwhy[160];            /* the compressed stream is damaged: how */
} src_t;

/* Start inflating when the input is gzip.  0, or ENOMEM (or the read error). */
int src_start(src_t *src);
/* Read (or inflate) more into the window, keeping the unread bytes.  0 at the end. */
size_t src_fill(src_t *src);
/* The next line (without its newline): 1; 0 at the end of the input; -1 when the rest has
 * no newline (*avail is how much is left then). */
int src_line(src_t *src, const char **line, size_t *n, size_t *avail);
void src_end(src_t *src);

#endif
