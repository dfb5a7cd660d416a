/* jsheap.c: node's JS heap merged into the model (see jsheap.h).  Which m stacks are V8's
 * heap pages, and of which space, is told by the names of node's frames (V8's MemoryAllocator
 * commits every page of every space; the frame above it names the space); that knowledge
 * lives here.  Pages fall in two groups: the young generation's semi-spaces, which only
 * ever hold new objects and the garbage among them, and the rest (old, large-object, code
 * and read-only spaces), where long-lived objects are.  Invariants after the merge, at
 * every snapshot and at the peak: the page stacks hold nothing live; the j stacks hold their
 * estimates times min(1, (old + young) / estimates), placed in the old pages first and only
 * their excess in the young ones; "V8 heap (unattributed)" holds the old pages' rest and
 * "V8 young generation" the young pages' rest, so the pages' total is unchanged and tracked
 * bytes still add up. */
#include "jsheap.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_FRAMES 12                     /* frames of an m stack looked at */
#define UNATTRIBUTED_ADDR 0xffffffffffffff00ull
#define YOUNG_ADDR 0xffffffffffffff10ull

enum { OTHER = 0, PAGE, YPAGE, JS, REST, YREST };

static const char *const page_functions[] = {
	"v8::internal::MemoryAllocator::", "v8::internal::MemoryChunk::",
	"v8::internal::LargePage::", NULL,
};

/* The young generation's semi-spaces (new large objects are not here: a large object that
 * survives is moved to the old large-object space with its page, so its commit is old). */
static const char *const young_functions[] = {
	"v8::internal::SemiSpace::", "v8::internal::SemiSpaceNewSpace::",
	"v8::internal::NewSpace::", "v8::internal::PagedNewSpace::", NULL,
};

/* A semi-space's refill after a mark-compact: each page it commits replaces one the
 * collection promoted whole to the old generation (a mostly live young page moves as it is,
 * keeping its young commit's stack).  Which young stack's page moved cannot be told, but the
 * bytes are the same: the refill counts as old, and the young pages' total stays what the
 * semi-spaces hold. */
#define REFILL "v8::internal::SemiSpace::EnsureCurrentCapacity"

/* Any other space's frame: the first space named above the allocator decides. */
static const char *const space_functions[] = {
	"v8::internal::PagedSpace", "v8::internal::CompactionSpace::",
	"v8::internal::LargeObjectSpace::", "v8::internal::OldLargeObjectSpace::",
	"v8::internal::NewLargeObjectSpace::", "v8::internal::CodeLargeObjectSpace::",
	"v8::internal::CodeSpace::", "v8::internal::OldSpace::", "v8::internal::ReadOnlySpace::",
	"v8::internal::ReadOnlyHeap::", "v8::internal::SharedSpace::", NULL,
};

static int prefixed(const char *fn, const char *const *list)
{
	for (int k = 0; list[k]; k++)
		if (strncmp(fn, list[k], strlen(list[k])) == 0)
			return 1;
	return 0;
}

/* Whether the log carries a JS heap profile (j stacks). */
static int jsheap_present(const ag_log_t *log)
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

/* OTHER, or PAGE (an old, large-object, code or unknown space's page) or YPAGE (a
 * semi-space page). */
static int page_role(symbols_t *sym, const ag_stack_t *st)
{
	int page = 0;
	if (st->kind != AG_KIND_MMAP)
		return OTHER;
	for (uint32_t i = 0; i < st->nframes && i < PAGE_FRAMES; i++) {
		if (!node_module(symbols_module_of(sym, st->frames[i])))
			continue;
		const ag_frame_t *f = symbols_lookup(sym, st->frames[i]);
		if (!f || !f->function)
			continue;
		if (!page) {
			page = prefixed(f->function, page_functions);
		} else if (strncmp(f->function, REFILL, strlen(REFILL)) == 0) {
			return PAGE;
		} else if (prefixed(f->function, young_functions)) {
			return YPAGE;
		} else if (prefixed(f->function, space_functions)) {
			return PAGE;
		}
	}
	return page ? PAGE : OTHER;
}

