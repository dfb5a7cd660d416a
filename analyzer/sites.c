/* sites.c: frames and keys of call sites, shared by the reports (see sites.h). */
#include "sites.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *site_kind_name(char kind)
{
	switch (kind) {
	case 'h': return "heap";
	case 'm': return "mmap";
	case 's': return "swap";
	}
	return "?";
}

void site_json_frames(json_t *j, symbols_t *sym, const ag_stack_t *st)
{
	char addr[24];
	json_key(j, "frames");
	json_arr(j);
	for (uint32_t i = 0; i < st->nframes; i++) {
		const ag_frame_t *f = symbols_lookup(sym, st->frames[i]);
		if (!f)
			continue;
		json_obj(j);
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
		snprintf(addr, sizeof addr, "0x%" PRIx64, f->address);
		json_str(j, addr);
		json_key(j, "offset");
		snprintf(addr, sizeof addr, "0x%" PRIx64, f->offset);
		json_str(j, addr);
		if (f->path) {
			json_key(j, "path");
			json_str(j, f->path);
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

void site_label(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len)
{
	uint32_t k;
	const ag_frame_t *f = fold_frames(sym, st, &fold_now, &k, 1) ?
			      symbols_lookup(sym, st->frames[k]) : NULL;
	if (!f) {
		snprintf(buf, len, "(no frames)");
		return;
	}
	fold_frame_human(f, buf, len);
	const char *via = fold_via(sym, st, &fold_now);
	size_t n = strlen(buf);
	if (via && n < len)
		snprintf(buf + n, len - n, " via %.*s", (int)strcspn(via, "("), via);
}

void site_more(table_t *t, symbols_t *sym, const ag_stack_t *st)
{
	char buf[600], line[620];
	uint32_t idx[256];
	size_t n = fold_frames(sym, st, &fold_now, idx, sizeof idx / sizeof idx[0]);
	for (size_t i = 1; i < n; i++) {
		const ag_frame_t *f = symbols_lookup(sym, st->frames[idx[i]]);
		if (!f)
			continue;
		fold_frame_human(f, buf, sizeof buf);
		snprintf(line, sizeof line, "from %s", buf);
		table_more(t, line);
	}
}

char *site_key(symbols_t *sym, const ag_stack_t *st)
{
	size_t cap = 64 + (size_t)st->nframes * 128, len = 0;
	char *k = malloc(cap), buf[1024];
	if (!k)
		return NULL;
	len = (size_t)snprintf(k, cap, "%c", st->kind);
	for (uint32_t i = 0; i < st->nframes; i++) {
		const ag_frame_t *f = symbols_lookup(sym, st->frames[i]);
		if (!f)
			continue;
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

typedef struct {
	char *key;
	uint32_t stack;
} keyed_t;

static int keyed_cmp(const void *a, const void *b)
{
	const keyed_t *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->stack > y->stack) - (x->stack < y->stack);
}

uint32_t *site_groups(const ag_log_t *log, symbols_t *sym)
{
	size_t n = log->nstacks;
	uint32_t *rep = malloc((n ? n : 1) * sizeof *rep);
	keyed_t *k = calloc(n ? n : 1, sizeof *k);
	int ok = rep && k;
	for (size_t i = 0; ok && i < n; i++) {
		k[i].stack = (uint32_t)i;
		ok = (k[i].key = fold_site_key(sym, &log->stacks[i], &fold_now)) != NULL;
	}
	if (ok) {
		qsort(k, n, sizeof *k, keyed_cmp);
		for (size_t i = 0; i < n; i++)
			rep[k[i].stack] = i && strcmp(k[i].key, k[i - 1].key) == 0 ?
					  rep[k[i - 1].stack] : k[i].stack;
	}
	for (size_t i = 0; k && i < n; i++)
		free(k[i].key);
	free(k);
	if (!ok) {
		free(rep);
		return NULL;
	}
	return rep;
}

/* Per group: the sums of its stacks' current figures, and whether they changed in the
 * snapshot being rewritten. */
typedef struct {
	uint64_t live_bytes, live_count, total_bytes, total_count, peak_bytes, peak_count;
	uint64_t lost_bytes, lost_count;
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
		x->lost_bytes = x->lost_count = 0;
		x->dirty_r = 0;
	}
	for (size_t i = 0; i < s->nr; i++) {
		group_sum_t *x = &g[rep[s->r[i].stack]];
		x->lost_bytes += s->r[i].lost_bytes;
		x->lost_count += s->r[i].lost_count;
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
			r[nr++] = (ag_rrec_t){ k, g[k].lost_bytes, g[k].lost_count };
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
