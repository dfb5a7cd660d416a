/* logread.c: the strict reader of snapshot logs (preload/logfmt.h) into the model.
 * Owns parsing, bounds and the durability rule (a snapshot counts only when its E line is
 * complete and matches); reading stops at the first damage, which is recorded, not fatal,
 * as long as one snapshot before it is usable.  Figures that merely disagree are not
 * damage: they are made to agree and noted (agree()).  What the figures mean is the
 * reports'.  A log may be a gzip stream (preload/logbuf.h), read through inflate as it
 * arrives: a stream cut anywhere yields the text before the cut, which then reads by the
 * same rule as a cut text log; a corrupt stream is damage where its text stops. */
#include "model.h"
#include "logfmt.h"
#include "fmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_FIELDS (AG_LOG_MAX_FRAMES + 8)

typedef struct {
	const char *f[MAX_FIELDS];
	size_t n[MAX_FIELDS];
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
	size_t cap_argv, cap_opts, cap_jit;
} reader_t;

static int damage(reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int damage(reader_t *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, r->whylen, fmt, ap);
	va_end(ap);
	return EINVAL;
}

/* Split on single spaces; empty fields and too many fields are damage. */
static int split(reader_t *r, const char *s, size_t len, fields_t *fl)
{
	fl->count = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (i == start)
			return damage(r, "empty field (stray space)");
		if (fl->count == MAX_FIELDS)
			return damage(r, "too many fields");
		fl->f[fl->count] = s + start;
		fl->n[fl->count] = i - start;
		fl->count++;
		start = i + 1;
	}
	return 0;
}

static int parse_dec(const char *s, size_t n, uint64_t *out)
{
	return n > 20 ? EINVAL : fmt_parse_u64(s, n, out);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 16)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return EINVAL;
		v = (v << 4) | (uint64_t)h;
	}
	*out = v;
	return 0;
}

/* Percent-decode one field into a new string; "%00" alone is the empty string. */
static int unescape(reader_t *r, const char *s, size_t n, char **out)
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
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(d);
				return damage(r, "bad %%-escape in a string field");
			}
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f) {
			free(d);
			return damage(r, "unescaped byte 0x%02x in a string field", c);
		} else {
			d[j++] = (char)c;
		}
	}
	d[j] = '\0';
	*out = d;
	return 0;
}

/* Stack id -> index. */
static int idx_find(const ag_log_t *log, uint64_t id, uint32_t *out)
{
	if (id < log->dense_cap && log->idx_dense[id]) {
		*out = log->idx_dense[id] - 1;
		return 0;
	}
	uint64_t v;
	if (!htab_get(&log->idx, id, &v))
		return ENOENT;
	*out = (uint32_t)v;
	return 0;
}

static int idx_insert(ag_log_t *log, uint64_t id, uint32_t val)
{
	/* dense while ids stay within a few times the stacks seen: bounded by the input */
	if (id < 4 * (uint64_t)log->nstacks + 65536) {
		if (id >= log->dense_cap) {
			size_t nc = log->dense_cap ? log->dense_cap : 65536;
			while (nc <= id)
				nc *= 2;
			uint32_t *d = realloc(log->idx_dense, nc * sizeof *d);
			if (!d)
				return ENOMEM;
			memset(d + log->dense_cap, 0, (nc - log->dense_cap) * sizeof *d);
			log->idx_dense = d;
			log->dense_cap = nc;
		}
		log->idx_dense[id] = val + 1;
		return 0;
	}
	return htab_put(&log->idx, id, val);
}

static int want_fields(reader_t *r, const fields_t *fl, size_t n, const char *what)
{
	if (fl->count != n)
		return damage(r, "%s line has %zu fields, expected %zu", what, fl->count, n);
	return 0;
}

static int nums(reader_t *r, const fields_t *fl, size_t from, size_t n, uint64_t *v,
		const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (parse_dec(fl->f[from + i], fl->n[from + i], &v[i]))
			return damage(r, "%s line: field %zu is not a decimal number", what,
				      from + i + 1);
	return 0;
}

