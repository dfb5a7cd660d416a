/* symbols_symtab.c: a module's symbols sorted by address (see symbols_int.h), so naming an
 * address is a binary search, with libdw's own choice among the symbols that hold it
 * (dwfl_module_addrname's order: global, then local, then the closest label) replayed on
 * those few. */
#include "symbols_int.h"

#include <errno.h>
#include <gelf.h>
#include <stdlib.h>

static int sym_cmp(const void *a, const void *b)
{
	const sym_t *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int symtab_build(symtab_t *t, Dwfl_Module *mod)
{
	int n = dwfl_module_getsymtab(mod), first_global = dwfl_module_getsymtab_first_global(mod);
	if (n <= 0 || first_global < 0)
		return ENOENT;
	t->v = malloc((size_t)n * sizeof *t->v);
	if (!t->v)
		return ENOMEM;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr a;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &a, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
		/* the symbols libdw's own address search considers */
		if (!name || !*name || sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
		    type == STT_FILE || type == STT_TLS)
			continue;
		t->v[t->n++] = (sym_t){ a, sym.st_size, 0, name, i,
					bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 :
					bind == STB_LOCAL ? 1 : 0, first_global == 0 || i >= first_global };
	}
	qsort(t->v, t->n, sizeof *t->v, sym_cmp);
	uint64_t m = 0;   /* over sized symbols only: a label ends nothing */
	for (size_t i = 0; i < t->n; i++) {
		uint64_t end = t->v[i].lo + t->v[i].size;
		if (t->v[i].size && end > m)
			m = end;
		t->v[i].maxhi = m;
	}
	return 0;
}

static int idx_cmp(const void *a, const void *b)
{
	const sym_t *x = *(const sym_t *const *)a, *y = *(const sym_t *const *)b;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* libdw's choice among the sized symbols of one pass that hold the address, met in the
 * order of its table: closer, or a stronger binding; at the same address a smaller or
 * more strongly bound one, else the first. */
static const sym_t *pass_pick(const sym_t **c, size_t n)
{
	qsort(c, n, sizeof *c, idx_cmp);
	const sym_t *b = NULL;
	for (size_t i = 0; i < n; i++) {
		const sym_t *e = c[i];
		if (!b || b->lo < e->lo || b->rank < e->rank ||
		    (b->lo == e->lo && ((b->size > e->size && b->rank <= e->rank) ||
					(b->size >= e->size && b->rank < e->rank))))
			b = e;
	}
	return b;
}

#define SYMTAB_MAX_HOLDERS 256

/* The name dwfl_module_addrname gives addr: global symbols holding it first, then local
 * ones, then the closest label (sizeless symbol) above the end of every sized one. */
const char *symtab_name(symtab_t *t, Dwfl_Module *mod, uint64_t addr)
{
	if (!t->built)
		t->built = symtab_build(t, mod) ? -1 : 1;
	if (t->built < 0)
		return dwfl_module_addrname(mod, addr);
	size_t lo = 0, hi = t->n;
	while (lo < hi) {   /* first entry starting above addr */
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	uint64_t min_label = t->v[lo - 1].maxhi;
	const sym_t *glob[SYMTAB_MAX_HOLDERS], *local[SYMTAB_MAX_HOLDERS], *label = NULL;
	size_t ng = 0, nl = 0, steps = 0;
	int label_done = 0;
	for (size_t i = lo; i-- > 0;) {
		const sym_t *e = &t->v[i];
		if (e->maxhi <= addr && label_done)
			break;   /* nothing at or before i holds addr */
		if (++steps > 4096 || ng == SYMTAB_MAX_HOLDERS || nl == SYMTAB_MAX_HOLDERS)
			return dwfl_module_addrname(mod, addr);   /* pathological: libdw's scan */
		if (!e->size) {
			if (!label_done && e->lo >= min_label)
				label = e;
			label_done = 1;
		} else {
			if (e->lo < min_label)
				label_done = 1;
			if (addr - e->lo < e->size) {
				if (e->global)
					glob[ng++] = e;
				else
					local[nl++] = e;
			}
		}
	}
	if (ng)
		return pass_pick(glob, ng)->name;
	if (nl && !(label && label->global && label->lo == addr))
		return pass_pick(local, nl)->name;
	return label ? label->name : NULL;
}
