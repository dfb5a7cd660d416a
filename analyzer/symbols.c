/* symbols.c: the symbolizer (see symbols.h): each address placed in the module that held
 * it when its stack was recorded, resolved once (symbols_dwfl.c for modules, symbols_jit.c
 * for JIT code) and cached per address and module.  The pieces are symbols_int.h's. */
#include "symbols_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

symbols_t *symbols_open(const ag_log_t *log, FILE *err)
{
	symbols_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->log = log;
	s->err = err;
	s->mods = calloc(log->nmodules ? log->nmodules : 1, sizeof *s->mods);
	if (!s->mods) {
		symbols_close(s);
		return NULL;
	}
	if ((s->mod_maxhi = malloc((log->nmodules ? log->nmodules : 1) * sizeof *s->mod_maxhi))) {
		uint64_t m = 0;
		for (size_t i = 0; i < log->nmodules; i++)
			s->mod_maxhi[i] = m = log->modules[i].hi > m ? log->modules[i].hi : m;
	}
	modules_report(s);
	jit_open(s);
	return s;
}

/* The module holding addr for a stack with id stack_id: of the modules whose range holds
 * it, the first one unloaded after that stack was interned (never-unloaded ones last);
 * when all were gone before it, the last one gone. */
static size_t module_of(const symbols_t *s, uint64_t addr, uint64_t stack_id)
{
	const ag_log_t *log = s->log;
	size_t lo = 0, hi = log->nmodules;
	while (lo < hi) {   /* modules are sorted by lo: first one starting above addr */
		size_t mid = lo + (hi - lo) / 2;
		if (log->modules[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t best = SIZE_MAX, late = SIZE_MAX;
	uint64_t best_gone = 0, late_gone = 0;
	for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++) {
		const ag_module_t *m = &log->modules[i];
		if (s->mod_maxhi && s->mod_maxhi[i] <= addr)
			break;   /* no module at or below i reaches addr */
		if (addr >= m->hi)
			continue;
		uint64_t gone = m->gone_from ? m->gone_from : UINT64_MAX;
		if (gone > stack_id) {
			if (best == SIZE_MAX || gone < best_gone) {
				best = i;
				best_gone = gone;
			}
		} else if (late == SIZE_MAX || gone > late_gone) {
			late = i;
			late_gone = gone;
		}
	}
	return best != SIZE_MAX ? best : late;
}

static ag_frame_t *resolve(symbols_t *s, uint64_t addr, size_t mi)
{
	ag_frame_t *f = frame_new(s);
	if (!f)
		return NULL;
	f->address = addr;
	f->offset = addr;
	if (addr >= AG_JS_ADDR_BASE && js_resolve(s, addr, f))
		return f;
	if (mi != SIZE_MAX) {
		const ag_module_t *m = &s->log->modules[mi];
		f->module = m->path;
		f->offset = addr - m->bias;
		module_resolve(s, mi, addr, f);
		return f;
	}
	jit_resolve(s, addr, f);
	return f;
}

const char *symbols_module_of(symbols_t *s, uint64_t addr)
{
	size_t mi = module_of(s, addr, UINT64_MAX);
	return mi == SIZE_MAX ? NULL : s->log->modules[mi].path;
}

static const ag_frame_t *lookup(symbols_t *s, uint64_t addr, uint64_t stack_id)
{
	size_t mi = module_of(s, addr, stack_id);
	uint64_t v;
	for (size_t pos = HTAB_START; htab_find(&s->cache_idx, addr, &pos, &v);)
		if (s->cache[v].mod == mi)
			return s->cache[v].frame;
	ag_frame_t *f = resolve(s, addr, mi);
	if (!f)
		return NULL;
	if (s->cache_n == s->cache_cap) {
		size_t nc = s->cache_cap ? s->cache_cap * 2 : 1024;
		cache_slot_t *n = realloc(s->cache, nc * sizeof *n);
		if (!n)
			return f;   /* uncached rather than fail; only under ENOMEM */
		s->cache = n;
		s->cache_cap = nc;
	}
	if (htab_put(&s->cache_idx, addr, s->cache_n))
		return f;
	s->cache[s->cache_n++] = (cache_slot_t){ addr, mi, f };
	return f;
}

const ag_frame_t *symbols_lookup(symbols_t *s, uint64_t addr)
{
	return lookup(s, addr, UINT64_MAX);
}

const ag_frame_t *symbols_next(symbols_t *s, const ag_stack_t *st, frame_iter_t *it)
{
	if (it->f && it->f->outer)
		return it->f = it->f->outer;
	while (it->next < st->nframes) {
		it->index = it->next++;
		if ((it->f = lookup(s, st->frames[it->index], st->id)))
			return it->f;
	}
	return it->f = NULL;
}

void **symbols_memo(symbols_t *s)
{
	return &s->memo;
}

void symbols_close(symbols_t *s)
{
	if (!s)
		return;
	free(s->memo);
	for (size_t i = 0; i < s->cache_n; i++) {
		ag_frame_t *f = s->cache[i].frame;
		while (f) {
			free((char *)f->function);
			free((char *)f->path);
			f = (ag_frame_t *)f->outer;
		}
	}
	free(s->cache);
	htab_free(&s->cache_idx);
	inline_free(s);
	free(s->mod_maxhi);
	frame_chunks_free(s);
	jit_free(s);
	modules_free(s);
	free(s);
}
