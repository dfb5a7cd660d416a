/* logbuf.h: a buffered, malloc-free appender to the log file.  Lines are built with fmt.h
 * and appended here; the buffer goes out with write(2) when full and when the caller makes
 * the bytes durable (logbuf_flush, at snapshot end).
 *
 * A stream begun compressed (logbuf_begin) is a gzip stream: deflate (level 1, the fastest) with a
 * sync flush at every logbuf_flush, so each flushed prefix inflates to exactly the text
 * appended before it, and a finish (logbuf_finish: the gzip trailer, `zcat` reads the file
 * cleanly) at the log's last snapshot; text appended after a finish starts a new gzip
 * member.  zlib's memory is one internal arena (sys_alloc), never malloc. */
#ifndef ALLOCGUARD_LOGBUF_H
#define ALLOCGUARD_LOGBUF_H

#include "fmt.h"

#include <stdbool.h>
#include <stddef.h>
#include <zlib.h>

#define LOGBUF_SIZE (64 * 1024)
#define LOGBUF_OUT (32 * 1024)

typedef struct {
	int fd;
	int err;              /* first write error, 0 if none */
	size_t len;
	bool gz;              /* the stream is compressed */
	bool member;          /* gz: text entered the open gzip member */
	bool unflushed;       /* gz: text entered since the last flush */
	z_stream zs;
	char buf[LOGBUF_SIZE];
	char out[LOGBUF_OUT];
} logbuf_t;

/* Start a new stream (a new file): compressed when gz, plain otherwise.  Drops the text
 * not yet written and any earlier deflate state (a fork child's copy of its parent's).
 * Returns whether the stream is compressed (false when zlib could not start). */
bool logbuf_begin(logbuf_t *lb, bool gz);
/* Append the line in f (a '\n' is added). */
void logbuf_line(logbuf_t *lb, const fmt_t *f);
/* Write out everything appended so far (gz: with a sync flush).  The first error, or 0. */
int logbuf_flush(logbuf_t *lb);
/* As logbuf_flush, and end the gzip member (plain: the same as logbuf_flush). */
int logbuf_finish(logbuf_t *lb);

/* Whether the n bytes at p start a gzip stream (as far as n shows). */
bool logbuf_is_gz(const void *p, size_t n);
/* Inflate the start of the gzip stream in the n bytes at in into out (at most cap bytes,
 * stops there); returns the bytes produced.  Uses the arena: only while no compressed
 * stream is open (before logbuf_begin of a new file). */
size_t logbuf_gunzip_head(logbuf_t *lb, const void *in, size_t n, char *out, size_t cap);

#endif
