/* sites.c: frames and keys of call sites, shared by the reports (see sites.h). */
#include "sites.h"
#include "logfmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *site_kind_name(char kind)
{
	switch (kind) {
	case AG_KIND_HEAP: return "heap";
	case AG_KIND_MMAP: return "mmap";
	case AG_KIND_SWAP: return "swap";
	case AG_KIND_JS: return "js";
	}
	return "?";
}

/* "0x" and v in lower-case hex, as "0x%" PRIx64 writes it (snprintf was a fifth of a large
 * export). */
static const char *hex_of(uint64_t v, char buf[24])
{
	static const char d[] = "0123456789abcdef";
	char *p = buf + 23;
	*p = '\0';
	do
		*--p = d[v & 15];
	while (v >>= 4);
	*--p = 'x';
	*--p = '0';
	return p;
}

void site_json_frame_fields(json_t *j, const ag_frame_t *f)
{
	char addr[24];
	json_key(j, "function");
	json_str(j, f->function);
	json_key(j, "file");
	json_str(j, f->file);
	json_key(j, "line");
	if (f->line > 0)
		json_u64(j, (uint64_t)f->line);
	else
		json_null(j);
	json_key(j, "module");
	json_str(j, f->module);
	json_key(j, "address");
	json_str(j, hex_of(f->address, addr));
	json_key(j, "offset");
	json_str(j, hex_of(f->offset, addr));
	if (f->path) {
		json_key(j, "path");
		json_str(j, f->path);
	}
}

