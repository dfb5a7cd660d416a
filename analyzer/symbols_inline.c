/* symbols_inline.c: inlined calls as frames of their own (see symbols_int.h), from an index
 * of each CU's scopes built once, with libdw's scope walk where the index cannot say. */
#include "symbols_int.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The name an inlined subroutine's DIE gives its function: a C++ linkage name demangled
 * (as the symbol table reads for an out-of-line copy: "ns::f(int)"), else the name as
 * written (a C linkage name may be an internal alias such as glibc's __GI_ ones). */
static char *die_function(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
	if (!n)
		n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (n && strncmp(n, "_Z", 2) == 0)
		return frame_demangled(n);
	const char *plain = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
	if (plain || n)
		return strdup(plain ? plain : n);
	return NULL;
}

/* Where an inlined subroutine was called from: DW_AT_call_file/call_line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *die, ag_frame_t *f)
{
	Dwarf_Attribute a;
	Dwarf_Word file, line;
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &file) != 0 ||
	    dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &line) != 0 ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || file >= nfiles)
		return;
	frame_set_source(f, dwarf_filesrc(files, file, NULL, NULL), (int)line);
}

/* A CU's subprograms and inlined calls with their address ranges, walked once: the
 * scopes at an address are then a binary search away, where dwarf_getscopes and
 * dwarf_getscopes_die walk the CU's whole tree for every address (most of the analysis
 * of a program with large CUs, such as CPython's ceval.c). */
typedef struct {
	Dwarf_Die die;
	int parent;                /* enclosing entry, -1 at the top */
	int depth;
	int tag;                   /* DW_TAG_subprogram or DW_TAG_inlined_subroutine */
	int sub;                   /* a subprogram whose inside is indexed on demand: its
				    * index in subs; -1 otherwise */
} scope_t;

typedef struct {
	uint64_t lo, hi, maxhi;    /* maxhi: the highest hi up to this range (sorted by lo) */
	int scope;
} scope_range_t;

typedef struct {
	scope_range_t *rg;
	size_t nrg, caprg;
} range_list_t;

/* The inside of one subprogram: its inlined calls and nested scopes, walked the first time
 * an address falls in it. */
typedef struct {
	int scope;
	int state;                 /* 0 not walked, 1 indexed, -1 could not be */
	range_list_t r;
} sub_index_t;

/* The CU's top level is walked once (subprograms and what holds them); the inside of each
 * subprogram only when an address lands in it: a stack touches a few functions of a CU,
 * and the insides (parameters, variables, blocks, inlined calls) are most of its DIEs. */
struct cu_index {
	struct cu_index *next;
	const void *key;           /* the CU DIE's place in .debug_info */
	scope_t *sc;
	size_t nsc, capsc;
	range_list_t top;
	int c_lang;                /* the CU is C: its types need not be looked into */
	sub_index_t *subs;
	size_t nsubs, capsubs;
	int ok;
};

#define CU_INDEX_MAX_DEPTH 64

static int cu_add(struct cu_index *x, range_list_t *r, Dwarf_Die *d, int parent, int depth,
		  int tag)
{
	int me = (int)x->nsc;
	if (AG_PUSH(x->sc, x->nsc, x->capsc, ((scope_t){ *d, parent, depth, tag, -1 })))
		return -1;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(d, off, &base, &lo, &hi)) > 0) {
		if (lo >= hi)
			continue;
		if (AG_PUSH(r->rg, r->nrg, r->caprg, ((scope_range_t){ lo, hi, 0, me })))
			return -1;
	}
	return me;
}

/* Children of d into r: subprograms and inlined calls are entries; blocks, namespaces and
 * types (C++ methods) are looked into.  With lazy, a subprogram with an address range is
 * not looked into now: it gets a sub_index_t, filled by cu_sub on demand. */
static int cu_walk(struct cu_index *x, range_list_t *r, Dwarf_Die *d, int parent, int depth,
		   int lazy)
{
	Dwarf_Die c;
	if (depth > CU_INDEX_MAX_DEPTH || dwarf_child(d, &c) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&c), inner = parent;
		size_t had = r->nrg;
		switch (tag) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
			if ((inner = cu_add(x, r, &c, parent, depth, tag)) < 0)
				return -1;
			break;
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
			break;
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			if (x->c_lang)
				continue;   /* a C struct holds no functions */
			break;
		default:
			continue;
		}
		if (!dwarf_haschildren(&c))
			continue;
		if (lazy && tag == DW_TAG_subprogram && r->nrg > had) {
			x->sc[inner].sub = (int)x->nsubs;
			if (AG_PUSH(x->subs, x->nsubs, x->capsubs, ((sub_index_t){ .scope = inner })))
				return -1;
			continue;
		}
		if (cu_walk(x, r, &c, inner, depth + 1, lazy))
			return -1;
	} while (dwarf_siblingof(&c, &c) == 0);
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const scope_range_t *x = a, *y = b;
	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->scope > y->scope) - (x->scope < y->scope);
}

static void ranges_sort(range_list_t *r)
{
	if (!r->nrg)
		return;
	qsort(r->rg, r->nrg, sizeof *r->rg, range_cmp);
	uint64_t m = 0;
	for (size_t i = 0; i < r->nrg; i++)
		r->rg[i].maxhi = m = r->rg[i].hi > m ? r->rg[i].hi : m;
}

