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

/* Index of the frame a human sees as the site: past leading wrappers, when a caller is
 * there to show. */
static uint32_t site_frame(symbols_t *sym, const ag_stack_t *st)
{
	uint32_t i = 0;
	while (i + 1 < st->nframes && i < 3 && is_wrapper(symbols_lookup(sym, st->frames[i])))
		i++;
	return i;
}

void site_label(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len)
{
	uint32_t k = st->nframes ? site_frame(sym, st) : 0;
	const ag_frame_t *f = st->nframes ? symbols_lookup(sym, st->frames[k]) : NULL;
	if (!f) {   /* a stack of no frames is the guard's site for blocks older than it */
		snprintf(buf, len, st->nframes ? "(no frames)" : "(before allocguard started)");
		return;
	}
	frame_human(f, buf, len);
	if (k) {
		const ag_frame_t *w = symbols_lookup(sym, st->frames[0]);
		size_t n = strlen(buf);
		if (w && w->function && n < len)
			snprintf(buf + n, len - n, " via %s", w->function);
	}
}

void site_more(table_t *t, symbols_t *sym, const ag_stack_t *st)
{
	char buf[600], line[620];
	uint32_t k = st->nframes ? site_frame(sym, st) : 0;
	for (uint32_t i = k + 1; i < st->nframes && i < k + SITE_HUMAN_FRAMES; i++) {
		const ag_frame_t *f = symbols_lookup(sym, st->frames[i]);
		if (!f)
			continue;
		frame_human(f, buf, sizeof buf);
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
