/* json.c: the streaming JSON writer (see json.h).  Strings are escaped per RFC 8259;
 * bytes that are not valid UTF-8 become U+FFFD so the output always parses. */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_init(json_t *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->after_key = 0;
	j->compact = 0;
	j->n = 0;
	memset(j->count, 0, sizeof j->count);
}

static void flush(json_t *j)
{
	if (j->n)
		fwrite(j->buf, 1, j->n, j->f);
	j->n = 0;
}

static void put(json_t *j, const char *s, size_t n)
{
	if (j->n + n > sizeof j->buf) {
		flush(j);
		if (n > sizeof j->buf) {
			fwrite(s, 1, n, j->f);
			return;
		}
	}
	memcpy(j->buf + j->n, s, n);
	j->n += n;
}

static void put_c(json_t *j, char c)
{
	if (j->n == sizeof j->buf)
		flush(j);
	j->buf[j->n++] = c;
}

static void put_s(json_t *j, const char *s)
{
	put(j, s, strlen(s));
}

void json_compact(json_t *j)
{
	j->compact = 1;
}

static void indent(json_t *j)
{
	if (j->compact)
		return;
	static const char spaces[] = "\n                                                                ";
	size_t n = 1 + 2 * (size_t)j->depth;
	if (n <= sizeof spaces - 1) {
		put(j, spaces, n);
		return;
	}
	put_c(j, '\n');
	for (int i = 0; i < j->depth; i++)
		put(j, "  ", 2);
}

/* Separator and indentation before a value or key at the current level. */
static void before(json_t *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth])
			put_c(j, ',');
		indent(j);
	}
	j->count[j->depth]++;
}

static void nest_open(json_t *j, char c)
{
	before(j);
	put_c(j, c);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

static void nest_close(json_t *j, char c)
{
	int had = j->count[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (had)
		indent(j);
	put_c(j, c);
}

void json_obj(json_t *j) { nest_open(j, '{'); }
void json_obj_end(json_t *j) { nest_close(j, '}'); }
void json_arr(json_t *j) { nest_open(j, '['); }
void json_arr_end(json_t *j) { nest_close(j, ']'); }

static void escape(json_t *j, const char *str);

void json_key(json_t *j, const char *k)
{
	before(j);
	escape(j, k);
	put(j, ": ", j->compact ? 1 : 2);
	j->after_key = 1;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static int utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	int n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!n || (n == 2 && s[0] < 0xc2) || s[0] > 0xf4)
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0)
		return 0;   /* overlong */
	if (n == 3 && s[0] == 0xed && s[1] >= 0xa0)
		return 0;   /* surrogate */
	if (n == 4 && s[0] == 0xf0 && s[1] < 0x90)
		return 0;
	if (n == 4 && s[0] == 0xf4 && s[1] >= 0x90)
		return 0;
	return n;
}

/* Runs of bytes that stand for themselves go out in one piece. */
static void escape(json_t *j, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *run = s;
	put_c(j, '"');
	while (*s) {
		unsigned char c = *s;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			s++;
			continue;
		}
		int n = c >= 0x80 ? utf8_len(s) : 0;
		if (n) {
			s += n;
			continue;
		}
		put(j, (const char *)run, (size_t)(s - run));
		switch (c) {
		case '"': put(j, "\\\"", 2); break;
		case '\\': put(j, "\\\\", 2); break;
		case '\n': put(j, "\\n", 2); break;
		case '\r': put(j, "\\r", 2); break;
		case '\t': put(j, "\\t", 2); break;
		case '\b': put(j, "\\b", 2); break;
		case '\f': put(j, "\\f", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char u[8];
				snprintf(u, sizeof u, "\\u%04x", c);
				put(j, u, 6);
			} else {
				put(j, "\\ufffd", 6);
			}
		}
		run = ++s;
	}
	put(j, (const char *)run, (size_t)(s - run));
	put_c(j, '"');
}

void json_escape(FILE *f, const char *s)
{
	json_t *j = malloc(sizeof *j);
	if (!j)
		return;
	json_init(j, f);
	escape(j, s);
	flush(j);
	free(j);
}

void json_str(json_t *j, const char *s)
{
	before(j);
	if (s)
		escape(j, s);
	else
		put(j, "null", 4);
}

static void put_u64(json_t *j, uint64_t v)
{
	char d[24];
	size_t i = sizeof d;
	do
		d[--i] = (char)('0' + v % 10);
	while (v /= 10);
	put(j, d + i, sizeof d - i);
}

void json_u64(json_t *j, uint64_t v)
{
	before(j);
	put_u64(j, v);
}

void json_i64(json_t *j, int64_t v)
{
	before(j);
	if (v < 0)
		put_c(j, '-');
	put_u64(j, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

void json_num(json_t *j, double v, int decimals)
{
	before(j);
	if (!isfinite(v))
		v = 0;
	if (decimals < 0 || decimals > 9)
		decimals = 3;
	char buf[64];
	snprintf(buf, sizeof buf, "%.*f", decimals, v);
	if (strcmp(buf, "-0") == 0 || (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)))
		memmove(buf, buf + 1, strlen(buf));   /* no negative zero */
	put_s(j, buf);
}

void json_bool(json_t *j, int v)
{
	before(j);
	if (v)
		put(j, "true", 4);
	else
		put(j, "false", 5);
}

void json_null(json_t *j)
{
	before(j);
	put(j, "null", 4);
}

void json_done(json_t *j)
{
	put_c(j, '\n');
	flush(j);
}
