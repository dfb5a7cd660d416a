/* logread_gz.c: the reader's input (see logread.h): text or gzip, from a buffer held whole
 * or a file read in chunks, handed out a line at a time.  A gzip stream is inflated as it
 * arrives: a stream cut anywhere yields the text before the cut, a corrupt one stops with
 * zwhy saying how. */
#include "logread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SRC_CHUNK (1u << 20)

/* Room for at least SRC_CHUNK / 2 more bytes in the window, the unread bytes kept. */
static int src_room(src_t *src)
{
	if (src->pos) {
		memmove(src->own, src->own + src->pos, src->len - src->pos);
		src->len -= src->pos;
		src->pos = 0;
	}
	if (src->cap - src->len < SRC_CHUNK / 2) {
		size_t nc = src->cap ? src->cap * 2 : SRC_CHUNK;
		char *nb = realloc(src->own, nc);
		if (!nb) {
			src->err = ENOMEM;
			return 0;
		}
		src->own = nb;
		src->cap = nc;
	}
	src->buf = src->own;
	return 1;
}

/* Inflate more text into the window.  A cut stream ends quietly (the text before the cut
 * reads as a cut text log does); a bad one ends with zwhy set. */
static size_t gz_fill(src_t *src)
{
	z_stream *zs = &src->zs;
	size_t got = 0;
	while (!got && !src->eof) {
		if (!zs->avail_in && !src->in_eof) {
			size_t n = src->f ? fread(src->in, 1, src->in_cap, src->f) : 0;
			if (n == 0) {
				src->in_eof = 1;
				if (src->f && ferror(src->f))
					src->err = EIO;
			}
			zs->next_in = src->in;
			zs->avail_in = (uInt)n;
		}
		zs->next_out = (Bytef *)src->own + src->len;
		zs->avail_out = (uInt)(src->cap - src->len > (1u << 30) ? (1u << 30)
									 : src->cap - src->len);
		uInt before = zs->avail_out;
		int rc = inflate(zs, Z_NO_FLUSH);
		got = before - zs->avail_out;
		src->len += got;
		if (rc == Z_STREAM_END) {
			/* another gzip member may follow (text written after a finish) */
			if (!zs->avail_in && !src->in_eof && src->f) {
				size_t n = fread(src->in, 1, src->in_cap, src->f);
				zs->next_in = src->in;
				zs->avail_in = (uInt)n;
				if (n == 0)
					src->in_eof = 1;
			}
			if (!zs->avail_in)
				src->eof = 1;
			else if (inflateReset(zs) != Z_OK)
				src->err = ENOMEM;
		} else if (rc == Z_MEM_ERROR) {
			src->err = ENOMEM;
		} else if (rc == Z_BUF_ERROR || (rc == Z_OK && !got)) {
			if (!zs->avail_in && src->in_eof)
				src->eof = 1;   /* cut: the stream ends without its trailer */
		} else if (rc != Z_OK) {
			snprintf(src->zwhy, sizeof src->zwhy, "compressed data is damaged (%s)",
				 zs->msg ? zs->msg : "zlib error");
			src->eof = 1;
		}
		if (src->err)
			src->eof = 1;
	}
	return got;
}

/* Read more of the file into the window, keeping the unread bytes.  0 at the end. */
size_t src_fill(src_t *src)
{
	if ((!src->f && !src->gz) || src->eof || src->err)
		return 0;
	if (!src_room(src))
		return 0;
	if (src->gz)
		return gz_fill(src);
	size_t n = fread(src->own + src->len, 1, src->cap - src->len, src->f);
	if (n == 0) {
		if (ferror(src->f))
			src->err = EIO;
		src->eof = 1;
	}
	src->len += n;
	return n;
}

/* Start inflating when the input is gzip: the raw bytes at buf (log_parse), or the file's
 * first bytes, read into the window and taken over as the first input chunk.  0, or ENOMEM. */
int src_start(src_t *src)
{
	const unsigned char *raw;
	size_t rawlen;
	if (src->f) {
		while (src->len < 2 && src_fill(src))
			;
		raw = (const unsigned char *)src->own;
		rawlen = src->len;
	} else {
		raw = (const unsigned char *)src->buf;
		rawlen = src->len;
	}
	if (rawlen < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
		return src->err;
	memset(&src->zs, 0, sizeof src->zs);
	if (inflateInit2(&src->zs, 15 + 16) != Z_OK)
		return src->err = ENOMEM;
	src->gz = 1;
	src->eof = 0;
	if (src->f) {
		/* the window's bytes are the first input chunk; a new window for the text */
		src->in = (unsigned char *)src->own;
		src->in_cap = src->cap;
		src->zs.next_in = src->in;
		src->zs.avail_in = (uInt)src->len;
		src->own = NULL;
		src->cap = 0;
	} else {
		src->zs.next_in = (Bytef *)raw;
		src->zs.avail_in = (uInt)rawlen;
		src->in_eof = 1;
	}
	src->buf = "";
	src->len = src->pos = 0;
	return 0;
}

void src_end(src_t *src)
{
	if (src->gz)
		inflateEnd(&src->zs);
	free(src->in);
	free(src->own);
}

/* The next line (without its newline): 1; 0 at the end of the input; -1 when the rest has
 * no newline (*avail is how much is left then). */
int src_line(src_t *src, const char **line, size_t *n, size_t *avail)
{
	for (;;) {
		const char *s = src->buf + src->pos;
		size_t left = src->len - src->pos;
		const char *nl = left ? memchr(s, '\n', left < AG_MAX_LINE + 1 ? left : AG_MAX_LINE + 1)
				      : NULL;
		if (nl) {
			*line = s;
			*n = (size_t)(nl - s);
			src->pos += *n + 1;
			return 1;
		}
		if (left <= AG_MAX_LINE && src_fill(src))
			continue;
		*avail = left;
		return left ? -1 : 0;
	}
}