void site_json_frames(json_t *j, symbols_t *sym, const ag_stack_t *st)
{
	json_key(j, "frames");
	json_arr(j);
	frame_iter_t it = { 0 };
	for (const ag_frame_t *f; (f = symbols_next(sym, st, &it));) {
		json_obj(j);
		site_json_frame_fields(j, f);
		if (f->inlined) {
			json_key(j, "inlined");
			json_bool(j, 1);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

static fold_opts_t fold_now;

void sites_set_fold(const fold_opts_t *o)
{
	fold_now = *o;
}

const fold_opts_t *sites_fold(void)
{
	return &fold_now;
}

/* A stack as the human views show it: its frames with inlined calls expanded, and which of
 * them folding leaves. */
#define SHOWN_MAX 256
typedef struct {
	fold_frame_t fr[AG_FOLD_MAX_FRAMES];
	uint32_t idx[SHOWN_MAX];
	size_t nfr, n;
} shown_t;

static shown_t *shown_of(symbols_t *sym, const ag_stack_t *st, shown_t *s)
{
	s->nfr = fold_expand_shown(sym, st, s->fr, AG_FOLD_MAX_FRAMES, &fold_now, SHOWN_MAX);
	s->n = fold_shown(s->fr, s->nfr, &fold_now, s->idx, SHOWN_MAX);
	return s;
}

static const fold_frame_t *shown_at(const shown_t *s, size_t j)
{
	return j < s->n ? &s->fr[s->idx[j]] : NULL;
}

/* " via strdup" after a label, when folding hid the wrapper the program called. */
static void add_via(const shown_t *s, char *buf, size_t len)
{
	const char *via = fold_via(s->fr, s->nfr, &fold_now);
	size_t n = strlen(buf);
	if (via && n < len)
		snprintf(buf + n, len - n, " via %.*s", (int)strcspn(via, "("), via);
}

void site_label(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len)
{
	shown_t *s = malloc(sizeof *s);
	if (!s || !shown_of(sym, st, s)->n) {
		/* a stack of no frames is the guard's site for blocks older than it */
		snprintf(buf, len, st->nframes ? "(no frames)" : "(before allocguard started)");
		free(s);
		return;
	}
	fold_shown_human(shown_at(s, 0), buf, len);
	add_via(s, buf, len);
	free(s);
}

void site_label_kind(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len,
		     size_t label_len)
{
	char label[600];
	site_label(sym, st, label, label_len < sizeof label ? label_len : sizeof label);
	if (st->kind != AG_KIND_HEAP)
		snprintf(buf, len, "[%s] %s", site_kind_name(st->kind), label);
	else
		snprintf(buf, len, "%s", label);
}

void site_more(table_t *t, symbols_t *sym, const ag_stack_t *st)
{
	char buf[600], line[620];
	shown_t *s = malloc(sizeof *s);
	if (!s)
		return;
	shown_of(sym, st, s);
	for (size_t j = 1; j < s->n; j++) {
		fold_shown_human(shown_at(s, j), buf, sizeof buf);
		snprintf(line, sizeof line, "from %s", buf);
		table_more(t, line);
	}
	free(s);
}

char *site_key(symbols_t *sym, const ag_stack_t *st)
{
	size_t cap = 64 + (size_t)st->nframes * 128, len = 0;
	char *k = malloc(cap), buf[1024];
	if (!k)
		return NULL;
	len = (size_t)snprintf(k, cap, "%c", st->kind);
	frame_iter_t it = { 0 };
	for (const ag_frame_t *f; (f = symbols_next(sym, st, &it));) {
		frame_key(f, buf, sizeof buf);
		size_t n = strlen(buf);
		if (len + n + 2 > cap) {
			cap = (len + n + 2) * 2;
			char *nk = realloc(k, cap);
			if (!nk) {
				free(k);
				return NULL;
			}
			k = nk;
		}
		k[len++] = ';';
		memcpy(k + len, buf, n + 1);
		len += n;
	}
	return k;
}

/* Two 64-bit hashes fed the same bytes: FNV-1a and a multiply-rotate mix. */
static void hash_bytes(site_hash_t *h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t c = (unsigned char)s[i];
		h->a = (h->a ^ c) * 0x100000001b3ULL;
		h->b = (h->b ^ (c + 0x9e)) * 0x9e3779b97f4a7c15ULL;
		h->b = (h->b << 27) | (h->b >> 37);
	}
}

void site_hash(symbols_t *sym, const ag_stack_t *st, int by_function, site_hash_t *h)
{
	char buf[1024];
	h->a = 0xcbf29ce484222325ULL;
	h->b = 0x2545f4914f6cdd1dULL;
	hash_bytes(h, &st->kind, 1);
	frame_iter_t it = { 0 };
	for (const ag_frame_t *f; (f = symbols_next(sym, st, &it));) {
		if (by_function && f->function)
			snprintf(buf, sizeof buf, "%s", f->function);
		else
			frame_key(f, buf, sizeof buf);
		hash_bytes(h, ";", 1);
		hash_bytes(h, buf, strlen(buf));
	}
	/* a final mix so keys differing in their last bytes spread */
	h->a ^= h->b >> 29;
	h->b ^= h->a * 0xff51afd7ed558ccdULL;
}

int site_hash_cmp(const site_hash_t *x, const site_hash_t *y)
{
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return 0;
}

/* Where frame f is: "file:line", else "module+0xoff", else its address. */
static void frame_where(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->file)
		snprintf(buf, len, "%s:%d", f->file, f->line);
	else if (f->module) {
		const char *slash = strrchr(f->module, '/');
		snprintf(buf, len, "%s+0x%" PRIx64, slash ? slash + 1 : f->module, f->offset);
	} else
		snprintf(buf, len, "0x%" PRIx64, f->address);
}

#define GROUP_MAX_WHERE 8

/* Shown frame j of the group's representative (x), as a human reads it, naming every place
 * the group's stacks are at in their shown frame j: "fill (pool.c:12, 15)",
 * "fill (pool.c:12, util.h:40)". */
static void group_frame(symbols_t *sym, const fold_frame_t *x, const ag_stack_t *const *all,
			size_t n, size_t j, shown_t *tmp, char *buf, size_t len)
{
	char where[GROUP_MAX_WHERE][300];
	size_t nw = 0, more = 0;
	for (size_t s = 0; s < n && x->f; s++) {
		const fold_frame_t *g = shown_at(shown_of(sym, all[s], tmp), j);
		if (!g || !g->f)
			continue;
		char w[300];
		frame_where(g->f, w, sizeof w);
		size_t k = 0;
		while (k < nw && strcmp(where[k], w) != 0)
			k++;
		if (k < nw)
			continue;
		if (nw < GROUP_MAX_WHERE)
			snprintf(where[nw++], sizeof where[0], "%s", w);
		else
			more++;
	}
	if (nw <= 1 || !x->f->function) {
		fold_shown_human(x, buf, len);
		return;
	}
	size_t o = (size_t)snprintf(buf, len, "%s (", x->f->function);
	for (size_t k = 0; k < nw && o < len; k++) {
		/* the same file again: its line alone */
		const char *w = where[k], *colon = strrchr(w, ':');
		if (k && colon) {
			const char *pc = strrchr(where[k - 1], ':');
			if (pc && pc - where[k - 1] == colon - w &&
			    strncmp(where[k - 1], w, (size_t)(colon - w)) == 0)
				w = colon + 1;
		}
		o += (size_t)snprintf(buf + o, len - o, "%s%s", k ? ", " : "", w);
	}
	if (more && o < len)
		o += (size_t)snprintf(buf + o, len - o, ", +%zu more", more);
	if (o < len)
		snprintf(buf + o, len - o, ")");
}

void site_group_label(symbols_t *sym, const ag_stack_t *rep, const ag_stack_t *const *all,
		      size_t n, char *buf, size_t len)
{
	shown_t *s = malloc(2 * sizeof *s);
	if (!s || !shown_of(sym, rep, s)->n) {
		snprintf(buf, len, "(no frames)");
		free(s);
		return;
	}
	group_frame(sym, shown_at(s, 0), all, n, 0, s + 1, buf, len);
	add_via(s, buf, len);
	free(s);
}

void site_group_more(table_t *t, symbols_t *sym, const ag_stack_t *rep,
		     const ag_stack_t *const *all, size_t n)
{
	char buf[600], line[620];
	shown_t *s = malloc(2 * sizeof *s);
	if (!s)
		return;
	shown_of(sym, rep, s);
	for (size_t j = 1; j < s->n; j++) {
		group_frame(sym, shown_at(s, j), all, n, j, s + 1, buf, sizeof buf);
		snprintf(line, sizeof line, "from %s", buf);
		table_more(t, line);
	}
	free(s);
}

typedef struct {
	site_hash_t h;
	uint32_t stack;
} keyed_t;

static int keyed_cmp(const void *a, const void *b)
{
	const keyed_t *x = a, *y = b;
	int c = site_hash_cmp(&x->h, &y->h);
	return c ? c : (x->stack > y->stack) - (x->stack < y->stack);
}

/* The groups last computed over a symbols_t's log: merging the model (sites_merge) keeps
 * every stack's frames, so the report that follows finds the same groups here. */
typedef struct {
	const ag_log_t *log;
	fold_opts_t fold;
	size_t n;
	uint32_t rep[];
} groups_memo_t;

static uint32_t *groups_remembered(const ag_log_t *log, symbols_t *sym)
{
	const groups_memo_t *m = *symbols_memo(sym);
	if (!m || m->log != log || m->n != log->nstacks || m->fold.all != fold_now.all ||
	    m->fold.frames != fold_now.frames)
		return NULL;
	uint32_t *rep = malloc((m->n ? m->n : 1) * sizeof *rep);
	if (rep)
		memcpy(rep, m->rep, m->n * sizeof *rep);
	return rep;
}

static void groups_remember(const ag_log_t *log, symbols_t *sym, const uint32_t *rep)
{
	void **slot = symbols_memo(sym);
	groups_memo_t *m = malloc(sizeof *m + (log->nstacks ? log->nstacks : 1) * sizeof *rep);
	if (!m)
		return;   /* computed again next time */
	m->log = log;
	m->fold = fold_now;
	m->n = log->nstacks;
	memcpy(m->rep, rep, m->n * sizeof *rep);
	free(*slot);
	*slot = m;
}

/* Stacks are grouped by 128-bit hashes of their shown keys, each key freed once hashed:
 * a million stacks keep 24 bytes each, not a million key strings. */
uint32_t *site_groups(const ag_log_t *log, symbols_t *sym)
{
	uint32_t *known = groups_remembered(log, sym);
	if (known)
		return known;
	size_t n = log->nstacks;
	uint32_t *rep = malloc((n ? n : 1) * sizeof *rep);
	keyed_t *k = calloc(n ? n : 1, sizeof *k);
	int ok = rep && k;
	for (size_t i = 0; ok && i < n; i++) {
		char *key = fold_site_key(sym, &log->stacks[i], &fold_now);
		k[i].stack = (uint32_t)i;
		if (!(ok = key != NULL))
			break;
		k[i].h.a = 0xcbf29ce484222325ULL;
		k[i].h.b = 0x2545f4914f6cdd1dULL;
		hash_bytes(&k[i].h, key, strlen(key));
		k[i].h.a ^= k[i].h.b >> 29;
		k[i].h.b ^= k[i].h.a * 0xff51afd7ed558ccdULL;
		free(key);
	}
	if (ok) {
		qsort(k, n, sizeof *k, keyed_cmp);
		for (size_t i = 0; i < n; i++)
			rep[k[i].stack] = i && site_hash_cmp(&k[i].h, &k[i - 1].h) == 0 ?
					  rep[k[i - 1].stack] : k[i].stack;
	}
	free(k);
	if (!ok) {
		free(rep);
		return NULL;
	}
	groups_remember(log, sym, rep);
	return rep;
}

/* Per group: the sums of its stacks' current figures, and whether they changed in the
 * snapshot being rewritten. */
typedef struct {
	uint64_t live_bytes, live_count, total_bytes, total_count, peak_bytes, peak_count;
	uint64_t lost_bytes, lost_count, indirect_bytes, indirect_count;
	int dirty_l, dirty_t, dirty_r;
} group_sum_t;

static int merge_snap(ag_snap_t *s, const uint32_t *rep, ag_stackval_t *old, group_sum_t *g,
		      uint32_t *dirty)
{
	size_t nd = 0;
	for (size_t i = 0; i < s->nl; i++) {
		const ag_lrec_t *l = &s->l[i];
		ag_stackval_t *o = &old[l->stack];
		group_sum_t *x = &g[rep[l->stack]];
		x->live_bytes += l->live_bytes - o->live_bytes;
		x->live_count += l->live_count - o->live_count;
		x->total_bytes += l->total_bytes - o->total_bytes;
		x->total_count += l->total_count - o->total_count;
		o->live_bytes = l->live_bytes;
		o->live_count = l->live_count;
		o->total_bytes = l->total_bytes;
		o->total_count = l->total_count;
		if (!x->dirty_l && !x->dirty_t)
			dirty[nd++] = rep[l->stack];
		x->dirty_l = 1;
	}
	for (size_t i = 0; i < s->nt; i++) {
		const ag_trec_t *t = &s->t[i];
		ag_stackval_t *o = &old[t->stack];
		group_sum_t *x = &g[rep[t->stack]];
		x->peak_bytes += t->bytes - o->peak_bytes;
		x->peak_count += t->count - o->peak_count;
		o->peak_bytes = t->bytes;
		o->peak_count = t->count;
		if (!x->dirty_l && !x->dirty_t)
			dirty[nd++] = rep[t->stack];
		x->dirty_t = 1;
	}
	size_t nl = 0, nt = 0, nr = 0;   /* nr counted as written */
	for (size_t i = 0; i < nd; i++) {
		nl += g[dirty[i]].dirty_l;
		nt += g[dirty[i]].dirty_t;
	}
	/* R lines describe their snapshot alone: sum this snapshot's per group */
	for (size_t i = 0; i < s->nr; i++) {
		group_sum_t *x = &g[rep[s->r[i].stack]];
		x->lost_bytes = x->lost_count = x->indirect_bytes = x->indirect_count = 0;
		x->dirty_r = 0;
	}
	for (size_t i = 0; i < s->nr; i++) {
		group_sum_t *x = &g[rep[s->r[i].stack]];
		x->lost_bytes = ag_sat_add(x->lost_bytes, s->r[i].lost_bytes);
		x->lost_count = ag_sat_add(x->lost_count, s->r[i].lost_count);
		x->indirect_bytes = ag_sat_add(x->indirect_bytes, s->r[i].indirect_bytes);
		x->indirect_count = ag_sat_add(x->indirect_count, s->r[i].indirect_count);
	}
	ag_lrec_t *l = malloc((nl ? nl : 1) * sizeof *l);
	ag_trec_t *t = malloc((nt ? nt : 1) * sizeof *t);
	ag_rrec_t *r = malloc((s->nr ? s->nr : 1) * sizeof *r);
	if (!l || !t || !r) {
		free(l);
		free(t);
		free(r);
		return ENOMEM;
	}
	nl = nt = 0;
	for (size_t i = 0; i < nd; i++) {
		group_sum_t *x = &g[dirty[i]];
		if (x->dirty_l)
			l[nl++] = (ag_lrec_t){ dirty[i], x->live_bytes, x->live_count, x->total_bytes,
					       x->total_count };
		if (x->dirty_t)
			t[nt++] = (ag_trec_t){ dirty[i], x->peak_bytes, x->peak_count };
		x->dirty_l = x->dirty_t = 0;
	}
	for (size_t i = 0; i < s->nr; i++) {
		uint32_t k = rep[s->r[i].stack];
		if (!g[k].dirty_r)
			r[nr++] = (ag_rrec_t){ k, g[k].lost_bytes, g[k].lost_count,
					       g[k].indirect_bytes, g[k].indirect_count };
		g[k].dirty_r = 1;
	}
	free(s->l);
	free(s->t);
	free(s->r);
	s->l = l;
	s->nl = nl;
	s->t = t;
	s->nt = nt;
	s->r = r;
	s->nr = nr;
	return 0;
}

int sites_merge(ag_log_t *log, symbols_t *sym)
{
	uint32_t *rep = site_groups(log, sym);
	size_t n = log->nstacks ? log->nstacks : 1;
	ag_stackval_t *old = calloc(n, sizeof *old);
	group_sum_t *g = calloc(n, sizeof *g);
	uint32_t *dirty = malloc(n * sizeof *dirty);
	int rc = rep && old && g && dirty ? 0 : ENOMEM;
	for (size_t k = 0; !rc && k < log->nsnaps; k++) {
		rc = merge_snap(&log->snaps[k], rep, old, g, dirty);
	}
	free(rep);
	free(old);
	free(g);
	free(dirty);
	return rc;
}
