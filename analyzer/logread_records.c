/* logread_records.c: the parsers of the records about the process and its stacks (P A O M
 * U S J F V W X, preload/logfmt.h): each checks its fields and adds to the log (see
 * logread.h).  The snapshots' records are logread_snap.c's. */
#include "logread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rec_proc(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	uint64_t v[3];
	int rc;
	if ((rc = lr_want(r, fl, 5, "P")) || (rc = lr_nums(r, fl, 1, 3, v, "P")))
		return rc;
	if (log->have_proc)
		return lr_damage(r, "second P line");
	if ((rc = lr_unescape(r, fl->f[4], fl->n[4], &log->exe)))
		return rc;
	log->pid = v[0];
	log->ppid = v[1];
	log->start_ns = v[2];
	log->have_proc = 1;
	return 0;
}

int rec_arg(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	char *s;
	int rc;
	if ((rc = lr_want(r, fl, 2, "A")) || (rc = lr_unescape(r, fl->f[1], fl->n[1], &s)))
		return rc;
	if ((rc = AG_PUSH(log->argv, log->argc, r->cap_argv, s)))
		free(s);
	return rc;
}

int rec_option(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	ag_option_t o = { 0 };
	int rc;
	if ((rc = lr_want(r, fl, 3, "O")) || (rc = lr_unescape(r, fl->f[1], fl->n[1], &o.name)))
		return rc;
	if ((rc = lr_unescape(r, fl->f[2], fl->n[2], &o.value))) {
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

int rec_module(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	ag_module_t m = { 0 };
	int rc;
	if ((rc = lr_want(r, fl, 6, "M")))
		return rc;
	if (lr_hex(fl->f[1], fl->n[1], &m.bias) || lr_hex(fl->f[2], fl->n[2], &m.lo) ||
	    lr_hex(fl->f[3], fl->n[3], &m.hi))
		return lr_damage(r, "M line: bias, lo and hi must be hex numbers");
	if (m.lo >= m.hi)
		return lr_damage(r, "M line: empty address range");
	if (!(fl->n[4] == 1 && fl->f[4][0] == '-')) {
		if (fl->n[4] > 128 || fl->n[4] % 2)
			return lr_damage(r, "M line: bad build-id");
		for (size_t i = 0; i < fl->n[4]; i++)
			if (lr_hexval(fl->f[4][i]) < 0)
				return lr_damage(r, "M line: bad build-id");
		m.build_id = strndup(fl->f[4], fl->n[4]);
		if (!m.build_id)
			return ENOMEM;
	}
	if ((rc = lr_unescape(r, fl->f[5], fl->n[5], &m.path))) {
		free(m.build_id);
		return rc;
	}
	/* modules are re-sent after dlopen: the repeats go in dedupe_modules() */
	if ((rc = AG_PUSH(log->modules, log->nmodules, r->cap_mod, m))) {
		free(m.build_id);
		free(m.path);
	}
	return rc;
}

/* U: the module of that range, bias and path was gone before stack id N. */
int rec_unload(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	uint64_t bias, lo, hi, from;
	char *path;
	int rc;
	if ((rc = lr_want(r, fl, 6, "U")))
		return rc;
	if (lr_hex(fl->f[1], fl->n[1], &bias) || lr_hex(fl->f[2], fl->n[2], &lo) ||
	    lr_hex(fl->f[3], fl->n[3], &hi) || lr_dec(fl->f[4], fl->n[4], &from) || !from)
		return lr_damage(r, "U line: bias, lo and hi must be hex, the stack id decimal");
	if ((rc = lr_unescape(r, fl->f[5], fl->n[5], &path)))
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

int rec_stack(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	ag_stack_t s = { 0 };
	uint32_t have;
	if (fl->count < 3)
		return lr_damage(r, "S line has %zu fields, expected at least 3", fl->count);
	if (fl->count - 3 > AG_LOG_MAX_FRAMES)
		return lr_damage(r, "S line has %zu frames, more than %d", fl->count - 3,
			      AG_LOG_MAX_FRAMES);
	if (lr_dec(fl->f[1], fl->n[1], &s.id))
		return lr_damage(r, "S line: stack id is not a decimal number");
	if (fl->n[2] != 1 || (fl->f[2][0] != AG_KIND_HEAP && fl->f[2][0] != AG_KIND_MMAP &&
			      fl->f[2][0] != AG_KIND_SWAP && fl->f[2][0] != AG_KIND_JS))
		return lr_damage(r, "S line: kind must be h, m, s or j");
	if (log->nstacks >= UINT32_MAX - 1)
		return lr_damage(r, "too many stacks");
	s.kind = fl->f[2][0];
	s.nframes = (uint32_t)(fl->count - 3);
	s.frames = malloc((s.nframes ? s.nframes : 1) * sizeof *s.frames);
	if (!s.frames)
		return ENOMEM;
	for (uint32_t i = 0; i < s.nframes; i++) {
		if (lr_hex(fl->f[3 + i], fl->n[3 + i], &s.frames[i])) {
			free(s.frames);
			return lr_damage(r, "S line: frame %u is not a hex address", i + 1);
		}
	}
	if (lr_idx_find(log, s.id, &have) == 0) {
		ag_stack_t *o = &log->stacks[have];
		int same = o->kind == s.kind && o->nframes == s.nframes &&
			   memcmp(o->frames, s.frames, s.nframes * sizeof *s.frames) == 0;
		free(s.frames);
		return same ? 0 : lr_damage(r, "stack %llu defined twice, differently",
					 (unsigned long long)s.id);
	}
	int rc = AG_PUSH(log->stacks, log->nstacks, r->cap_stk, s);
	if (!rc)
		rc = lr_idx_insert(log, s.id, (uint32_t)(log->nstacks - 1));
	if (rc)
		free(s.frames);
	return rc;
}

int rec_jit(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	char *s;
	int rc;
	if ((rc = lr_want(r, fl, 2, "J")) || (rc = lr_unescape(r, fl->f[1], fl->n[1], &s)))
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
		return lr_damage(r, "more than 64 JIT maps");
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
	return lr_unescape(r, fl->f[i], fl->n[i], out);
}

int rec_jsfunc(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	ag_jsfunc_t f = { 0 };
	uint64_t line, col;
	int rc;
	if ((rc = lr_want(r, fl, 6, "F")))
		return rc;
	if (lr_hex(fl->f[1], fl->n[1], &f.addr) || f.addr < AG_JS_ADDR_BASE)
		return lr_damage(r, "F line: address is not a JS function address");
	if (lr_dec(fl->f[2], fl->n[2], &line) || lr_dec(fl->f[3], fl->n[3], &col) ||
	    line > INT32_MAX || col > INT32_MAX)
		return lr_damage(r, "F line: line and column must be decimal numbers");
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

int rec_event(reader_t *r, const fields_t *fl)
{
	ag_event_t e = { 0 };
	uint64_t v[2];
	int rc;
	if ((rc = lr_want(r, fl, r->log->version >= 2 ? 6 : 4, "V")))
		return rc;
	if (r->log->version >= 2 && (lr_dec(fl->f[4], fl->n[4], &e.request) ||
				     lr_dec(fl->f[5], fl->n[5], &e.stack_id)))
		return lr_damage(r, "V line: request and stack must be decimal numbers");
	if (lr_dec(fl->f[1], fl->n[1], &v[0]) || lr_dec(fl->f[3], fl->n[3], &v[1]))
		return lr_damage(r, "V line: time and bytes must be decimal numbers");
	if ((e.kind = ag_cap_event_parse(fl->f[2], fl->n[2])) < 0)
		return lr_damage(r, "V line: event kind must be warn, critical or cap");
	e.t_ns = v[0];
	e.bytes = v[1];
	return AG_PUSH(r->log->events, r->log->nevents, r->cap_ev, e);
}

int rec_swap(reader_t *r, const fields_t *fl)
{
	ag_swapfile_t w = { 0 };
	int rc;
	if ((rc = lr_want(r, fl, 5, "W")))
		return rc;
	if (lr_dec(fl->f[1], fl->n[1], &w.t_ns) || lr_dec(fl->f[2], fl->n[2], &w.bytes))
		return lr_damage(r, "W line: time and bytes must be decimal numbers");
	if ((rc = lr_unescape(r, fl->f[3], fl->n[3], &w.mode)))
		return rc;
	if ((rc = lr_unescape(r, fl->f[4], fl->n[4], &w.path))) {
		free(w.mode);
		return rc;
	}
	if ((rc = AG_PUSH(r->log->swaps, r->log->nswaps, r->cap_sw, w))) {
		free(w.mode);
		free(w.path);
	}
	return rc;
}

int rec_verdict(reader_t *r, const fields_t *fl)
{
	ag_log_t *log = r->log;
	uint64_t v[2];
	int rc;
	if (fl->count < 4)
		return lr_damage(r, "X line has %zu fields, expected at least 4", fl->count);
	int verdict = ag_verdict_parse(fl->f[1], fl->n[1]);
	if (verdict < 0)
		return lr_damage(r, "X line: unknown verdict '%.*s'", (int)fl->n[1], fl->f[1]);
	if ((rc = lr_nums(r, fl, 2, 2, v, "X")))
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
