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

/* A stack as the human views show it: its frames with inlined calls expanded, and which of
 * them folding leaves. */
#define SHOWN_MAX 256
typedef struct {
	fold_frame_t fr[AG_FOLD_MAX_FRAMES];
	uint32_t idx[SHOWN_MAX];
	size_t nfr, n;
} shown_t;

static shown_t *shown_of(symbols_t *sym, const site_view_t *view, const ag_stack_t *st,
			 shown_t *s)
{
	s->nfr = fold_expand_shown(sym, st, s->fr, AG_FOLD_MAX_FRAMES, &view->fold, SHOWN_MAX);
	s->n = fold_shown(s->fr, s->nfr, &view->fold, s->idx, SHOWN_MAX);
	return s;
}

static const fold_frame_t *shown_at(const shown_t *s, size_t j)
{
	return j < s->n ? &s->fr[s->idx[j]] : NULL;
}

/* " via strdup" after a label, when folding hid the wrapper the program called. */
static void add_via(const shown_t *s, const site_view_t *view, char *buf, size_t len)
{
	const char *via = fold_via(s->fr, s->nfr, &view->fold);
	size_t n = strlen(buf);
	if (via && n < len)
		snprintf(buf + n, len - n, " via %.*s", (int)strcspn(via, "("), via);
}

void site_label(symbols_t *sym, const site_view_t *view, const ag_stack_t *st, char *buf,
		size_t len)
{
	shown_t *s = malloc(sizeof *s);
	if (!s || !shown_of(sym, view, st, s)->n) {
		/* a stack of no frames is the guard's site for blocks older than it */
		snprintf(buf, len, st->nframes ? "(no frames)" : "(before allocguard started)");
		free(s);
		return;
	}
	fold_shown_human(shown_at(s, 0), buf, len);
	add_via(s, view, buf, len);
	free(s);
}

void site_label_kind(symbols_t *sym, const site_view_t *view, const ag_stack_t *st, char *buf,
		     size_t len, size_t label_len)
{
	char label[600];
	site_label(sym, view, st, label, label_len < sizeof label ? label_len : sizeof label);
	if (st->kind != AG_KIND_HEAP)
		snprintf(buf, len, "[%s] %s", site_kind_name(st->kind), label);
	else
		snprintf(buf, len, "%s", label);
}

void site_more(table_t *t, symbols_t *sym, const site_view_t *view, const ag_stack_t *st)
{
	char buf[600], line[620];
	shown_t *s = malloc(sizeof *s);
	if (!s)
		return;
	shown_of(sym, view, st, s);
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

int site_hash_cmp(const site_hash_t *x, const site_hash_t *y)
{
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return 0;
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

/* The sites last computed over a symbols_t's log, so the next report over the same log
 * does not resolve and hash every stack again. */
typedef struct {
	const ag_log_t *log;
	size_t n;
	uint32_t rep[];
} sites_memo_t;

static uint32_t *sites_remembered(const ag_log_t *log, symbols_t *sym)
{
	const sites_memo_t *m = *symbols_memo(sym);
	if (!m || m->log != log || m->n != log->nstacks)
		return NULL;
	uint32_t *rep = malloc((m->n ? m->n : 1) * sizeof *rep);
	if (rep)
		memcpy(rep, m->rep, m->n * sizeof *rep);
	return rep;
}

static void sites_remember(const ag_log_t *log, symbols_t *sym, const uint32_t *rep)
{
	void **slot = symbols_memo(sym);
	sites_memo_t *m = malloc(sizeof *m + (log->nstacks ? log->nstacks : 1) * sizeof *rep);
	if (!m)
		return;   /* computed again next time */
	m->log = log;
	m->n = log->nstacks;
	memcpy(m->rep, rep, m->n * sizeof *rep);
	free(*slot);
	*slot = m;
}

/* The site's identity: kind and the key of the first frame of the program's own code,
 * whatever --frames and --all-frames show. */
static const fold_opts_t site_fold = { 1, 0 };

static void identity(symbols_t *sym, const ag_stack_t *st, int by_function, site_hash_t *h)
{
	fold_frame_t fr[AG_FOLD_MAX_FRAMES];
	uint32_t first;
	char buf[1100];
	size_t nfr = fold_expand_shown(sym, st, fr, AG_FOLD_MAX_FRAMES, &site_fold, 1);
	h->a = 0xcbf29ce484222325ULL;
	h->b = 0x2545f4914f6cdd1dULL;
	hash_bytes(h, &st->kind, 1);
	if (!fold_shown(fr, nfr, &site_fold, &first, 1))
		snprintf(buf, sizeof buf, "%s", st->nframes ? "(no frames)" : "(before)");
	else if (!fr[first].f)
		snprintf(buf, sizeof buf, "node@%" PRIx64, fr[first].addr);
	else if (by_function && fr[first].f->function && !fr[first].f->jit)
		snprintf(buf, sizeof buf, "%s|%s", fr[first].f->function,
			 fr[first].f->file ? fr[first].f->file : "");
	else
		fold_frame_key(fr[first].f, buf, sizeof buf);
	hash_bytes(h, buf, strlen(buf));
	h->a ^= h->b >> 29;
	h->b ^= h->a * 0xff51afd7ed558ccdULL;
}

void site_identity(symbols_t *sym, const ag_stack_t *st, site_hash_t *h)
{
	identity(sym, st, 0, h);
}

void site_function_identity(symbols_t *sym, const ag_stack_t *st, site_hash_t *h)
{
	identity(sym, st, 1, h);
}

/* Stacks are grouped by 128-bit hashes of their site keys: a million stacks keep 24 bytes
 * each, not a million key strings. */
uint32_t *sites_of(const ag_log_t *log, symbols_t *sym)
{
	uint32_t *known = sites_remembered(log, sym);
	if (known)
		return known;
	size_t n = log->nstacks;
	uint32_t *rep = malloc((n ? n : 1) * sizeof *rep);
	keyed_t *k = calloc(n ? n : 1, sizeof *k);
	if (!rep || !k) {
		free(rep);
		free(k);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		k[i].stack = (uint32_t)i;
		site_identity(sym, &log->stacks[i], &k[i].h);
	}
	qsort(k, n, sizeof *k, keyed_cmp);
	for (size_t i = 0; i < n; i++)
		rep[k[i].stack] = i && site_hash_cmp(&k[i].h, &k[i - 1].h) == 0 ?
				  rep[k[i - 1].stack] : k[i].stack;
	free(k);
	sites_remember(log, sym, rep);
	return rep;
}
