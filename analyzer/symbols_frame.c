/* symbols_frame.c: the symbolizer's frames (see symbols_int.h): carved from chunks, their
 * names demangled and their sources set, and how a frame reads as a key across runs and
 * to a person. */
#include "symbols_int.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

ag_frame_t *frame_new(symbols_t *s)
{
	if (!s->chunks || s->chunk_used == FRAME_CHUNK) {
		struct frame_chunk *c = malloc(sizeof *c);
		if (!c)
			return NULL;
		c->next = s->chunks;
		s->chunks = c;
		s->chunk_used = 0;
	}
	ag_frame_t *f = &s->chunks->f[s->chunk_used++];
	memset(f, 0, sizeof *f);
	return f;
}

void frame_chunks_free(symbols_t *s)
{
	while (s->chunks) {
		struct frame_chunk *c = s->chunks;
		s->chunks = c->next;
		free(c);
	}
}

const char *frame_base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

char *frame_demangled(const char *name)
{
	static demangle_fn fn;
	static int tried;
	if (strncmp(name, "_Z", 2) != 0)
		return strdup(name);
	if (!tried) {
		tried = 1;
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (h)
			fn = (demangle_fn)(uintptr_t)dlsym(h, "__cxa_demangle");
	}
	int status = -1;
	char *d = fn ? fn(name, NULL, NULL, &status) : NULL;
	if (d && status == 0)
		return d;
	free(d);
	return strdup(name);
}

void frame_set_source(ag_frame_t *f, const char *src, int line)
{
	if (!src || !*src || line <= 0)
		return;
	f->path = strdup(src);
	f->file = f->path ? frame_base_name(f->path) : NULL;
	f->line = f->path ? line : 0;
}

/* A frame without a function name and source: module+offset, else the name the model gave
 * it (jsheap.c), else its address.  Keys and human forms read the same there. */
static void frame_bare(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->module)
		snprintf(buf, len, "%s+0x%" PRIx64, frame_base_name(f->module), f->offset);
	else if (f->function)
		snprintf(buf, len, "%s", f->function);
	else
		snprintf(buf, len, "0x%" PRIx64, f->address);
}

void frame_key(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->function && f->file)
		snprintf(buf, len, "%s|%s|%d", f->function, f->file, f->line);
	else if (f->function && (f->jit || !f->module))
		snprintf(buf, len, "%s|jit", f->function);
	else if (f->function)
		snprintf(buf, len, "%s|%s", f->function, frame_base_name(f->module));
	else
		frame_bare(f, buf, len);
}

void frame_human(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->function && f->file)
		snprintf(buf, len, "%s (%s:%d)", f->function, f->file, f->line);
	else if (f->function && f->jit)
		snprintf(buf, len, "%s [JIT]", f->function);
	else if (f->function && f->module)
		snprintf(buf, len, "%s (%s+0x%" PRIx64 ")", f->function, frame_base_name(f->module),
			 f->offset);
	else
		frame_bare(f, buf, len);
}
