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