static struct cu_index *cu_index_of(symbols_t *s, Dwarf_Die *cu)
{
	for (struct cu_index *x = s->cus; x; x = x->next)
		if (x->key == cu->addr)
			return x;
	struct cu_index *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->key = cu->addr;
	x->next = s->cus;
	s->cus = x;
	switch (dwarf_srclang(cu)) {
	case DW_LANG_C89:
	case DW_LANG_C:
	case DW_LANG_C99:
	case DW_LANG_C11:
		x->c_lang = 1;
	}
	x->ok = cu_walk(x, &x->top, cu, -1, 0, 1) == 0;
	if (x->ok)
		ranges_sort(&x->top);
	return x;
}

/* The inside of the subprogram with sub index k, walked now if it was not yet. */
static const range_list_t *cu_sub(struct cu_index *x, int k)
{
	sub_index_t *u = &x->subs[k];
	if (!u->state) {
		scope_t sc = x->sc[u->scope];   /* x->sc moves as the walk adds to it */
		range_list_t r = { 0 };
		u->state = cu_walk(x, &r, &sc.die, u->scope, sc.depth + 1, 0) ? -1 : 1;
		u = &x->subs[k];
		ranges_sort(&r);
		u->r = r;
	}
	return u->state > 0 ? &u->r : NULL;
}

/* The deepest scope of r holding pc, better than *best (deeper); 0, or -1 when the inside
 * of a subprogram holding pc cannot be indexed. */
static int ranges_innermost(struct cu_index *x, const range_list_t *r, uint64_t pc, int *best)
{
	size_t lo = 0, hi = r->nrg;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->rg[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0 && r->rg[i].maxhi > pc;) {
		const scope_range_t *g = &r->rg[i];
		if (pc >= g->hi)
			continue;
		if (*best < 0 || x->sc[g->scope].depth > x->sc[*best].depth)
			*best = g->scope;
		int k = x->sc[g->scope].sub;
		if (k >= 0) {
			const range_list_t *in = cu_sub(x, k);
			if (!in || ranges_innermost(x, in, pc, best))
				return -1;
		}
	}
	return 0;
}

/* The innermost indexed scope holding pc, -1 when none; -2 when the index cannot say. */
static int cu_innermost(struct cu_index *x, uint64_t pc)
{
	if (!x || !x->ok)
		return -2;
	int best = -1;
	return ranges_innermost(x, &x->top, pc, &best) ? -2 : best;
}

void inline_free(symbols_t *s)
{
	while (s->cus) {
		struct cu_index *x = s->cus;
		s->cus = x->next;
		for (size_t k = 0; k < x->nsubs; k++)
			free(x->subs[k].r.rg);
		free(x->subs);
		free(x->sc);
		free(x->top.rg);
		free(x);
	}
}

static void expand_chain(symbols_t *s, Dwarf_Die *cu, Dwarf_Die *scopes, int n, ag_frame_t *f);

void inline_expand(symbols_t *s, Dwfl_Module *mod, uint64_t addr, ag_frame_t *f)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
	Dwarf_Die *scopes = NULL, *chain = NULL;
	if (!cu)
		return;   /* no DWARF here: f stays the symbol's function */
	int in = cu_innermost(cu_index_of(s, cu), addr - bias);
	if (in >= -1) {
		/* the concrete nesting from the index: inlined in inlined ... in the subprogram */
		const struct cu_index *x = cu_index_of(s, cu);
		int n = 0;
		for (int k = in; k >= 0 && x->sc[k].tag == DW_TAG_inlined_subroutine; k = x->sc[k].parent)
			n++;
		if (n && (chain = malloc((size_t)n * sizeof *chain))) {
			n = 0;
			for (int k = in; k >= 0 && x->sc[k].tag == DW_TAG_inlined_subroutine;
			     k = x->sc[k].parent)
				chain[n++] = x->sc[k].die;
		} else {
			n = 0;
		}
		expand_chain(s, cu, chain, n, f);
		return;
	}
	int n = dwarf_getscopes(cu, addr - bias, &scopes);
	/* getscopes continues from an inlined instance into its abstract definition; the
	 * concrete nesting (inlined in inlined in the subprogram) is getscopes_die's */
	int first = 0;
	while (first < n && dwarf_tag(&scopes[first]) != DW_TAG_inlined_subroutine &&
	       dwarf_tag(&scopes[first]) != DW_TAG_subprogram)
		first++;
	if (first < n && dwarf_tag(&scopes[first]) == DW_TAG_inlined_subroutine)
		n = dwarf_getscopes_die(&scopes[first], &chain);
	else
		n = 0;
	free(scopes);
	expand_chain(s, cu, chain, n, f);
}

/* f becomes the innermost of the n scopes (a concrete chain, innermost first; freed here),
 * each outer one a frame at its call site, the last one the symbol's function. */
static void expand_chain(symbols_t *s, Dwarf_Die *cu, Dwarf_Die *scopes, int n, ag_frame_t *f)
{
	char *outermost = (char *)f->function;
	ag_frame_t *cur = f;
	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		char *name = die_function(&scopes[i]);
		ag_frame_t *o = name ? frame_new(s) : NULL;
		if (!o) {
			free(name);
			break;
		}
		*o = (ag_frame_t){ .module = f->module, .address = f->address, .offset = f->offset };
		call_site(cu, &scopes[i], o);
		cur->function = name;
		cur->inlined = 1;
		cur->outer = o;
		cur = o;
	}
	free(scopes);
	cur->function = outermost;
}
