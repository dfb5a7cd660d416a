/* options.c: parsing and validation of the settings in options.def.  No malloc and no
 * stdio: the preload runs this in its constructor, before main. */
#include "options.h"
#include "fmt.h"
#include "memavail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const opt_desc_t opt_table[] = {
#define NO_WORDS(X)
#define WORD_BAR(name, word) "|" word
#define OPT(field, env, flag, type, def, min, max, words, oname, doc) \
	{ #field, "ALLOCGUARD_" env, flag, OPT_##type, def, min, max, "" words(WORD_BAR), oname, \
	  doc, offsetof(ag_config_t, field) },
#include "options.def"
#undef OPT
};
const size_t opt_count = sizeof opt_table / sizeof opt_table[0];

/* "fail|abort|warn" for enums, NULL otherwise. */
static const char *opt_enum_values(const opt_desc_t *d)
{
	return d->words[0] ? d->words + 1 : NULL;
}

/* The position of value among d's words, or -1. */
static int enum_value(const opt_desc_t *d, const char *value)
{
	size_t n = strlen(value);
	int i = 0;
	for (const char *w = d->words; *w == '|'; i++) {
		const char *end = strchr(w + 1, '|');
		size_t len = end ? (size_t)(end - w - 1) : strlen(w + 1);
		if (len == n && memcmp(w + 1, value, n) == 0)
			return i;
		if (!end)
			break;
		w = end;
	}
	return -1;
}

const char *opt_type_name(const opt_desc_t *d)
{
	switch (d->type) {
	case OPT_SIZE: return "SIZE";
	case OPT_PCT: return "PCT";
	case OPT_DURATION: return "DURATION";
	case OPT_ENUM: return opt_enum_values(d);
	case OPT_STR: return d->field[0] == 'l' ? "PATTERN" : d->field[0] == 't' ? "TEXT" :
			     d->field[1] == 'u' ? "FILE" : "GLOBS";
	case OPT_INT: return "N";
	}
	return "?";
}

static const char *expected(const opt_desc_t *d)
{
	switch (d->type) {
	case OPT_SIZE:
		return OPT_SIZE_SYNTAX;
	case OPT_PCT:
		return "PCT: a whole number from 1 to 100";
	case OPT_DURATION:
		return "DURATION: a number with ms, s or m (250ms, 2s, 1m), or 0";
	case OPT_ENUM:
		return opt_enum_values(d);
	case OPT_STR:
		return d->min ? "a non-empty string shorter than 1024 bytes"
			      : "a string shorter than 1024 bytes";
	case OPT_INT:
		return "a whole number from 1 to 256";
	}
	return "?";
}

int opt_parse_u64(const char *s, uint64_t *out)
{
	return s ? fmt_parse_u64(s, strlen(s), out) : EINVAL;
}

/* Leading decimal digits of s into *v; returns the rest, or NULL when there are none or
 * they overflow. */
static const char *leading_u64(const char *s, uint64_t *v)
{
	size_t n = strspn(s, "0123456789");
	return fmt_parse_u64(s, n, v) ? NULL : s + n;
}

int opt_parse_size(const char *s, uint64_t *out)
{
	uint64_t v;
	const char *rest = s ? leading_u64(s, &v) : NULL;
	if (!rest)
		return EINVAL;
	if (*rest == '%' && rest[1] == '\0') {
		if (v == 0 || v > 100)
			return EINVAL;
		uint64_t mem = memavail_limit();
		if (mem == 0)
			return EINVAL;
		*out = mem / 100 * v + mem % 100 * v / 100;
		return 0;
	}
	unsigned shift = 0;
	switch (*rest) {
	case '\0': break;
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	default: return EINVAL;
	}
	if (shift) {
		rest++;
		if (*rest == 'B' || *rest == 'b' || (*rest == 'i' && (rest[1] == 'B' || rest[1] == 'b')))
			rest += (*rest == 'i') ? 2 : 1;   /* accept 64K, 64KB, 64KiB */
		if (*rest != '\0')
			return EINVAL;
		if (v > (UINT64_MAX >> shift))
			return EINVAL;
		v <<= shift;
	}
	*out = v;
	return 0;
}

int opt_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t v;
	const char *rest = s ? leading_u64(s, &v) : NULL;
	if (!rest)
		return EINVAL;
	uint64_t mul;
	if (strcmp(rest, "ms") == 0)
		mul = 1;
	else if (strcmp(rest, "s") == 0)
		mul = 1000;
	else if (strcmp(rest, "m") == 0)
		mul = 60000;
	else if (*rest == '\0' && v == 0)
		mul = 1;
	else
		return EINVAL;
	if (v > UINT64_MAX / mul)
		return EINVAL;
	*ms = v * mul;
	return 0;
}

static void say_bad(char *err, size_t errlen, const char *who, const char *value,
		    const char *what)
{
	fmt_t f;
	fmt_init(&f, err, errlen);
	fmt_str(&f, who);
	fmt_str(&f, "='");
	fmt_str(&f, value);
	fmt_str(&f, "': expected ");
	fmt_str(&f, what);
}