static int rec_proc(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	uint64_t v[3];
	int rc;
	if ((rc = want_fields(r, fl, 5, "P")) || (rc = nums(r, fl, 1, 3, v, "P")))
		return rc;
	if (log->have_proc)
		return damage(r, "second P line");
	if ((rc = unescape(r, fl->f[4], fl->n[4], &log->exe)))
		return rc;
	log->pid = v[0];
	log->ppid = v[1];
	log->start_ns = v[2];
	log->have_proc = 1;
	return 0;
}

static int rec_arg(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	char *s;
	int rc;
	if ((rc = want_fields(r, fl, 2, "A")) || (rc = unescape(r, fl->f[1], fl->n[1], &s)))
		return rc;
	if ((rc = AG_PUSH(log->argv, log->argc, r->cap_argv, s)))
		free(s);
	return rc;
}

static int rec_option(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	ag_option_t o = { 0 };
	int rc;
	if ((rc = want_fields(r, fl, 3, "O")) || (rc = unescape(r, fl->f[1], fl->n[1], &o.name)))
		return rc;
	if ((rc = unescape(r, fl->f[2], fl->n[2], &o.value))) {
		free(o.name);
		return rc;
	}
	/* kept in order: log_option() reads the last value of a name */
	if ((rc = AG_PUSH(log->opts, log->nopts, r->cap_opts, o))) {
		free(o.name);
		free(o.value);
	}
	return rc;
}

static int rec_module(reader_t *r, const fields_t *fl, size_t *cap)
{
	ag_log_t *log = r->log;
	ag_module_t m = { 0 };
	int rc;
	if ((rc = want_fields(r, fl, 6, "M")))
		return rc;
	if (parse_hex(fl->f[1], fl->n[1], &m.bias) || parse_hex(fl->f[2], fl->n[2], &m.lo) ||
	    parse_hex(fl->f[3], fl->n[3], &m.hi))
		return damage(r, "M line: bias, lo and hi must be hex numbers");
	if (m.lo >= m.hi)
		return damage(r, "M line: empty address range");
	if (!(fl->n[4] == 1 && fl->f[4][0] == '-')) {
		if (fl->n[4] > 128 || fl->n[4] % 2)
			return damage(r, "M line: bad build-id");
		for (size_t i = 0; i < fl->n[4]; i++)
			if (hexval(fl->f[4][i]) < 0)
				return damage(r, "M line: bad build-id");
		m.build_id = strndup(fl->f[4], fl->n[4]);
		if (!m.build_id)
			return ENOMEM;
	}
	if ((rc = unescape(r, fl->f[5], fl->n[5], &m.path))) {
		free(m.build_id);
		return rc;
	}
	/* modules are re-sent after dlopen: the repeats go in dedupe_modules() */
	if ((rc = AG_PUSH(log->modules, log->nmodules, *cap, m))) {
		free(m.build_id);
		free(m.path);
	}
	return rc;
}

/* U: the module of that range, bias and path was gone before stack id N. */
static int rec_unload(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	uint64_t bias, lo, hi, from;
	char *path;
	int rc;
	if ((rc = want_fields(r, fl, 6, "U")))
		return rc;
	if (parse_hex(fl->f[1], fl->n[1], &bias) || parse_hex(fl->f[2], fl->n[2], &lo) ||
	    parse_hex(fl->f[3], fl->n[3], &hi) || parse_dec(fl->f[4], fl->n[4], &from) || !from)
		return damage(r, "U line: bias, lo and hi must be hex, the stack id decimal");
	if ((rc = unescape(r, fl->f[5], fl->n[5], &path)))
		return rc;
	/* every M line so far for that place (written while it was loaded, or just before
	 * this line); a reload at the same place comes later as an M line without a U */
	for (size_t i = 0; i < log->nmodules; i++) {
		ag_module_t *m = &log->modules[i];
		if (m->bias == bias && m->lo == lo && m->hi == hi && strcmp(m->path, path) == 0 &&
		    (!m->gone_from || from < m->gone_from))
			m->gone_from = from;
	}
	free(path);
	return 0;
}

