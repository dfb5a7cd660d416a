/* sites.c: frames and keys of call sites, shared by the reports (see sites.h). */
#include "sites.h"

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
	frame_iter_t it = { 0 };
	for (const ag_frame_t *f; (f = symbols_next(sym, st, &it));) {
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
		if (f->inlined) {
			json_key(j, "inlined");
			json_bool(j, 1);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* Allocation wrappers (operator new, strdup...): a human wants their caller as the site. */
static int is_wrapper(const ag_frame_t *f)
{
	static const char *const names[] = { "operator new", "operator new[]", "__strdup",
					     "strdup", "__strndup", "strndup", "_Znwm", "_Znam",
					     NULL };
	if (!f || !f->function)
		return 0;
	for (int i = 0; names[i]; i++) {
		size_t n = strlen(names[i]);
		if (strncmp(f->function, names[i], n) == 0 &&
		    (f->function[n] == '\0' || f->function[n] == '(' || names[i][0] == '_'))
			return 1;
	}
	return 0;
}

/* The first frames of st with inlined calls expanded: what the human views show. */
#define SITE_SHOWN (SITE_HUMAN_FRAMES + 4)
static uint32_t shown_frames(symbols_t *sym, const ag_stack_t *st, const ag_frame_t **out)
{
	uint32_t n = 0;
	frame_iter_t it = { 0 };
	for (const ag_frame_t *f; n < SITE_SHOWN && (f = symbols_next(sym, st, &it));)
		out[n++] = f;
	return n;
}

/* Index of the frame a human sees as the site: past leading wrappers, when a caller is
 * there to show. */
static uint32_t site_frame(const ag_frame_t **f, uint32_t n)
{
	uint32_t i = 0;
	while (i + 1 < n && i < 3 && is_wrapper(f[i]))
		i++;
	return i;
}

void site_label(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len)
{
	const ag_frame_t *fr[SITE_SHOWN];
	uint32_t n = shown_frames(sym, st, fr);
	if (!n) {
		snprintf(buf, len, "(no frames)");
		return;
	}
	uint32_t k = site_frame(fr, n);
	frame_human(fr[k], buf, len);
	if (k) {
		size_t l = strlen(buf);
		if (fr[0]->function && l < len)
			snprintf(buf + l, len - l, " via %s", fr[0]->function);
	}
}

void site_more(table_t *t, symbols_t *sym, const ag_stack_t *st)
{
	char buf[600], line[620];
	const ag_frame_t *fr[SITE_SHOWN];
	uint32_t n = shown_frames(sym, st, fr);
	uint32_t k = site_frame(fr, n);
	for (uint32_t i = k + 1; i < n && i < k + SITE_HUMAN_FRAMES; i++) {
		frame_human(fr[i], buf, sizeof buf);
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

/* Frame i (inlined calls expanded) of the group's representative f, as a human reads it,
 * naming every place the group's stacks are at in that frame: "fill (pool.c:12, 15)",
 * "fill (pool.c:12, util.h:40)". */
static void group_frame(symbols_t *sym, const ag_frame_t *f, const ag_stack_t *const *all,
			size_t n, uint32_t i, char *buf, size_t len)
{
	char where[GROUP_MAX_WHERE][300];
	size_t nw = 0, more = 0;
	for (size_t s = 0; s < n; s++) {
		const ag_frame_t *fr[SITE_SHOWN];
		if (shown_frames(sym, all[s], fr) <= i)
			continue;
		const ag_frame_t *g = fr[i];
		char w[300];
		frame_where(g, w, sizeof w);
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
	if (nw <= 1 || !f->function) {
		frame_human(f, buf, len);
		return;
	}
	size_t o = (size_t)snprintf(buf, len, "%s (", f->function);
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
	const ag_frame_t *fr[SITE_SHOWN];
	uint32_t nf = shown_frames(sym, rep, fr);
	if (!nf) {
		snprintf(buf, len, "(no frames)");
		return;
	}
	uint32_t k = site_frame(fr, nf);
	group_frame(sym, fr[k], all, n, k, buf, len);
	if (k) {
		size_t m = strlen(buf);
		if (fr[0]->function && m < len)
			snprintf(buf + m, len - m, " via %s", fr[0]->function);
	}
}

void site_group_more(table_t *t, symbols_t *sym, const ag_stack_t *rep,
		     const ag_stack_t *const *all, size_t n)
{
	char buf[600], line[620];
	const ag_frame_t *fr[SITE_SHOWN];
	uint32_t nf = shown_frames(sym, rep, fr);
	uint32_t k = site_frame(fr, nf);
	for (uint32_t i = k + 1; i < nf && i < k + SITE_HUMAN_FRAMES; i++) {
		group_frame(sym, fr[i], all, n, i, buf, sizeof buf);
		snprintf(line, sizeof line, "from %s", buf);
		table_more(t, line);
	}
}
