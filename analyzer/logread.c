/* logread.c: the strict reader of snapshot logs (preload/logfmt.h) into the model.
 * Owns the reading of lines, the dispatch of each to its record's parser (logread.h) and
 * what the end of the input means: reading stops at the first damage, which is recorded,
 * not fatal, as long as one snapshot before it is usable (the durability rule,
 * logread_snap.c).  What the figures mean is the reports'.  A log may be a gzip stream
 * (preload/logbuf.h), read through inflate as it arrives (logread_gz.c): a stream cut
 * anywhere yields the text before the cut, which then reads by the same rule as a cut text
 * log; a corrupt stream is damage where its text stops. */
#include "logread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* H: a heap stack's requested sizes, parsed in logread_sizes.c. */
static int rec_stack_sizes(reader_t *r, const fields_t *fl)
{
	return logread_sizes(r->log, fl->f, fl->n, fl->count, r->open ? (int64_t)r->cur.seq : -1,
			     r->why, r->whylen);
}

/* The parser of each record type, by its letter (preload/logfmt.h). */
static const lr_record_fn records[128] = {
	['P'] = rec_proc,
	['A'] = rec_arg,
	['O'] = rec_option,
	['M'] = rec_module,
	['S'] = rec_stack,
	['U'] = rec_unload,
	['J'] = rec_jit,
	['F'] = rec_jsfunc,
	['V'] = rec_event,
	['W'] = rec_swap,
	['B'] = rec_begin,
	['L'] = rec_live,
	['R'] = rec_lost,
	['K'] = rec_peak,
	['T'] = rec_at_peak,
	['Z'] = rec_sizes,
	['H'] = rec_stack_sizes,
	['E'] = rec_end,
	['X'] = rec_verdict,
};

/* Refused outright, before any record: not a log at all (msg said). */
#define REFUSED (-1)

static const char not_a_log[] = "not an allocguard log (no 'AGLOG <version>' first line)";