static int rec_stack(reader_t *r, const fields_t *fl, size_t *cap)
{
	ag_log_t *log = r->log;
	ag_stack_t s = { 0 };
	uint32_t have;
	if (fl->count < 3)
		return damage(r, "S line has %zu fields, expected at least 3", fl->count);
	if (fl->count - 3 > AG_LOG_MAX_FRAMES)
		return damage(r, "S line has %zu frames, more than %d", fl->count - 3,
			      AG_LOG_MAX_FRAMES);
	if (parse_dec(fl->f[1], fl->n[1], &s.id))
		return damage(r, "S line: stack id is not a decimal number");
	if (fl->n[2] != 1 || (fl->f[2][0] != AG_KIND_HEAP && fl->f[2][0] != AG_KIND_MMAP &&
			      fl->f[2][0] != AG_KIND_SWAP && fl->f[2][0] != AG_KIND_JS))
		return damage(r, "S line: kind must be h, m, s or j");
	if (log->nstacks >= UINT32_MAX - 1)
		return damage(r, "too many stacks");
	s.kind = fl->f[2][0];
	s.nframes = (uint32_t)(fl->count - 3);
	s.frames = malloc((s.nframes ? s.nframes : 1) * sizeof *s.frames);
	if (!s.frames)
		return ENOMEM;
	for (uint32_t i = 0; i < s.nframes; i++) {
		if (parse_hex(fl->f[3 + i], fl->n[3 + i], &s.frames[i])) {
			free(s.frames);
			return damage(r, "S line: frame %u is not a hex address", i + 1);
		}
	}
	if (idx_find(log, s.id, &have) == 0) {
		ag_stack_t *o = &log->stacks[have];
		int same = o->kind == s.kind && o->nframes == s.nframes &&
			   memcmp(o->frames, s.frames, s.nframes * sizeof *s.frames) == 0;
		free(s.frames);
		return same ? 0 : damage(r, "stack %llu defined twice, differently",
					 (unsigned long long)s.id);
	}
	int rc = AG_PUSH(log->stacks, log->nstacks, *cap, s);
	if (!rc)
		rc = idx_insert(log, s.id, (uint32_t)(log->nstacks - 1));
	if (rc)
		free(s.frames);
	return rc;
}

static int rec_jit(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	char *s;
	int rc;
	if ((rc = want_fields(r, fl, 2, "J")) || (rc = unescape(r, fl->f[1], fl->n[1], &s)))
		return rc;
	/* the same map may be named many times; bounded so a crafted log stays cheap */
	for (size_t i = 0; i < log->njitmaps; i++) {
		if (strcmp(log->jitmaps[i], s) == 0) {
			free(s);
			return 0;
		}
	}
	if (log->njitmaps >= 64) {
		free(s);
		return damage(r, "more than 64 JIT maps");
	}
	if ((rc = AG_PUSH(log->jitmaps, log->njitmaps, r->cap_jit, s)))
		free(s);
	return rc;
}

/* A field of an F line: "-" is empty. */
static int js_str(reader_t *r, const fields_t *fl, int i, char **out)
{
	if (fl->n[i] == 1 && fl->f[i][0] == '-')
		return (*out = strdup("")) ? 0 : ENOMEM;
	return unescape(r, fl->f[i], fl->n[i], out);
}

static int rec_jsfunc(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	ag_jsfunc_t f = { 0 };
	uint64_t line, col;
	int rc;
	if ((rc = want_fields(r, fl, 6, "F")))
		return rc;
	if (parse_hex(fl->f[1], fl->n[1], &f.addr) || f.addr < AG_JS_ADDR_BASE)
		return damage(r, "F line: address is not a JS function address");
	if (parse_dec(fl->f[2], fl->n[2], &line) || parse_dec(fl->f[3], fl->n[3], &col) ||
	    line > INT32_MAX || col > INT32_MAX)
		return damage(r, "F line: line and column must be decimal numbers");
	f.line = (uint32_t)line;
	f.col = (uint32_t)col;
	if ((rc = js_str(r, fl, 4, &f.name)) || (rc = js_str(r, fl, 5, &f.script))) {
		free(f.name);
		return rc;
	}
	if ((rc = AG_PUSH(log->jsfuncs, log->njsfuncs, log->cap_jsfuncs, f))) {
		free(f.name);
		free(f.script);
	}
	return rc;
}

