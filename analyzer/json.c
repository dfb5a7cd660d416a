/* json.c: the streaming JSON writer (see json.h).  Strings are escaped per RFC 8259;
 * bytes that are not valid UTF-8 become U+FFFD so the output always parses. */
#include "json.h"

#include <math.h>
#include <string.h>

void json_init(json_t *j, FILE *f)
{
	memset(j, 0, sizeof *j);
	j->f = f;
}

static void indent(json_t *j)
{
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
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
			fputc(',', j->f);
		indent(j);
	}
	j->count[j->depth]++;
}

static void nest_open(json_t *j, char c)
{
	before(j);
	fputc(c, j->f);
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
	fputc(c, j->f);
}

void json_obj(json_t *j) { nest_open(j, '{'); }
void json_obj_end(json_t *j) { nest_close(j, '}'); }
void json_arr(json_t *j) { nest_open(j, '['); }
void json_arr_end(json_t *j) { nest_close(j, ']'); }

void json_key(json_t *j, const char *k)
{
	before(j);
	json_escape(j->f, k);
	fputs(": ", j->f);
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

void json_escape(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	while (*s) {
		unsigned char c = *s;
		switch (c) {
		case '"': fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		case '\b': fputs("\\b", f); s++; continue;
		case '\f': fputs("\\f", f); s++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			s++;
			continue;
		}
		int n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		fwrite(s, 1, (size_t)n, f);
		s += n;
	}
	fputc('"', f);
}

void json_str(json_t *j, const char *s)
{
	before(j);
	if (s)
		json_escape(j->f, s);
	else
		fputs("null", j->f);
}

void json_u64(json_t *j, uint64_t v)
{
	before(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_i64(json_t *j, int64_t v)
{
	before(j);
	fprintf(j->f, "%lld", (long long)v);
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
	fputs(buf, j->f);
}

void json_bool(json_t *j, int v)
{
	before(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(json_t *j)
{
	before(j);
	fputs("null", j->f);
}

void json_done(json_t *j)
{
	fputc('\n', j->f);
}