static int jsfunc_cmp(const void *a, const void *b)
{
	const ag_jsfunc_t *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int module_cmp(const void *a, const void *b)
{
	const ag_module_t *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->bias != y->bias)
		return x->bias < y->bias ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* One entry per mapping, sorted by address. */
static void dedupe_modules(ag_log_t *log)
{
	if (log->nmodules < 2)
		return;
	qsort(log->modules, log->nmodules, sizeof *log->modules, module_cmp);
	size_t j = 0;
	for (size_t i = 0; i < log->nmodules; i++) {
		if (j && module_cmp(&log->modules[j - 1], &log->modules[i]) == 0) {
			/* seen loaded again at the same place: the same file, never gone */
			ag_module_t *k = &log->modules[j - 1];
			if (!log->modules[i].gone_from || (k->gone_from &&
			    log->modules[i].gone_from > k->gone_from))
				k->gone_from = log->modules[i].gone_from;
			free(log->modules[i].build_id);
			free(log->modules[i].path);
			continue;
		}
		log->modules[j++] = log->modules[i];
	}
	log->nmodules = j;
}

static void free_cur(reader_t *r)
{
	free(r->cur.l);
	free(r->cur.r);
	free(r->cur.t);
	memset(&r->cur, 0, sizeof r->cur);
}

static void say(char *msg, size_t msglen, const char *name, size_t line, const char *what)
{
	snprintf(msg, msglen, "%s:%zu: %s", name, line, what);
}

static ag_log_t *log_new(const char *name)
{
	ag_log_t *log = calloc(1, sizeof *log);
	if (log && !(log->path = strdup(name))) {
		free(log);
		return NULL;
	}
	return log;
}

/* The input's first bytes must be able to start "AGLOG ": anything else is refused at once
 * (read as parsed: reading on, say /dev/zero, might never end). */
static int check_head(src_t *src, const char *name, char *msg, size_t msglen)
{
	while (src->len - src->pos < 6 && src_fill(src))
		;
	size_t head = src->len - src->pos < 6 ? src->len - src->pos : 6;
	if (head && memcmp(src->buf + src->pos, AG_LOG_MAGIC " ", head) != 0) {
		say(msg, msglen, name, 1, not_a_log);
		return REFUSED;
	}
	return 0;
}

/* The first line: "AGLOG <version>", of a version this reader knows. */
static int read_version(reader_t *r, const char *s, size_t n, const char *name, char *msg,
			size_t msglen)
{
	uint64_t ver;
	if (n < 6 || memcmp(s, AG_LOG_MAGIC " ", 6) != 0 || lr_dec(s + 6, n - 6, &ver) ||
	    ver == 0) {
		say(msg, msglen, name, 1, not_a_log);
		return REFUSED;
	}
	if (ver > AG_LOG_VERSION) {
		char w[120];
		snprintf(w, sizeof w, "log version %llu is newer than this allocguard (%d)",
			 (unsigned long long)ver, AG_LOG_VERSION);
		say(msg, msglen, name, 1, w);
		return REFUSED;
	}
	r->log->version = (unsigned)ver;
	return 0;
}

/* A line after the first: its letter picks the record's parser. */
static int read_record(reader_t *r, const char *s, size_t n, fields_t *fl)
{
	int rc;
	if (n < 3 || s[1] != ' ')
		return lr_damage(r, "malformed line (expected a record type letter and a space)");
	if ((rc = lr_split(r, s, n, fl)))
		return rc;
	if (fl->n[0] != 1)
		return lr_damage(r, "malformed record type");
	unsigned char c = (unsigned char)s[0];
	if (c < sizeof records / sizeof records[0] && records[c])
		return records[c](r, fl);
	return lr_damage(r, "unknown record type '%c'", (c > 0x20 && c < 0x7f) ? c : '?');
}

/* The next line into *s (NULL at the end of the input), or the damage where the text
 * stops: the compressed stream's, a line cut or too long, a NUL byte. */
static int next_line(reader_t *r, src_t *src, const char **s, size_t *n)
{
	size_t avail = 0;
	int got = src_line(src, s, n, &avail);
	if (got == 0 && !src->zwhy[0]) {
		*s = NULL;
		return 0;
	}
	r->line++;
	if (got <= 0 && src->zwhy[0])
		return lr_damage(r, "%s", src->zwhy);
	if (got < 0)
		return avail > AG_MAX_LINE ? lr_damage(r, "line longer than %u bytes", AG_MAX_LINE)
					   : lr_damage(r, "last line is cut off (no newline)");
	if (memchr(*s, '\0', *n))
		return lr_damage(r, "NUL byte in line");
	return 0;
}

/* Every line, up to the end or the first damage: 0, the damage (EINVAL), REFUSED or
 * ENOMEM. */
static int read_lines(reader_t *r, src_t *src, const char *name, char *msg, size_t msglen)
{
	fields_t *fl = malloc(sizeof *fl);
	if (!fl)
		return ENOMEM;
	int rc = 0;
	while (!rc) {
		const char *s;
		size_t n;
		if ((rc = next_line(r, src, &s, &n)) || !s)
			break;
		rc = r->line == 1 ? read_version(r, s, n, name, msg, msglen)
				  : read_record(r, s, n, fl);
	}
	free(fl);
	return rc;
}

/* The model in order once read: modules deduplicated, refusals tied to their stacks, JS
 * functions sorted by address. */
static void tidy(ag_log_t *log)
{
	dedupe_modules(log);
	for (size_t i = 0; i < log->nevents; i++) {
		ag_event_t *e = &log->events[i];
		e->have_stack = e->stack_id && lr_idx_find(log, e->stack_id, &e->stack) == 0;
	}
	if (log->njsfuncs)   /* qsort of NULL is undefined, even for 0 elements */
		qsort(log->jsfuncs, log->njsfuncs, sizeof *log->jsfuncs, jsfunc_cmp);
}

/* After the last line (rc: 0 or the damage met): EINVAL with msg said when nothing is
 * usable; else 0, with the damage, if any, noted in the model. */
static int settle(reader_t *r, int rc, const char *name, char *msg, size_t msglen)
{
	ag_log_t *log = r->log;
	if (r->line == 0) {
		say(msg, msglen, name, 1, "empty file, not an allocguard log");
		return EINVAL;
	}
	if (!rc && r->open) {
		r->line = r->cur_line;
		snprintf(r->why, r->whylen,
			 "snapshot %llu is incomplete (the log ends before its E line)",
			 (unsigned long long)r->cur.seq);
		rc = EINVAL;
	}
	if (!rc && log->version == 0) {
		say(msg, msglen, name, 1, not_a_log);
		return EINVAL;
	}
	tidy(log);
	if (rc) {
		log->damage_line = r->line;
		snprintf(log->damage, sizeof log->damage, "%s", r->why);
	}
	if (log->nsnaps)
		return 0;
	say(msg, msglen, name, r->line, rc ? r->why : "no snapshot in the log");
	if (rc) {
		/* name the consequence in the same single line */
		size_t l = strlen(msg);
		snprintf(msg + l, msglen > l ? msglen - l : 0, "; no complete snapshot before it");
	}
	return EINVAL;
}

static int parse_src(const char *name, src_t *src, ag_log_t **out, char *msg, size_t msglen)
{
	char why[200] = "";
	reader_t r = { .why = why, .whylen = sizeof why };
	*out = NULL;
	if (!(r.log = log_new(name)))
		return ENOMEM;
	int rc = src_start(src) == ENOMEM ? ENOMEM : check_head(src, name, msg, msglen);
	if (!rc)
		rc = read_lines(&r, src, name, msg, msglen);
	if (rc != ENOMEM && rc != REFUSED)
		rc = settle(&r, rc, name, msg, msglen);
	free_cur(&r);
	if (rc) {
		log_free(r.log);
		return rc == ENOMEM ? ENOMEM : EINVAL;
	}
	*out = r.log;
	return 0;
}

int log_parse(const char *name, const char *buf, size_t len, ag_log_t **out, char *msg,
	      size_t msglen)
{
	src_t src = { .buf = buf, .len = len };
	int rc = parse_src(name, &src, out, msg, msglen);
	src_end(&src);
	if (rc == 0 && src.err) {   /* out of memory inflating */
		log_free(*out);
		*out = NULL;
		rc = src.err;
	}
	return rc;
}

int log_load(const char *path, ag_log_t **out, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(msg, msglen, "%s: %s", path, strerror(e));
		return e;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(msg, msglen, "%s: is a directory, not a log", path);
		return EISDIR;
	}
	/* read as parsed: not a log (say /dev/zero) is refused on its first bytes, and reading
	 * on might never end */
	src_t src = { .f = f, .buf = "" };
	*out = NULL;
	int rc = parse_src(path, &src, out, msg, msglen);
	fclose(f);
	src_end(&src);
	if (src.err) {
		log_free(*out);
		*out = NULL;
		snprintf(msg, msglen, src.err == ENOMEM ? "%s: out of memory reading the log"
			 : "%s: read error", path);
		return src.err;
	}
	if (rc == ENOMEM)
		snprintf(msg, msglen, "%s: out of memory reading the log", path);
	return rc;
}