/* A rest stack: one frame whose name is a plain (not JS) function. */
static int add_rest(ag_log_t *log, uint64_t addr, const char *name, uint32_t *idx)
{
	ag_jsfunc_t f = { .addr = addr, .plain = 1 };
	f.name = strdup(name);
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
	frames[0] = addr;
	log->stacks[log->nstacks] = (ag_stack_t){ maxid + 1, AG_KIND_MMAP, 1, frames };
	*idx = (uint32_t)log->nstacks++;
	return 0;
}

typedef struct {
	ag_log_t *log;
	unsigned char *role;        /* per stack: OTHER, PAGE, YPAGE, JS, REST, YREST */
	uint32_t rest, yrest;       /* yrest: only when there are young pages */
	double keep;                /* 1, or 0 when no page was found: estimates left out */
	ag_stackval_t *orig, *out;  /* per stack, as recorded and as merged */
} merge_t;

#define FIELD(v, off) (*(uint64_t *)((char *)(v) + (off)))

/* One pair of merged figures (live or peak: the fields at offsets b and c) of the affected
 * stacks, from the recorded ones.  The JS estimates are scaled to fit the pages, go to the
 * old pages first and their excess to the young pages; the rests are what is left of each. */
static void place(merge_t *m, size_t b, size_t c)
{
	uint64_t pages = 0, pcount = 0, young = 0, ycount = 0, js = 0, placed = 0;
	for (size_t i = 0; i < m->log->nstacks; i++) {
		const ag_stackval_t *o = &m->orig[i];
		if (m->role[i] == PAGE) {
			pages = ag_sat_add(pages, FIELD(o, b));
			pcount = ag_sat_add(pcount, FIELD(o, c));
		} else if (m->role[i] == YPAGE) {
			young = ag_sat_add(young, FIELD(o, b));
			ycount = ag_sat_add(ycount, FIELD(o, c));
		} else if (m->role[i] == JS) {
			js = ag_sat_add(js, FIELD(o, b));
		}
	}
	uint64_t room = ag_sat_add(pages, young);
	double scale = m->keep * (js > room ? (double)room / (double)js : 1.0);
	for (size_t i = 0; i < m->log->nstacks; i++) {
		const ag_stackval_t *o = &m->orig[i];
		ag_stackval_t *v = &m->out[i];
		if (m->role[i] == PAGE || m->role[i] == YPAGE) {
			FIELD(v, b) = FIELD(v, c) = 0;
		} else if (m->role[i] == JS) {
			FIELD(v, b) = (uint64_t)((double)FIELD(o, b) * scale);
			FIELD(v, c) = (uint64_t)((double)FIELD(o, c) * scale + 0.5);
			if (FIELD(v, b) + placed > room)   /* rounding: never past the pages */
				FIELD(v, b) = room - placed;
			if (FIELD(v, b) && !FIELD(v, c))
				FIELD(v, c) = 1;
			placed += FIELD(v, b);
		}
	}
	uint64_t in_old = placed < pages ? placed : pages;
	ag_stackval_t *r = &m->out[m->rest];
	FIELD(r, b) = pages - in_old;
	FIELD(r, c) = FIELD(r, b) ? pcount : 0;
	if (m->yrest != UINT32_MAX) {
		ag_stackval_t *y = &m->out[m->yrest];
		FIELD(y, b) = young - (placed - in_old);
		FIELD(y, c) = FIELD(y, b) ? ycount : 0;
	}
}

/* The merged figures of the affected stacks, live (with the totals) and at the peak. */
static void merged(merge_t *m)
{
	uint64_t tot[2] = { 0, 0 }, totc[2] = { 0, 0 };
	for (size_t i = 0; i < m->log->nstacks; i++) {
		const ag_stackval_t *o = &m->orig[i];
		if (m->role[i] == PAGE || m->role[i] == YPAGE) {
			int y = m->role[i] == YPAGE;
			tot[y] = ag_sat_add(tot[y], o->total_bytes);
			totc[y] = ag_sat_add(totc[y], o->total_count);
		}
		if (m->role[i] != OTHER && m->role[i] != REST && m->role[i] != YREST)
			m->out[i] = *o;
	}
	place(m, offsetof(ag_stackval_t, live_bytes), offsetof(ag_stackval_t, live_count));
	place(m, offsetof(ag_stackval_t, peak_bytes), offsetof(ag_stackval_t, peak_count));
	m->out[m->rest].total_bytes = tot[0];
	m->out[m->rest].total_count = totc[0];
	if (m->yrest != UINT32_MAX) {
		m->out[m->yrest].total_bytes = tot[1];
		m->out[m->yrest].total_count = totc[1];
	}
}

