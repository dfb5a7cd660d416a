/* logread_fields.c: the fields of a log line and the damage they report: splitting,
 * decimal and hex numbers, %-escaped strings, field counts (see logread.h).  What a field
 * means is its record parser's. */
#include "logread.h"
#include "fmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int lr_damage(reader_t *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, r->whylen, fmt, ap);
	va_end(ap);
	return EINVAL;
}

int lr_split(reader_t *r, const char *s, size_t len, fields_t *fl)
{
	fl->count = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (i == start)
			return lr_damage(r, "empty field (stray space)");
		if (fl->count == LR_MAX_FIELDS)
			return lr_damage(r, "too many fields");
		fl->f[fl->count] = s + start;
		fl->n[fl->count] = i - start;
		fl->count++;
		start = i + 1;
	}
	return 0;
}

int lr_dec(const char *s, size_t n, uint64_t *out)
{
	return n > 20 ? EINVAL : fmt_parse_u64(s, n, out);
}

int lr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lr_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 16)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		int h = lr_hexval(s[i]);
		if (h < 0)
			return EINVAL;
		v = (v << 4) | (uint64_t)h;
	}
	*out = v;
	return 0;
}

int lr_unescape(reader_t *r, const char *s, size_t n, char **out)
{
	char *d = malloc(n + 1);
	if (!d)
		return ENOMEM;
	size_t j = 0;
	if (n == 3 && memcmp(s, "%00", 3) == 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 2 < n ? lr_hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? lr_hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(d);
				return lr_damage(r, "bad %%-escape in a string field");
			}
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f) {
			free(d);
			return lr_damage(r, "unescaped byte 0x%02x in a string field", c);
		} else {
			d[j++] = (char)c;
		}
	}
	d[j] = '\0';
	*out = d;
	return 0;
}

int lr_want(reader_t *r, const fields_t *fl, size_t n, const char *what)
{
	if (fl->count != n)
		return lr_damage(r, "%s line has %zu fields, expected %zu", what, fl->count, n);
	return 0;
}

int lr_nums(reader_t *r, const fields_t *fl, size_t from, size_t n, uint64_t *v,
		const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (lr_dec(fl->f[from + i], fl->n[from + i], &v[i]))
			return lr_damage(r, "%s line: field %zu is not a decimal number", what,
				      from + i + 1);
	return 0;
}