void log_free(ag_log_t *log)
{
	if (!log)
		return;
	free(log->path);
	free(log->exe);
	for (size_t i = 0; i < log->argc; i++)
		free(log->argv[i]);
	free(log->argv);
	for (size_t i = 0; i < log->nopts; i++) {
		free(log->opts[i].name);
		free(log->opts[i].value);
	}
	free(log->opts);
	for (size_t i = 0; i < log->nmodules; i++) {
		free(log->modules[i].build_id);
		free(log->modules[i].path);
	}
	free(log->modules);
	for (size_t i = 0; i < log->nstacks; i++)
		free(log->stacks[i].frames);
	free(log->stacks);
	for (size_t i = 0; i < log->njitmaps; i++)
		free(log->jitmaps[i]);
	free(log->jitmaps);
	for (size_t i = 0; i < log->njsfuncs; i++) {
		free(log->jsfuncs[i].name);
		free(log->jsfuncs[i].script);
	}
	free(log->jsfuncs);
	logread_sizes_free(log);
	free(log->events);
	for (size_t i = 0; i < log->nswaps; i++) {
		free(log->swaps[i].mode);
		free(log->swaps[i].path);
	}
	free(log->swaps);
	for (size_t i = 0; i < log->nsnaps; i++) {
		free(log->snaps[i].l);
		free(log->snaps[i].r);
		free(log->snaps[i].t);
	}
	free(log->snaps);
	htab_free(&log->idx);
	free(log->idx_dense);
	free(log);
}
