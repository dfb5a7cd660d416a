/* jsheap.c: node's JS heap merged into the model (see jsheap.h).  Which m stacks are V8's
 * heap pages is told by the names of node's frames (V8's MemoryAllocator commits every page
 * of every space: new, old, code, large objects); that knowledge lives here.  Invariants
 * after the merge, at every snapshot and at the peak: the page stacks hold nothing live,
 * the j stacks hold their estimates times min(1, pages / estimates), and the unattributed
 * stack holds the rest of the pages, so the pages' total is unchanged and tracked bytes
 * still add up. */
#include "jsheap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_FRAMES 12                     /* frames of an m stack looked at */
#define UNATTRIBUTED_ADDR 0xffffffffffffff00ull

enum { OTHER = 0, PAGE, JS, REST };

static const char *const page_functions[] = {
	"v8::internal::MemoryAllocator::", "v8::internal::MemoryChunk::",
	"v8::internal::LargePage::", NULL,
};

int jsheap_present(const ag_log_t *log)
{
	for (size_t i = 0; i < log->nstacks; i++)
		if (log->stacks[i].kind == AG_KIND_JS)
			return 1;
	return 0;
}

static int node_module(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;
	b = b ? b + 1 : path;
	return b && (strcmp(b, "node") == 0 || strncmp(b, "libnode.so", 10) == 0);
}

static int is_page(symbols_t *sym, const ag_stack_t *st)
{
	if (st->kind != AG_KIND_MMAP)
		return 0;
	for (uint32_t i = 0; i < st->nframes && i < PAGE_FRAMES; i++) {
		if (!node_module(symbols_module_of(sym, st->frames[i])))
			continue;
		const ag_frame_t *f = symbols_lookup(sym, st->frames[i]);
		for (int k = 0; f && f->function && page_functions[k]; k++)
			if (strncmp(f->function, page_functions[k], strlen(page_functions[k])) == 0)
				return 1;
	}
	return 0;
}

/* The unattributed stack: one frame whose name is a plain (not JS) function. */
static int add_rest(ag_log_t *log, uint32_t *idx)
{
	ag_jsfunc_t f = { .addr = UNATTRIBUTED_ADDR, .plain = 1 };
	f.name = strdup(JSHEAP_UNATTRIBUTED);
	f.script = strdup("");
	uint64_t *frames = malloc(sizeof *frames);
	ag_stack_t *ns = realloc(log->stacks, (log->nstacks + 1) * sizeof *ns);
	if (ns)
		log->stacks = ns;
	if (!f.name || !f.script || !frames || !ns ||
	    AG_PUSH(log->jsfuncs, log->njsfuncs, log->cap_jsfuncs, f)) {
		free(f.name);
		free(f.script);
		free(frames);
		return ENOMEM;
	}
	uint64_t maxid = 0;
	for (size_t i = 0; i < log->nstacks; i++)
		maxid = log->stacks[i].id > maxid ? log->stacks[i].id : maxid;
	frames[0] = UNATTRIBUTED_ADDR;
	log->stacks[log->nstacks] = (ag_stack_t){ maxid + 1, AG_KIND_MMAP, 1, frames };
	*idx = (uint32_t)log->nstacks++;
	return 0;
}

typedef struct {
	ag_log_t *log;
	unsigned char *role;        /* per stack: OTHER, PAGE, JS, REST */
	uint32_t rest;
	double keep;                /* 1, or 0 when no page was found: estimates left out */
	ag_stackval_t *orig, *out;  /* per stack, as recorded and as merged */
} merge_t;