/* One snapshot's records: the others' as recorded, the affected ones' as merged when they
 * changed since the previous snapshot (prev).  0 or ENOMEM. */
static int rewrite(merge_t *m, ag_snap_t *s, ag_stackval_t *prev)
{
	size_t n = m->log->nstacks;
	ag_lrec_t *l = malloc((s->nl + n) * sizeof *l);
	ag_trec_t *t = malloc((s->nt + n) * sizeof *t);
	ag_rrec_t *r = malloc((s->nr + 2) * sizeof *r);
	if (!l || !t || !r) {
		free(l), free(t), free(r);
		return ENOMEM;
	}
	size_t nl = 0, nt = 0, nr = 0;
	ag_rrec_t moved[2] = { { .stack = m->rest }, { .stack = m->yrest } };
	for (size_t i = 0; i < s->nl; i++)
		if (m->role[s->l[i].stack] == OTHER)
			l[nl++] = s->l[i];
	for (size_t i = 0; i < s->nt; i++)
		if (m->role[s->t[i].stack] == OTHER)
			t[nt++] = s->t[i];
	for (size_t i = 0; i < s->nr; i++) {
		int role = m->role[s->r[i].stack];
		if (role == OTHER) {
			r[nr++] = s->r[i];
		} else if (role == PAGE || role == YPAGE) {
			ag_rrec_t *mv = &moved[role == YPAGE];
			mv->lost_bytes = ag_sat_add(mv->lost_bytes, s->r[i].lost_bytes);
			mv->lost_count = ag_sat_add(mv->lost_count, s->r[i].lost_count);
		}
	}
	for (int k = 0; k < 2; k++) {
		if (!moved[k].lost_bytes)
			continue;
		const ag_stackval_t *u = &m->out[moved[k].stack];
		moved[k].lost_bytes = moved[k].lost_bytes < u->live_bytes ? moved[k].lost_bytes
									  : u->live_bytes;
		moved[k].lost_count = moved[k].lost_count < u->live_count ? moved[k].lost_count
									  : u->live_count;
		r[nr++] = moved[k];
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
	merge_t m = { .log = log, .keep = 1, .yrest = UINT32_MAX };
	if (!jsheap_present(log))
		return 0;
	size_t n0 = log->nstacks, npages = 0, nyoung = 0;
	m.role = calloc(n0 + 2, 1);
	if (!m.role)
		return ENOMEM;
	for (size_t i = 0; i < n0; i++) {
		const ag_stack_t *st = &log->stacks[i];
		m.role[i] = st->kind == AG_KIND_JS ? JS : page_role(sym, st);
		npages += m.role[i] == PAGE || m.role[i] == YPAGE;
		nyoung += m.role[i] == YPAGE;
	}
	int rc = add_rest(log, UNATTRIBUTED_ADDR, JSHEAP_UNATTRIBUTED, &m.rest);
	if (!rc && nyoung)
		rc = add_rest(log, YOUNG_ADDR, JSHEAP_YOUNG, &m.yrest);
	if (rc) {
		free(m.role);
		return rc;
	}
	m.role[m.rest] = REST;
	if (nyoung)
		m.role[m.yrest] = YREST;
	size_t n = log->nstacks;
	m.orig = calloc(n, sizeof *m.orig);
	m.out = calloc(n, sizeof *m.out);
	ag_stackval_t *prev = calloc(n, sizeof *prev);
	rc = m.orig && m.out && prev ? 0 : ENOMEM;
	if (!rc && !npages) {
		m.keep = 0;
		if (err)
			fprintf(err, "allocguard: %s: node's V8 heap pages cannot be told (no symbols "
				"for node?): its JS heap estimates are left out\n", log->path);
	}
	for (size_t k = 0; !rc && k < log->nsnaps; k++) {
		take(&m, &log->snaps[k]);
		merged(&m);
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