int opt_set(ag_config_t *c, const opt_desc_t *d, const char *value, const char *who,
	    char *err, size_t errlen)
{
	uint64_t v = 0;
	int rc = 0;
	switch (d->type) {
	case OPT_SIZE:
		rc = opt_parse_size(value, &v);
		break;
	case OPT_PCT:
	case OPT_INT:
		rc = opt_parse_u64(value, &v);
		break;
	case OPT_DURATION:
		rc = opt_parse_duration(value, &v);
		break;
	case OPT_ENUM: {
		int i = enum_value(d, value);
		rc = i < 0 ? EINVAL : 0;
		v = i < 0 ? 0 : (uint64_t)i;
		break;
	}
	case OPT_STR: {
		size_t n = strlen(value);
		if (n >= OPT_STR_MAX || n < d->min) {
			say_bad(err, errlen, who, value, expected(d));
			return EINVAL;
		}
		memcpy((char *)c + d->offset, value, n + 1);
		return 0;
	}
	}
	if (rc == 0 && d->type != OPT_ENUM && (v < d->min || v > d->max))
		rc = EINVAL;
	if (rc) {
		if (d->type == OPT_SIZE && d->min > 0) {
			/* bounded sizes name their bounds */
			char what[200];
			fmt_t f;
			fmt_init(&f, what, sizeof what);
			fmt_str(&f, expected(d));
			fmt_str(&f, ", between ");
			fmt_size(&f, d->min);
			fmt_str(&f, " and ");
			fmt_size(&f, d->max);
			say_bad(err, errlen, who, value, what);
		} else {
			say_bad(err, errlen, who, value, expected(d));
		}
		return EINVAL;
	}
	*(uint64_t *)((char *)c + d->offset) = v;
	return 0;
}

void opt_defaults(ag_config_t *c)
{
	char err[8];
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < opt_count; i++)
		opt_set(c, &opt_table[i], opt_table[i].def, "", err, sizeof err);
}

int opt_check(const ag_config_t *c, char *err, size_t errlen)
{
	if (c->warn >= c->critical) {
		fmt_t f;
		fmt_init(&f, err, errlen);
		fmt_str(&f, "warning threshold (");
		fmt_u64(&f, c->warn);
		fmt_str(&f, "%) must be below the critical threshold (");
		fmt_u64(&f, c->critical);
		fmt_str(&f, "%): set ALLOCGUARD_WARN / --warn lower or ALLOCGUARD_CRITICAL / --critical higher");
		return EINVAL;
	}
	return 0;
}

int opt_load_env(ag_config_t *c, char *err, size_t errlen)
{
	opt_defaults(c);
	for (size_t i = 0; i < opt_count; i++) {
		const char *v = secure_getenv(opt_table[i].env);
		if (!v)
			continue;
		int rc = opt_set(c, &opt_table[i], v, opt_table[i].env, err, errlen);
		if (rc)
			return rc;
	}
	return opt_check(c, err, errlen);
}

bool opt_log_line(const opt_desc_t *d, const ag_config_t *c, fmt_t *f)
{
	const char *at = (const char *)c + d->offset;
	if (!d->oname || (d->type == OPT_STR && !at[0] && !d->def[0]))
		return false;
	fmt_str(f, "O ");
	fmt_str(f, d->oname);
	fmt_chr(f, ' ');
	if (d->type == OPT_STR) {
		fmt_escaped(f, at);
		return true;
	}
	uint64_t v;
	memcpy(&v, at, sizeof v);
	if (d->type != OPT_ENUM) {
		fmt_u64(f, v);
		return true;
	}
	const char *w = d->words;   /* "|a|b|c": skip to the v-th word */
	for (uint64_t i = 0; i < v && w; i++)
		w = strchr(w + 1, '|');
	if (!w)
		return true;   /* out of range: an empty value, as the reader will say */
	const char *end = strchr(w + 1, '|');
	char word[64];
	size_t n = end ? (size_t)(end - w - 1) : strlen(w + 1);
	n = n < sizeof word - 1 ? n : sizeof word - 1;
	memcpy(word, w + 1, n);
	word[n] = '\0';
	fmt_str(f, word);
	return true;
}

bool opt_env_unknown(const char *entry, char *name, size_t namelen)
{
	static const char prefix[] = "ALLOCGUARD_";
	if (strncmp(entry, prefix, sizeof prefix - 1) != 0)
		return false;
	size_t n = strcspn(entry, "=");
	for (size_t i = 0; i < opt_count; i++)
		if (strlen(opt_table[i].env) == n && memcmp(opt_table[i].env, entry, n) == 0)
			return false;
	if (namelen) {
		size_t k = n < namelen - 1 ? n : namelen - 1;
		memcpy(name, entry, k);
		name[k] = '\0';
	}
	return true;
}

const opt_desc_t *opt_find_flag(const char *flag)
{
	for (size_t i = 0; i < opt_count; i++)
		if (strcmp(opt_table[i].flag, flag) == 0)
			return &opt_table[i];
	return NULL;
}