/* The merged live figures of the affected stacks, from the recorded ones. */
static void merged_live(merge_t *m)
{
	uint64_t pages = 0, pcount = 0, ptot = 0, ptotc = 0, js = 0;
	for (size_t i = 0; i < m->log->nstacks; i++) {
		const ag_stackval_t *o = &m->orig[i];
		if (m->role[i] == PAGE) {
			pages = ag_sat_add(pages, o->live_bytes);
			pcount = ag_sat_add(pcount, o->live_count);
			ptot = ag_sat_add(ptot, o->total_bytes);
			ptotc = ag_sat_add(ptotc, o->total_count);
		} else if (m->role[i] == JS) {
			js = ag_sat_add(js, o->live_bytes);
		}
	}
	double scale = m->keep * (js > pages ? (double)pages / (double)js : 1.0);
	uint64_t placed = 0;
	for (size_t i = 0; i < m->log->nstacks; i++) {
		const ag_stackval_t *o = &m->orig[i];
		ag_stackval_t *v = &m->out[i];
		if (m->role[i] == PAGE) {
			*v = *o;
			v->live_bytes = v->live_count = 0;
		} else if (m->role[i] == JS) {
			*v = *o;
			v->live_bytes = (uint64_t)((double)o->live_bytes * scale);
			v->live_count = (uint64_t)((double)o->live_count * scale + 0.5);
			if (v->live_bytes && !v->live_count)
				v->live_count = 1;
			placed += v->live_bytes;
		}
	}
	ag_stackval_t *r = &m->out[m->rest];
	r->live_bytes = pages > placed ? pages - placed : 0;
	r->live_count = r->live_bytes ? pcount : 0;
	r->total_bytes = ptot;
	r->total_count = ptotc;
}

/* The same for the figures at the peak (T lines). */
static void merged_peak(merge_t *m)
{
	uint64_t pages = 0, pcount = 0, js = 0, placed = 0;
	for (size_t i = 0; i < m->log->nstacks; i++) {
		if (m->role[i] == PAGE) {
			pages = ag_sat_add(pages, m->orig[i].peak_bytes);
			pcount = ag_sat_add(pcount, m->orig[i].peak_count);
		} else if (m->role[i] == JS) {
			js = ag_sat_add(js, m->orig[i].peak_bytes);
		}
	}
	double scale = m->keep * (js > pages ? (double)pages / (double)js : 1.0);
	for (size_t i = 0; i < m->log->nstacks; i++) {
		ag_stackval_t *v = &m->out[i];
		if (m->role[i] == PAGE) {
			v->peak_bytes = v->peak_count = 0;
		} else if (m->role[i] == JS) {
			v->peak_bytes = (uint64_t)((double)m->orig[i].peak_bytes * scale);
			v->peak_count = (uint64_t)((double)m->orig[i].peak_count * scale + 0.5);
			if (v->peak_bytes && !v->peak_count)
				v->peak_count = 1;
			placed += v->peak_bytes;
		}
	}
	ag_stackval_t *r = &m->out[m->rest];
	r->peak_bytes = pages > placed ? pages - placed : 0;
	r->peak_count = r->peak_bytes ? pcount : 0;
}

/* One snapshot's records: the others' as recorded, the affected ones' as merged when they
 * changed since the previous snapshot (prev).  0 or ENOMEM. */
