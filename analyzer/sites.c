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

void site_label(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len)
{
	const ag_frame_t *f = st->nframes ? symbols_lookup(sym, st->frames[0]) : NULL;
	if (f)
		frame_human(f, buf, len);
	else
		snprintf(buf, len, "(no frames)");
}

void site_more(table_t *t, symbols_t *sym, const ag_stack_t *st)
{
	char buf[600], line[620];
	for (uint32_t i = 1; i < st->nframes && i < SITE_HUMAN_FRAMES; i++) {
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
