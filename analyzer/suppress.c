/* suppress.c: leak suppressions (see suppress.h). */
#include "suppress.h"
#include "fold.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int bad(const char *what, const char *val)
{
	fprintf(stderr, "allocguard: %s%s%s\n", what, val ? " " : "", val ? val : "");
	return 2;
}

int supp_arg(supp_opts_t *o, int argc, char **argv, int *i, bool print_ok)
{
	const char *s = argv[*i];
	if (strcmp(s, "--no-default-suppressions") == 0) {
		o->no_defaults = 1;
		return 1;
	}
	if (print_ok && strcmp(s, "--print-suppressions") == 0) {
		o->print = 1;
		return 1;
	}
	const char *flag = "--suppressions";
	size_t n = strlen(flag);
	if (strncmp(s, flag, n) != 0 || (s[n] != '\0' && s[n] != '='))
		return 0;
	const char *val = s[n] == '=' ? s + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!val || !*val || strcmp(val, "--") == 0)
		return bad("--suppressions needs a file", NULL);
	if (o->nfiles == SUPP_MAX_FILES)
		return bad("too many --suppressions files, at most 64:", val);
	o->files[o->nfiles++] = val;
	return 1;
}

/* The shipped defaults' path into buf: 0, or ENOENT when there are none. */
static int supp_default_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return ENOENT;
	exe[n] = '\0';
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s%s", dirname(exe), SUPP_DEFAULT_REL);
	if (access(p, R_OK) != 0 || !realpath(p, exe) || strlen(exe) >= len)
		return ENOENT;
	snprintf(buf, len, "%s", exe);
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int add_rule(supp_t *s, const char *path, int line, const char *pattern)
{
	supp_rule_t *r = realloc(s->rules, (s->n + 1) * sizeof *r);
	if (!r)
		return ENOMEM;
	s->rules = r;
	r[s->n] = (supp_rule_t){ .file = strdup(path), .line = line, .pattern = strdup(pattern) };
	if (!r[s->n].file || !r[s->n].pattern) {
		free(r[s->n].file);
		free(r[s->n].pattern);
		return ENOMEM;
	}
	s->n++;
	return 0;
}

int supp_load(supp_t *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "suppressions %s: %s", path, strerror(errno));
		return EINVAL;
	}
	char buf[4096];
	int line = 0, rc = 0;
	while (!rc && fgets(buf, sizeof buf, f)) {
		line++;
		char *t = trim(buf);
		if (!*t || *t == '#')
			continue;
		char *colon = strchr(t, ':');
		if (!colon || (size_t)(colon - t) != 4 || strncmp(t, "leak", 4) != 0) {
			snprintf(err, errlen, "%s:%d: expected 'leak:PATTERN' (LeakSanitizer's syntax), "
				 "got '%.80s'", path, line, t);
			rc = EINVAL;
		} else if (!*trim(colon + 1)) {
			snprintf(err, errlen, "%s:%d: 'leak:' needs a pattern", path, line);
			rc = EINVAL;
		} else if (add_rule(s, path, line, trim(colon + 1))) {
			snprintf(err, errlen, "%s: out of memory", path);
			rc = ENOMEM;
		}
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "suppressions %s: %s", path, strerror(errno));
		rc = EINVAL;
	}
	fclose(f);
	return rc;
}

static int load_one(supp_t *s, const char *path)
{
	char err[600];
	if (supp_load(s, path, err, sizeof err) == 0)
		return 0;
	fprintf(stderr, "allocguard: %s\n", err);
	return 2;
}

int supp_load_all(supp_t *s, const supp_opts_t *o, const char *env)
{
	char def[PATH_MAX];
	if (!o->no_defaults && supp_default_path(def, sizeof def) == 0 && load_one(s, def))
		return 2;
	char *copy = env && *env ? strdup(env) : NULL;
	for (char *save = NULL, *p = copy ? strtok_r(copy, ":", &save) : NULL; p;
	     p = strtok_r(NULL, ":", &save)) {
		if (load_one(s, p)) {
			free(copy);
			return 2;
		}
	}
	free(copy);
	for (size_t i = 0; i < o->nfiles; i++)
		if (load_one(s, o->files[i]))
			return 2;
	return 0;
}

void supp_free(supp_t *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->rules[i].file);
		free(s->rules[i].pattern);
	}
	free(s->rules);
	memset(s, 0, sizeof *s);
}

/* '*' only, the whole text: the classic backtracking to the last star. */
static bool glob_all(const char *p, const char *pend, const char *t)
{
	const char *star = NULL, *resume = NULL;
	while (*t) {
		if (p < pend && *p == '*') {
			star = ++p;
			resume = t;
		} else if (p < pend && *p == *t) {
			p++;
			t++;
		} else if (star) {
			p = star;
			t = ++resume;
		} else {
			return false;
		}
	}
	while (p < pend && *p == '*')
		p++;
	return p == pend;
}

/* Unanchored ends become stars: "^/usr/bin/bash$" is the whole name, "xmalloc" any name
 * holding it. */
bool supp_wild(const char *pattern, const char *text)
{
	if (!text)
		return false;
	bool start = pattern[0] == '^';
	const char *p = pattern + start;
	size_t n = strlen(p);
	bool end = n && p[n - 1] == '$';
	n -= end;
	char *q = malloc(n + 3), *w = q;
	if (!q)
		return false;
	if (!start)
		*w++ = '*';
	memcpy(w, p, n);
	w += n;
	if (!end)
		*w++ = '*';
	bool hit = glob_all(q, w, text);
	free(q);
	return hit;
}

static bool frame_matches(const char *pattern, const ag_frame_t *f)
{
	return supp_wild(pattern, f->function) || supp_wild(pattern, f->module) ||
	       supp_wild(pattern, f->path) || supp_wild(pattern, f->file);
}

supp_rule_t *supp_match(const supp_t *s, symbols_t *sym, const ag_stack_t *st)
{
	if (!s || !s->n)
		return NULL;
	for (size_t r = 0; r < s->n; r++) {
		frame_iter_t it = { 0 };
		for (const ag_frame_t *f; (f = symbols_next(sym, st, &it));)
			if (frame_matches(s->rules[r].pattern, f))
				return &s->rules[r];
	}
	return NULL;
}

void supp_entry(symbols_t *sym, const fold_opts_t *fold, const ag_stack_t *st, char *buf,
		size_t len)
{
	fold_frame_t fr[64];
	uint32_t idx[1];
	size_t n = fold_expand_shown(sym, st, fr, 64, fold, 1);
	const ag_frame_t *f = n && fold_shown(fr, n, fold, idx, 1) ? fr[idx[0]].f : NULL;
	if (f && f->function)
		snprintf(buf, len, "leak:%s", f->function);
	else if (f && f->module)
		snprintf(buf, len, "leak:^%s$", f->module);
	else
		snprintf(buf, len, "leak:0x%llx", n ? (unsigned long long)fr[0].addr : 0ull);
}

void supp_reset_counts(supp_t *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->rules[i].bytes = s->rules[i].count = 0;
}

void supp_print_used(const supp_t *s, FILE *out, const char *prefix)
{
	for (size_t i = 0; s && i < s->n; i++) {
		const supp_rule_t *r = &s->rules[i];
		if (!r->bytes && !r->count)
			continue;
		char b[40];
		size_str(r->bytes, b, sizeof b);
		fprintf(out, "%ssuppressed %s in %llu block%s by %s:%d leak:%s\n", prefix, b,
			(unsigned long long)r->count, r->count == 1 ? "" : "s", r->file, r->line,
			r->pattern);
	}
}