static int jsfunc_cmp(const void *a, const void *b)
{
	const ag_jsfunc_t *x = a, *y = b;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int rec_event(reader_t *r, const fields_t *fl, size_t *cap)
{
	ag_event_t e = { 0 };
	uint64_t v[2];
	int rc;
	if ((rc = want_fields(r, fl, r->log->version >= 2 ? 6 : 4, "V")))
		return rc;
	if (r->log->version >= 2 && (parse_dec(fl->f[4], fl->n[4], &e.request) ||
				     parse_dec(fl->f[5], fl->n[5], &e.stack_id)))
		return damage(r, "V line: request and stack must be decimal numbers");
	if (parse_dec(fl->f[1], fl->n[1], &v[0]) || parse_dec(fl->f[3], fl->n[3], &v[1]))
		return damage(r, "V line: time and bytes must be decimal numbers");
	if ((e.kind = ag_cap_event_parse(fl->f[2], fl->n[2])) < 0)
		return damage(r, "V line: event kind must be warn, critical or cap");
	e.t_ns = v[0];
	e.bytes = v[1];
	return AG_PUSH(r->log->events, r->log->nevents, *cap, e);
}

static int rec_swap(reader_t *r, const fields_t *fl, size_t *cap)
{
	ag_swapfile_t w = { 0 };
	int rc;
	if ((rc = want_fields(r, fl, 5, "W")))
		return rc;
	if (parse_dec(fl->f[1], fl->n[1], &w.t_ns) || parse_dec(fl->f[2], fl->n[2], &w.bytes))
		return damage(r, "W line: time and bytes must be decimal numbers");
	if ((rc = unescape(r, fl->f[3], fl->n[3], &w.mode)))
		return rc;
	if ((rc = unescape(r, fl->f[4], fl->n[4], &w.path))) {
		free(w.mode);
		return rc;
	}
	if ((rc = AG_PUSH(r->log->swaps, r->log->nswaps, *cap, w))) {
		free(w.mode);
		free(w.path);
	}
	return rc;
}

static int rec_verdict(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	uint64_t v[2];
	int rc;
	if (fl->count < 4)
		return damage(r, "X line has %zu fields, expected at least 4", fl->count);
	int verdict = ag_verdict_parse(fl->f[1], fl->n[1]);
	if (verdict < 0)
		return damage(r, "X line: unknown verdict '%.*s'", (int)fl->n[1], fl->f[1]);
	if ((rc = nums(r, fl, 2, 2, v, "X")))
		return rc;
	log->has_verdict = 1;
	log->verdict = verdict;
	log->threads_stopped = v[0];
	log->threads_not_stopped = v[1];
	size_t len = 0;
	log->threads_why[0] = 0;
	log->scanner = 0;
	for (size_t i = 4; i < fl->count; i++) {
		static const char sc[] = "scanner=";
		if (fl->n[i] > sizeof sc - 1 && memcmp(fl->f[i], sc, sizeof sc - 1) == 0) {
			log->scanner = strtoull(fl->f[i] + sizeof sc - 1, NULL, 10);
			continue;
		}
		if (len + fl->n[i] + 2 >= sizeof log->threads_why)
			break;
		len += (size_t)snprintf(log->threads_why + len, sizeof log->threads_why - len,
					"%s%.*s", len ? " " : "", (int)fl->n[i], fl->f[i]);
	}
	return 0;
}

static int rec_begin(reader_t *r, const fields_t *fl)
{
	uint64_t v[2];
	int rc;
	if (fl->count != 4 && fl->count != 5)
		return damage(r, "B line has %zu fields, expected 4 or 5", fl->count);
	if ((rc = nums(r, fl, 1, 2, v, "B")))
		return rc;
	if (r->open)
		return damage(r, "snapshot %llu begins before snapshot %llu ended",
			      (unsigned long long)v[0], (unsigned long long)r->cur.seq);
	int why = ag_reason_parse(fl->f[3], fl->n[3]);
	if (why < 0)
		return damage(r, "B line: unknown snapshot reason '%.*s'",
			      (int)(fl->n[3] > 20 ? 20 : fl->n[3]), fl->f[3]);
	ag_log_t *log = r->log;
	uint64_t want = log->nsnaps ? log->snaps[log->nsnaps - 1].seq + 1 : 0;
	if (v[0] != want)
		return damage(r, "snapshot %llu where %llu was expected",
			      (unsigned long long)v[0], (unsigned long long)want);
	if (log->nsnaps && v[1] < log->snaps[log->nsnaps - 1].t_ns)
		return damage(r, "snapshot %llu goes back in time", (unsigned long long)v[0]);
	if ((why == AG_REASON_LABEL) != (fl->count == 5))
		return damage(r, "B line: a label goes with reason 'label' and only with it");
	memset(&r->cur, 0, sizeof r->cur);
	if (why == AG_REASON_LABEL) {
		char *label;
		if ((rc = unescape(r, fl->f[4], fl->n[4], &label)))
			return rc;
		size_t n = strlen(label);
		if (n == 0 || n > AG_LABEL_MAX || strchr(label, '@')) {
			free(label);
			return damage(r, "B line: a label is 1..%d bytes without '@'", AG_LABEL_MAX);
		}
		memcpy(r->cur.label, label, n + 1);
		free(label);
	}
	r->cur_cap_l = r->cur_cap_r = r->cur_cap_t = 0;
	r->cur.seq = v[0];
	r->cur.t_ns = v[1];
	memcpy(r->cur.reason, fl->f[3], fl->n[3]);
	r->cur.why = why;
	r->open = 1;
	r->cur_line = r->line;
	return 0;
}

static int stack_ref(reader_t *r, const fields_t *fl, uint32_t *idx, const char *what)
{
	uint64_t id;
	if (!r->open)
		return damage(r, "%s line outside a snapshot", what);
	if (parse_dec(fl->f[1], fl->n[1], &id))
		return damage(r, "%s line: stack id is not a decimal number", what);
	if (idx_find(r->log, id, idx))
		return damage(r, "%s line: stack %llu was never defined by an S line", what,
			      (unsigned long long)id);
	return 0;
}

static int rec_live(reader_t *r, const fields_t *fl)
{
	ag_lrec_t l;
	uint64_t v[5] = { 0 };
	int rc;
	size_t want = r->log->version >= 2 ? 7 : 6;
	if ((rc = want_fields(r, fl, want, "L")) || (rc = stack_ref(r, fl, &l.stack, "L")) ||
	    (rc = nums(r, fl, 2, want - 2, v, "L")))
		return rc;
	if (v[0] > v[2] || v[1] > v[3])
		return damage(r, "L line: more live than ever allocated");
	if (v[4] > v[3])
		return damage(r, "L line: more temporary allocations than allocations");
	l.temp_count = v[4];
	l.live_bytes = v[0];
	l.live_count = v[1];
	l.total_bytes = v[2];
	l.total_count = v[3];
	return AG_PUSH(r->cur.l, r->cur.nl, r->cur_cap_l, l);
}

static int rec_lost(reader_t *r, const fields_t *fl)
{
	ag_rrec_t x;
	uint64_t v[4] = { 0, 0, 0, 0 };
	int rc;
	if (fl->count != 4 && fl->count != 6)
		return damage(r, "R line has %zu fields, expected 4 or 6", fl->count);
	if ((rc = stack_ref(r, fl, &x.stack, "R")) ||
	    (rc = nums(r, fl, 2, fl->count - 2, v, "R")))
		return rc;
	if (v[2] > v[0] || v[3] > v[1])
		return damage(r, "R line: more lost indirectly than lost");
	if (r->cur.why != AG_REASON_EXIT && r->cur.why != AG_REASON_ABORT)
		return damage(r, "R line in a '%s' snapshot (only exit snapshots have them)",
			      r->cur.reason);
	x.lost_bytes = v[0];
	x.lost_count = v[1];
	x.indirect_bytes = v[2];
	x.indirect_count = v[3];
	return AG_PUSH(r->cur.r, r->cur.nr, r->cur_cap_r, x);
}

/* Raise one figure to a floor it must not be below; names the first disagreement. */
static void floor_to(uint64_t *v, uint64_t floor, const char *what, const char **first)
{
	if (*v >= floor)
		return;
	*v = floor;
	if (!*first)
		*first = what;
}

/* An E line's figures must agree (preload/logfmt.h): tracked is the sum of the kinds, a
 * peak is at least its current value and no lower than in the snapshot before, and the
 * tracked peak at least each kind's.  Figures that disagree (older writers read the totals
 * while a peak was still being raised) are not damage: the line is well formed and the
 * totals are exact, so the snapshot is kept with its peaks raised to agree, and the log
 * notes it once (log_warn_damage). */
static void agree(reader_t *r, ag_snap_t *s)
{
	const char *first = NULL;
	uint64_t sum = s->heap + s->mapped + s->swapped;
	if (s->tracked != sum) {
		s->tracked = sum;
		first = "tracked is not heap + mapped + swapped";
	}
	const ag_log_t *log = r->log;
	if (log->nsnaps) {
		const ag_snap_t *p = &log->snaps[log->nsnaps - 1];
		floor_to(&s->peak_heap, p->peak_heap, "a peak fell since the snapshot before", &first);
		floor_to(&s->peak_mapped, p->peak_mapped, "a peak fell since the snapshot before",
			 &first);
		floor_to(&s->peak_tracked, p->peak_tracked, "a peak fell since the snapshot before",
			 &first);
	}
	floor_to(&s->peak_heap, s->heap, "a peak is below its current value", &first);
	floor_to(&s->peak_mapped, s->mapped, "a peak is below its current value", &first);
	floor_to(&s->peak_tracked, s->tracked, "a peak is below its current value", &first);
	floor_to(&s->peak_tracked, s->peak_heap, "the tracked peak is below the heap peak", &first);
	floor_to(&s->peak_tracked, s->peak_mapped, "the tracked peak is below the mapped peak",
		 &first);
	if (!first)
		return;
	ag_log_t *w = r->log;
	if (!w->nclamped++) {
		w->clamped_seq = s->seq;
		snprintf(w->clamped, sizeof w->clamped, "%s", first);
	}
}

static int rec_peak(reader_t *r, const fields_t *fl)
{
	uint64_t v[4];
	int rc;
	if ((rc = want_fields(r, fl, 5, "K")) || (rc = nums(r, fl, 1, 4, v, "K")))
		return rc;
	if (!r->open)
		return damage(r, "K line outside a snapshot");
	if (r->cur.have_peak)
		return damage(r, "snapshot %llu has two K lines", (unsigned long long)r->cur.seq);
	r->cur.have_peak = 1;
	r->cur.at_peak_tracked = v[0];
	r->cur.at_peak_heap = v[1];
	r->cur.at_peak_mapped = v[2];
	r->cur.at_peak_swapped = v[3];
	return 0;
}

static int rec_sizes(reader_t *r, const fields_t *fl)
{
	int rc;
	if (!r->open)
		return damage(r, "Z line outside a snapshot");
	if (r->cur.have_sizes)
		return damage(r, "snapshot %llu has two Z lines", (unsigned long long)r->cur.seq);
	if (fl->count < 2 || fl->count > 1 + AG_SIZE_BUCKETS)
		return damage(r, "Z line has %zu fields, expected 2 to %d", fl->count,
			      1 + AG_SIZE_BUCKETS);
	if ((rc = nums(r, fl, 1, fl->count - 1, r->cur.sizes, "Z")))
		return rc;
	r->cur.have_sizes = 1;
	return 0;
}

static int rec_at_peak(reader_t *r, const fields_t *fl)
{
	ag_trec_t t;
	uint64_t v[2];
	int rc;
	if ((rc = want_fields(r, fl, 4, "T")) || (rc = stack_ref(r, fl, &t.stack, "T")) ||
	    (rc = nums(r, fl, 2, 2, v, "T")))
		return rc;
	t.bytes = v[0];
	t.count = v[1];
	return AG_PUSH(r->cur.t, r->cur.nt, r->cur_cap_t, t);
}

static int rec_end(reader_t *r, const fields_t *fl, size_t *cap)
{
	uint64_t v[9];
	int rc;
	if ((rc = want_fields(r, fl, 10, "E")) || (rc = nums(r, fl, 1, 9, v, "E")))
		return rc;
	if (!r->open)
		return damage(r, "E line outside a snapshot");
	if (v[0] != r->cur.seq)
		return damage(r, "E line ends snapshot %llu but snapshot %llu is open",
			      (unsigned long long)v[0], (unsigned long long)r->cur.seq);
	if (v[8] != r->cur.nl + r->cur.nr + r->cur.nt)
		return damage(r, "snapshot %llu: E line counts %llu records, %zu were read",
			      (unsigned long long)v[0], (unsigned long long)v[8],
			      r->cur.nl + r->cur.nr + r->cur.nt);
	ag_snap_t *s = &r->cur;
	s->tracked = v[1];
	s->heap = v[2];
	s->mapped = v[3];
	s->swapped = v[4];
	s->peak_tracked = v[5];
	s->peak_heap = v[6];
	s->peak_mapped = v[7];
	if (s->heap > UINT64_MAX - s->mapped || s->heap + s->mapped > UINT64_MAX - s->swapped)
		return damage(r, "snapshot %llu: E line totals overflow", (unsigned long long)v[0]);
	agree(r, s);
	if ((rc = AG_PUSH(r->log->snaps, r->log->nsnaps, *cap, r->cur)))
		return rc;
	memset(&r->cur, 0, sizeof r->cur);
	r->open = 0;
	return 0;
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

/* Where the lines come from: a buffer held whole (log_parse), or a file read in chunks
 * (log_load), so a large log's text is never held whole: only the line being read.  Either
 * may be gzip: then the text is inflated into the window as it is needed. */
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
static size_t src_fill(src_t *src)
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
static int src_start(src_t *src)
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

static void src_end(src_t *src)
{
	if (src->gz)
		inflateEnd(&src->zs);
	free(src->in);
	free(src->own);
}

/* The next line (without its newline): 1; 0 at the end of the input; -1 when the rest has
 * no newline (*avail is how much is left then). */
static int src_line(src_t *src, const char **line, size_t *n, size_t *avail)
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

static int parse_src(const char *name, src_t *src, ag_log_t **out, char *msg, size_t msglen)
{
	char why[200] = "";
	reader_t r = { 0 };
	size_t cap_mod = 0, cap_stk = 0, cap_ev = 0, cap_sw = 0, cap_snap = 0;
	ag_log_t *log = calloc(1, sizeof *log);
	if (!log || !(log->path = strdup(name))) {
		free(log);
		return ENOMEM;
	}
	r.log = log;
	r.why = why;
	r.whylen = sizeof why;
	*out = NULL;

	if (src_start(src) == ENOMEM) {
		log_free(log);
		return ENOMEM;
	}
	while (src->len - src->pos < 6 && src_fill(src))
		;
	size_t head = src->len - src->pos < 6 ? src->len - src->pos : 6;
	if (head && memcmp(src->buf + src->pos, AG_LOG_MAGIC " ", head) != 0) {
		say(msg, msglen, name, 1, "not an allocguard log (no 'AGLOG <version>' first line)");
		log_free(log);
		return EINVAL;
	}
	int rc = 0;
	fields_t *fl = malloc(sizeof *fl);
	if (!fl) {
		log_free(log);
		return ENOMEM;
	}
	while (!rc) {
		const char *s;
		size_t n, avail = 0;
		int got = src_line(src, &s, &n, &avail);
		if (got == 0 && !src->zwhy[0])
			break;
		r.line++;
		if (got <= 0 && src->zwhy[0]) {
			/* where the text stops, the stream's damage is the reason */
			rc = damage(&r, "%s", src->zwhy);
			break;
		}
		if (got < 0) {
			rc = avail > AG_MAX_LINE ? damage(&r, "line longer than %u bytes", AG_MAX_LINE)
						 : damage(&r, "last line is cut off (no newline)");
			break;
		}
		if (memchr(s, '\0', n)) {
			rc = damage(&r, "NUL byte in line");
			break;
		}
		if (r.line == 1) {
			uint64_t ver;
			if (n < 6 || memcmp(s, AG_LOG_MAGIC " ", 6) != 0 ||
			    parse_dec(s + 6, n - 6, &ver) || ver == 0) {
				say(msg, msglen, name, 1, "not an allocguard log (no 'AGLOG <version>' first line)");
				free(fl);
				log_free(log);
				return EINVAL;
			}
			if (ver > AG_LOG_VERSION) {
				char w[120];
				snprintf(w, sizeof w, "log version %llu is newer than this allocguard (%d)",
					 (unsigned long long)ver, AG_LOG_VERSION);
				say(msg, msglen, name, 1, w);
				free(fl);
				log_free(log);
				return EINVAL;
			}
			log->version = (unsigned)ver;
			continue;
		}
		if (n < 3 || s[1] != ' ') {
			rc = damage(&r, "malformed line (expected a record type letter and a space)");
			break;
		}
		if ((rc = split(&r, s, n, fl)))
			break;
		if (fl->n[0] != 1) {
			rc = damage(&r, "malformed record type");
			break;
		}
		switch (s[0]) {
		case 'P': rc = rec_proc(&r, fl); break;
		case 'A': rc = rec_arg(&r, fl); break;
		case 'O': rc = rec_option(&r, fl); break;
		case 'M': rc = rec_module(&r, fl, &cap_mod); break;
		case 'S': rc = rec_stack(&r, fl, &cap_stk); break;
		case 'U': rc = rec_unload(&r, fl); break;
		case 'J': rc = rec_jit(&r, fl); break;
		case 'F': rc = rec_jsfunc(&r, fl); break;
		case 'V': rc = rec_event(&r, fl, &cap_ev); break;
		case 'W': rc = rec_swap(&r, fl, &cap_sw); break;
		case 'B': rc = rec_begin(&r, fl); break;
		case 'L': rc = rec_live(&r, fl); break;
		case 'R': rc = rec_lost(&r, fl); break;
		case 'K': rc = rec_peak(&r, fl); break;
		case 'T': rc = rec_at_peak(&r, fl); break;
		case 'Z': rc = rec_sizes(&r, fl); break;
		case 'E': rc = rec_end(&r, fl, &cap_snap); break;
		case 'X': rc = rec_verdict(&r, fl); break;
		default:
			rc = damage(&r, "unknown record type '%c'",
				    (s[0] > 0x20 && s[0] < 0x7f) ? s[0] : '?');
		}
	}
	free(fl);
	if (rc == ENOMEM) {
		free_cur(&r);
		log_free(log);
		return ENOMEM;
	}
	if (r.line == 0) {
		say(msg, msglen, name, 1, "empty file, not an allocguard log");
		log_free(log);
		return EINVAL;
	}
	if (!rc && r.open) {
		r.line = r.cur_line;
		snprintf(why, sizeof why, "snapshot %llu is incomplete (the log ends before its E line)",
			 (unsigned long long)r.cur.seq);
		rc = EINVAL;
	}
	if (!rc && log->version == 0) {
		say(msg, msglen, name, 1, "not an allocguard log (no 'AGLOG <version>' first line)");
		free_cur(&r);
		log_free(log);
		return EINVAL;
	}
	free_cur(&r);
	dedupe_modules(log);
	for (size_t i = 0; i < log->nevents; i++) {
		ag_event_t *e = &log->events[i];
		e->have_stack = e->stack_id && idx_find(log, e->stack_id, &e->stack) == 0;
	}
	qsort(log->jsfuncs, log->njsfuncs, sizeof *log->jsfuncs, jsfunc_cmp);
	if (rc) {
		log->damage_line = r.line;
		snprintf(log->damage, sizeof log->damage, "%s", why);
	}
	if (log->nsnaps == 0) {
		if (rc)
			say(msg, msglen, name, r.line, why);
		else
			say(msg, msglen, name, r.line, "no snapshot in the log");
		if (rc) {
			/* name the consequence in the same single line */
			size_t l = strlen(msg);
			snprintf(msg + l, msglen > l ? msglen - l : 0, "; no complete snapshot before it");
		}
		log_free(log);
		return EINVAL;
	}
	*out = log;
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