static int rewrite(merge_t *m, ag_snap_t *s, ag_stackval_t *prev)
{
	size_t n = m->log->nstacks;
	ag_lrec_t *l = malloc((s->nl + n) * sizeof *l);
	ag_trec_t *t = malloc((s->nt + n) * sizeof *t);
	ag_rrec_t *r = malloc((s->nr + 1) * sizeof *r);
	if (!l || !t || !r) {
		free(l), free(t), free(r);
		return ENOMEM;
	}
	size_t nl = 0, nt = 0, nr = 0;
	ag_rrec_t moved = { .stack = m->rest };
	for (size_t i = 0; i < s->nl; i++)
		if (m->role[s->l[i].stack] == OTHER)
			l[nl++] = s->l[i];
	for (size_t i = 0; i < s->nt; i++)
		if (m->role[s->t[i].stack] == OTHER)
			t[nt++] = s->t[i];
	for (size_t i = 0; i < s->nr; i++) {
		if (m->role[s->r[i].stack] == OTHER) {
			r[nr++] = s->r[i];
		} else if (m->role[s->r[i].stack] == PAGE) {
			moved.lost_bytes = ag_sat_add(moved.lost_bytes, s->r[i].lost_bytes);
			moved.lost_count = ag_sat_add(moved.lost_count, s->r[i].lost_count);
		}
	}
	if (moved.lost_bytes) {
		const ag_stackval_t *u = &m->out[m->rest];
		moved.lost_bytes = moved.lost_bytes < u->live_bytes ? moved.lost_bytes : u->live_bytes;
		moved.lost_count = moved.lost_count < u->live_count ? moved.lost_count : u->live_count;
		r[nr++] = moved;
	}
	for (uint32_t i = 0; i < n; i++) {
		const ag_stackval_t *v = &m->out[i], *p = &prev[i];
		if (m->role[i] == OTHER)
			continue;
		if (v->live_bytes != p->live_bytes || v->live_count != p->live_count ||
		    v->total_bytes != p->total_bytes || v->total_count != p->total_count ||
		    v->temp_count != p->temp_count)
			l[nl++] = (ag_lrec_t){ i, v->live_bytes, v->live_count, v->total_bytes,
					       v->total_count, v->temp_count };
		if (v->peak_bytes != p->peak_bytes || v->peak_count != p->peak_count)
			t[nt++] = (ag_trec_t){ i, v->peak_bytes, v->peak_count };
		prev[i] = *v;
	}
	free(s->l), free(s->t), free(s->r);
	s->l = l, s->nl = nl, s->t = t, s->nt = nt, s->r = r, s->nr = nr;
	return 0;
}

static void take(merge_t *m, const ag_snap_t *s)
{
	for (size_t i = 0; i < s->nl; i++) {
		ag_stackval_t *o = &m->orig[s->l[i].stack];
		o->live_bytes = s->l[i].live_bytes;
		o->live_count = s->l[i].live_count;
		o->total_bytes = s->l[i].total_bytes;
		o->total_count = s->l[i].total_count;
	}
	for (size_t i = 0; i < s->nt; i++) {
		m->orig[s->t[i].stack].peak_bytes = s->t[i].bytes;
		m->orig[s->t[i].stack].peak_count = s->t[i].count;
	}
}

int jsheap_merge(ag_log_t *log, symbols_t *sym, FILE *err)
{
	merge_t m = { .log = log, .keep = 1 };
	if (!jsheap_present(log))
		return 0;
	if (add_rest(log, &m.rest))
		return ENOMEM;
	size_t n = log->nstacks, npages = 0;
	m.role = calloc(n, 1);
	m.orig = calloc(n, sizeof *m.orig);
	m.out = calloc(n, sizeof *m.out);
	ag_stackval_t *prev = calloc(n, sizeof *prev);
	int rc = m.role && m.orig && m.out && prev ? 0 : ENOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		const ag_stack_t *st = &log->stacks[i];
		m.role[i] = i == m.rest ? REST : st->kind == AG_KIND_JS ? JS
			    : is_page(sym, st) ? PAGE : OTHER;
		npages += m.role[i] == PAGE;
	}
	if (!rc && !npages) {
		m.keep = 0;
		if (err)
			fprintf(err, "allocguard: %s: node's V8 heap pages cannot be told (no symbols "
				"for node?): its JS heap estimates are left out\n", log->path);
	}
	for (size_t k = 0; !rc && k < log->nsnaps; k++) {
		take(&m, &log->snaps[k]);
		merged_live(&m);
		merged_peak(&m);
		rc = rewrite(&m, &log->snaps[k], prev);
	}
	free(m.role), free(m.orig), free(m.out), free(prev);
	return rc;
}

int jsheap_apply(ag_log_t *log, FILE *err)
{
	if (!jsheap_present(log))
		return 0;
	symbols_t *sym = symbols_open(log, NULL);
	int rc = sym ? jsheap_merge(log, sym, err) : ENOMEM;
	symbols_close(sym);
	return rc;
}
