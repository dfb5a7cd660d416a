/* symbols_jit.c: names of JIT code (see symbols_int.h): node's perf maps ("START SIZE
 * name" lines, V8's names taken apart into function, script and line) and the JS functions
 * of node's heap profile (the log's F lines). */
#include "symbols_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JIT_MAX_ENTRIES (16u << 20)
#define JIT_MAX_LINE 8192

static int jit_cmp(const void *a, const void *b)
{
	const jit_sym_t *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int parse_hex_tok(const char **p, uint64_t *v)
{
	const char *s = *p;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t x = 0;
	int n = 0;
	for (;; s++, n++) {
		int h = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
			: (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;
		if (h < 0)
			break;
		if (n >= 16)
			return EINVAL;
		x = x << 4 | (uint64_t)h;
	}
	if (!n || *s != ' ')
		return EINVAL;
	*p = s + 1;
	*v = x;
	return 0;
}

/* Load "START SIZE name" lines; malformed lines are skipped (node may be mid-write). */
static void jit_load(symbols_t *s, const char *path)
{
	int fd = sym_open_regular(path);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *line = malloc(JIT_MAX_LINE);
	size_t cap = s->njit;
	while (line && fgets(line, JIT_MAX_LINE, f) && s->njit < JIT_MAX_ENTRIES) {
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		const char *p = line;
		uint64_t start, size;
		if (parse_hex_tok(&p, &start) || parse_hex_tok(&p, &size) || !*p || !size ||
		    start + size < start)
			continue;
		if (s->njit == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			jit_sym_t *nj = realloc(s->jit, nc * sizeof *nj);
			if (!nj)
				break;
			s->jit = nj;
			cap = nc;
		}
		char *name = strdup(p);
		if (!name)
			break;
		s->jit[s->njit] = (jit_sym_t){ start, start + size, s->njit, name };
		s->njit++;
	}
	free(line);
	fclose(f);
	if (!s->jit_path)
		s->jit_path = strdup(path);
}

static const jit_sym_t *jit_find(const symbols_t *s, uint64_t addr)
{
	size_t lo = 0, hi = s->njit;
	while (lo < hi) {   /* first entry with start > addr */
		size_t mid = lo + (hi - lo) / 2;
		if (s->jit[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const jit_sym_t *best = NULL;
	for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++) {
		const jit_sym_t *j = &s->jit[i];
		if (addr < j->end && (!best || j->order > best->order))
			best = j;
	}
	return best;
}

/* V8's perf-map names: "<Kind>:<tier><name> <script>:<line>[:<column>]", e.g.
 * "LazyCompile:~handler /app/x.js:12:3" (node <= 18) or "JS:*handler file:///x.js:3:10"
 * (node 20; the tier is ~ interpreted, ^ baseline, + maglev, * optimized).  A JS function
 * gets its name (the same in every tier, "(anonymous)" when empty) and its script and
 * line; anything else (Builtin:, Stub:, a name without a script) stays as written. */
static void jit_name(const char *raw, ag_frame_t *f)
{
	const char *colon = strchr(raw, ':'), *sp = strrchr(raw, ' ');
	if (!colon || !sp || sp < colon || colon == raw)
		goto as_is;
	for (const char *k = raw; k < colon; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z')))
			goto as_is;
	/* script:line[:column] at the end: take the trailing numbers off from the right */
	const char *script = sp + 1, *end = script + strlen(script);
	long nums[2];
	int nn = 0;
	while (nn < 2) {
		const char *d = end;
		while (d > script && d[-1] >= '0' && d[-1] <= '9')
			d--;
		if (d == end || d == script || d[-1] != ':' || end - d > 9)
			break;
		nums[nn++] = strtol(d, NULL, 10);
		end = d - 1;
	}
	if (!nn || end <= script)
		goto as_is;
	long line = nums[nn - 1];
	const char *name = colon + 1;
	if (*name == '~' || *name == '*' || *name == '^' || *name == '+')
		name++;
	size_t nlen = (size_t)(sp - name);
	f->function = nlen ? strndup(name, nlen) : strdup("(anonymous)");
	if (strncmp(script, "file://", 7) == 0)
		script += 7;
	if (line > 0 && end > script) {
		f->path = strndup(script, (size_t)(end - script));
		/* node's own modules are named by their id ("node:internal/buffer") */
		f->file = !f->path ? NULL : strncmp(f->path, "node:", 5) == 0 ? f->path
			: frame_base_name(f->path);
		f->line = f->path ? (int)line : 0;
	}
	return;
as_is:
	f->function = strdup(raw);
}

/* A JS function of node's heap profile (an F line), named as jit_name names perf-map
 * entries: function, script and the line it starts at. */
int js_resolve(symbols_t *s, uint64_t addr, ag_frame_t *f)
{
	const ag_log_t *log = s->log;
	size_t lo = 0, hi = log->njsfuncs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (log->jsfuncs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == log->njsfuncs || log->jsfuncs[lo].addr != addr)
		return 0;
	const ag_jsfunc_t *j = &log->jsfuncs[lo];
	f->function = strdup(j->name[0] ? j->name : "(anonymous)");
	if (j->plain)
		return 1;
	f->jit = 1;
	f->module = "[JS heap]";
	const char *script = j->script;
	if (strncmp(script, "file://", 7) == 0)
		script += 7;
	if (*script) {
		f->path = strdup(script);
		f->file = !f->path ? NULL : strncmp(f->path, "node:", 5) == 0 ? f->path
			: frame_base_name(f->path);
		f->line = (int)j->line;
	}
	return 1;
}

void jit_open(symbols_t *s)
{
	const ag_log_t *log = s->log;
	for (size_t i = 0; i < log->njitmaps; i++)
		jit_load(s, log->jitmaps[i]);
	if (!log->njitmaps && log->have_proc) {
		char p[64];
		snprintf(p, sizeof p, "/tmp/perf-%" PRIu64 ".map", log->pid);
		jit_load(s, p);
	}
	if (s->njit)
		qsort(s->jit, s->njit, sizeof *s->jit, jit_cmp);
}

void jit_resolve(symbols_t *s, uint64_t addr, ag_frame_t *f)
{
	const jit_sym_t *j = s->njit ? jit_find(s, addr) : NULL;
	if (j) {
		jit_name(j->name, f);
		f->module = s->jit_path;
		f->offset = addr - j->start;
		f->jit = 1;
	}
}

void jit_free(symbols_t *s)
{
	for (size_t i = 0; i < s->njit; i++)
		free(s->jit[i].name);
	free(s->jit);
	free(s->jit_path);
}
