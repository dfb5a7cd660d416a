/* symbols.c: the symbolizer (see symbols.h).  One Dwfl per log with every M module reported
 * at its recorded bias, after checking the file's build-id against the log's (falling back
 * to /usr/lib/debug/.build-id, else to module+offset, said once per module).  libdw stays
 * in this file. */
#include "symbols.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JIT_MAX_ENTRIES (16u << 20)
#define JIT_MAX_LINE 8192

typedef struct {
	uint64_t start, end;
	size_t order;          /* later lines win over earlier overlapping ones */
	char *name;
} jit_sym_t;

/* A module's symbols sorted by address, built on its first lookup: dwfl_module_addrname
 * scans the whole symbol table on every call, which for a binary like node (100k symbols)
 * and 10k distinct addresses takes seconds; a binary search finds the few symbols that can
 * hold an address, and libdw's choice among them is replayed on those (symtab_name). */
typedef struct {
	uint64_t lo, size;
	uint64_t maxhi;        /* the highest end of the sized entries up to this one */
	const char *name;      /* in the ELF's string table, alive as long as the Dwfl */
	int idx;               /* index in libdw's symbol table: its order breaks ties */
	int rank;              /* binding: global 3, weak 2, local 1 */
	int global;            /* in libdw's global part of the table (searched first) */
} sym_t;

typedef struct {
	sym_t *v;
	size_t n;
	int built;             /* 1: v is the table; -1: could not be built (use libdw) */
} symtab_t;

typedef struct {
	int usable;            /* reported to its layer's dwfl */
	int layer;             /* which Dwfl: modules that overlap go to different ones */
	const char *why;       /* when not: said once, when a frame first lands in it */
	int said;
	symtab_t syms;
} mod_state_t;

typedef struct {
	uint64_t addr;
	size_t mod;            /* the module it was resolved in (SIZE_MAX: none) */
	ag_frame_t *frame;
} cache_slot_t;

/* A range reused by a later dlopen holds two modules; each Dwfl takes modules that do not
 * overlap, so most logs need one. */
#define MAX_LAYERS 8

struct symbols {
	const ag_log_t *log;
	FILE *err;
	Dwfl *dwfl[MAX_LAYERS];
	char *debuginfo_path;
	mod_state_t *mods;
	jit_sym_t *jit;
	size_t njit;
	char *jit_path;
	cache_slot_t *cache;   /* every address resolved, in order */
	size_t cache_cap, cache_n;
	htab_t cache_idx;      /* address -> its entries in cache (one per module) */
	/* frames are carved from chunks: a million addresses are a million frames, and one
	 * malloc (and free) each was a tenth of a large log's analysis */
	struct frame_chunk *chunks;
	size_t chunk_used;
	struct cu_index *cus;        /* scope indexes of the CUs met so far (a list) */
	uint64_t *mod_maxhi;         /* the highest hi of modules 0..i: module_of stops there */
	void *memo;                  /* symbols_memo */
};

#define FRAME_CHUNK 1024
struct frame_chunk {
	struct frame_chunk *next;
	ag_frame_t f[FRAME_CHUNK];
};

static ag_frame_t *frame_new(symbols_t *s)
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

static char *debuginfo_path_default = NULL;
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path_default,
};

/* Open path only when it is a regular file: a log may name a FIFO or a device, and
 * opening those could block or read forever. */
static int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static void hex_of(const unsigned char *id, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[id[i] >> 4];
		out[2 * i + 1] = d[id[i] & 15];
	}
	out[2 * n] = '\0';
}

/* 1 when the ELF at path carries build-id `want` (hex), 0 when it differs or has none,
 * -1 when it cannot be read. */
static int build_id_matches(const char *path, const char *want)
{
	int fd = open_regular(path);
	if (fd < 0)
		return -1;
	int res = -1;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		const void *id = NULL;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		res = 0;
		if (n > 0 && n <= 64) {
			char hex[130];
			hex_of(id, (size_t)n, hex);
			res = strcasecmp(hex, want) == 0;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return res;
}

static int report(symbols_t *s, const ag_module_t *m, const char *file)
{
	int fd = open_regular(file);
	if (fd < 0)
		return errno;
	/* dwfl owns fd from here, whether or not it accepts the module */
	Dwfl_Module *mod = dwfl_report_elf(s->dwfl[s->mods[m - s->log->modules].layer], m->path,
					   file, fd, m->bias, true);
	return mod ? 0 : EINVAL;
}

static void say_once(symbols_t *s, size_t i)
{
	mod_state_t *st = &s->mods[i];
	if (st->usable || st->said || !st->why || !s->err)
		return;
	st->said = 1;
	if (strcmp(st->why, "no file") == 0)
		return;
	fprintf(s->err, "allocguard: %s: %s; its frames are shown as module+offset\n",
		s->log->modules[i].path, st->why);
}

static void report_module(symbols_t *s, size_t i)
{
	const ag_module_t *m = &s->log->modules[i];
	mod_state_t *st = &s->mods[i];
	if (!m->path[0] || m->path[0] == '[' || strncmp(m->path, "linux-vdso", 10) == 0 ||
	    strncmp(m->path, "linux-gate", 10) == 0) {
		st->why = "no file";
		return;   /* the vDSO: nothing on disk, nothing to say */
	}
	int exists = access(m->path, F_OK) == 0;
	int match = !exists ? -1 : m->build_id ? build_id_matches(m->path, m->build_id) : 1;
	if (match == 1 && report(s, m, m->path) == 0) {
		st->usable = 1;
		return;
	}
	if (m->build_id && strlen(m->build_id) > 2) {
		char dbg[300];
		snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", m->build_id,
			 m->build_id + 2);
		if (build_id_matches(dbg, m->build_id) == 1 && report(s, m, dbg) == 0) {
			st->usable = 1;
			return;
		}
	}
	if (match == -1) {
		st->why = exists ? "cannot be read as ELF" : "no longer exists";
	} else if (match == 0) {
		st->why = "the file's build-id differs from the one recorded (rebuilt since the run?)";
	} else {
		st->why = "cannot be placed at its recorded address";
	}
}

static int jit_cmp(const void *a, const void *b)
{
	const jit_sym_t *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int parse_hex_tok(const char **p, uint64_t *v)
{
	const char *s = *p;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t x = 0;
	int n = 0;
	for (;; s++, n++) {
		int h = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
			: (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;
		if (h < 0)
			break;
		if (n >= 16)
			return EINVAL;
		x = x << 4 | (uint64_t)h;
	}
	if (!n || *s != ' ')
		return EINVAL;
	*p = s + 1;
	*v = x;
	return 0;
}

/* Load "START SIZE name" lines; malformed lines are skipped (node may be mid-write). */
static void jit_load(symbols_t *s, const char *path)
{
	int fd = open_regular(path);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *line = malloc(JIT_MAX_LINE);
	size_t cap = s->njit;
	while (line && fgets(line, JIT_MAX_LINE, f) && s->njit < JIT_MAX_ENTRIES) {
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		const char *p = line;
		uint64_t start, size;
		if (parse_hex_tok(&p, &start) || parse_hex_tok(&p, &size) || !*p || !size ||
		    start + size < start)
			continue;
		if (s->njit == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			jit_sym_t *nj = realloc(s->jit, nc * sizeof *nj);
			if (!nj)
				break;
			s->jit = nj;
			cap = nc;
		}
		char *name = strdup(p);
		if (!name)
			break;
		s->jit[s->njit] = (jit_sym_t){ start, start + size, s->njit, name };
		s->njit++;
	}
	free(line);
	fclose(f);
	if (!s->jit_path)
		s->jit_path = strdup(path);
}

static const jit_sym_t *jit_find(const symbols_t *s, uint64_t addr)
{
	size_t lo = 0, hi = s->njit;
	while (lo < hi) {   /* first entry with start > addr */
		size_t mid = lo + (hi - lo) / 2;
		if (s->jit[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const jit_sym_t *best = NULL;
	for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++) {
		const jit_sym_t *j = &s->jit[i];
		if (addr < j->end && (!best || j->order > best->order))
			best = j;
	}
	return best;
}

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
	elf_version(EV_CURRENT);
	/* modules are sorted by lo: a layer is free for one when its last module ended */
	uint64_t layer_end[MAX_LAYERS] = { 0 };
	for (size_t i = 0; i < log->nmodules; i++) {
		int k = 0;
		while (k < MAX_LAYERS && s->dwfl[k] && layer_end[k] > log->modules[i].lo)
			k++;
		if (k == MAX_LAYERS) {
			s->mods[i].why = "overlaps too many other modules";
			continue;
		}
		if (!s->dwfl[k]) {
			if (!(s->dwfl[k] = dwfl_begin(&offline_callbacks))) {
				s->mods[i].why = "no memory for its symbols";
				continue;
			}
			dwfl_report_begin(s->dwfl[k]);
		}
		s->mods[i].layer = k;
		layer_end[k] = log->modules[i].hi;
		report_module(s, i);
	}
	for (int k = 0; k < MAX_LAYERS && s->dwfl[k]; k++)
		dwfl_report_end(s->dwfl[k], NULL, NULL);
	for (size_t i = 0; i < log->njitmaps; i++)
		jit_load(s, log->jitmaps[i]);
	if (!log->njitmaps && log->have_proc) {
		char p[64];
		snprintf(p, sizeof p, "/tmp/perf-%" PRIu64 ".map", log->pid);
		jit_load(s, p);
	}
	if (s->njit)
		qsort(s->jit, s->njit, sizeof *s->jit, jit_cmp);
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

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

/* C++ names read as written (operator new(unsigned long)), through libstdc++'s demangler
 * when the library is present; the mangled name otherwise.  Caller frees. */
static char *demangled(const char *name)
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

static void set_source(ag_frame_t *f, const char *src, int line)
{
	if (!src || !*src || line <= 0)
		return;
	f->path = strdup(src);
	f->file = f->path ? base_name(f->path) : NULL;
	f->line = f->path ? line : 0;
}

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
		return demangled(n);
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
	set_source(f, dwarf_filesrc(files, file, NULL, NULL), (int)line);
}

/* f holds the symbol's function and the innermost source line.  When the address lies in
 * inlined code, f becomes the innermost inlined function and gets one outer frame per
 * level, each at its call site, the last one being the symbol's function.  On any DWARF
 * failure f stays as it is: one frame is still right, only less detailed. */
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

static void cu_index_free(symbols_t *s)
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

static void expand_inlined(symbols_t *s, Dwfl_Module *mod, uint64_t addr, ag_frame_t *f)
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

/* V8's perf-map names: "<Kind>:<tier><name> <script>:<line>[:<column>]", e.g.
 * "LazyCompile:~handler /app/x.js:12:3" (node <= 18) or "JS:*handler file:///x.js:3:10"
 * (node 20; the tier is ~ interpreted, ^ baseline, + maglev, * optimized).  A JS function
 * gets its name (the same in every tier, "(anonymous)" when empty) and its script and
 * line; anything else (Builtin:, Stub:, a name without a script) stays as written. */
static void jit_name(const char *raw, ag_frame_t *f)
{
	const char *colon = strchr(raw, ':'), *sp = strrchr(raw, ' ');
	if (!colon || !sp || sp < colon || colon == raw)
		goto as_is;
	for (const char *k = raw; k < colon; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z')))
			goto as_is;
	/* script:line[:column] at the end: take the trailing numbers off from the right */
	const char *script = sp + 1, *end = script + strlen(script);
	long nums[2];
	int nn = 0;
	while (nn < 2) {
		const char *d = end;
		while (d > script && d[-1] >= '0' && d[-1] <= '9')
			d--;
		if (d == end || d == script || d[-1] != ':' || end - d > 9)
			break;
		nums[nn++] = strtol(d, NULL, 10);
		end = d - 1;
	}
	if (!nn || end <= script)
		goto as_is;
	long line = nums[nn - 1];
	const char *name = colon + 1;
	if (*name == '~' || *name == '*' || *name == '^' || *name == '+')
		name++;
	size_t nlen = (size_t)(sp - name);
	f->function = nlen ? strndup(name, nlen) : strdup("(anonymous)");
	if (strncmp(script, "file://", 7) == 0)
		script += 7;
	if (line > 0 && end > script) {
		f->path = strndup(script, (size_t)(end - script));
		/* node's own modules are named by their id ("node:internal/buffer") */
		f->file = !f->path ? NULL : strncmp(f->path, "node:", 5) == 0 ? f->path
			: base_name(f->path);
		f->line = f->path ? (int)line : 0;
	}
	return;
as_is:
	f->function = strdup(raw);
}

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
static const char *symtab_name(symtab_t *t, Dwfl_Module *mod, uint64_t addr)
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

/* A JS function of node's heap profile (an F line), named as jit_name names perf-map
 * entries: function, script and the line it starts at. */
static int js_resolve(symbols_t *s, uint64_t addr, ag_frame_t *f)
{
	const ag_log_t *log = s->log;
	size_t lo = 0, hi = log->njsfuncs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (log->jsfuncs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == log->njsfuncs || log->jsfuncs[lo].addr != addr)
		return 0;
	const ag_jsfunc_t *j = &log->jsfuncs[lo];
	f->function = strdup(j->name[0] ? j->name : "(anonymous)");
	if (j->plain)
		return 1;
	f->jit = 1;
	f->module = "[JS heap]";
	const char *script = j->script;
	if (strncmp(script, "file://", 7) == 0)
		script += 7;
	if (*script) {
		f->path = strdup(script);
		f->file = !f->path ? NULL : strncmp(f->path, "node:", 5) == 0 ? f->path
			: base_name(f->path);
		f->line = (int)j->line;
	}
	return 1;
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
		say_once(s, mi);
		if (s->mods[mi].usable) {
			Dwfl_Module *mod = dwfl_addrmodule(s->dwfl[s->mods[mi].layer], addr);
			if (mod) {
				const char *name = symtab_name(&s->mods[mi].syms, mod, addr);
				if (name && *name)
					f->function = demangled(name);
				Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
				int lineno = 0;
				const char *src = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL)
						    : NULL;
				set_source(f, src, lineno);
				expand_inlined(s, mod, addr, f);
			}
		}
		return f;
	}
	const jit_sym_t *j = s->njit ? jit_find(s, addr) : NULL;
	if (j) {
		jit_name(j->name, f);
		f->module = s->jit_path;
		f->offset = addr - j->start;
		f->jit = 1;
	}
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
	for (int k = 0; k < MAX_LAYERS; k++)
		if (s->dwfl[k])
			dwfl_end(s->dwfl[k]);
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
	cu_index_free(s);
	free(s->mod_maxhi);
	while (s->chunks) {
		struct frame_chunk *c = s->chunks;
		s->chunks = c->next;
		free(c);
	}
	for (size_t i = 0; i < s->njit; i++)
		free(s->jit[i].name);
	free(s->jit);
	free(s->jit_path);
	for (size_t i = 0; s->mods && i < s->log->nmodules; i++)
		free(s->mods[i].syms.v);
	free(s->mods);
	free(s);
}

void frame_key(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->function && f->file)
		snprintf(buf, len, "%s|%s|%d", f->function, f->file, f->line);
	else if (f->function && (f->jit || !f->module))
		snprintf(buf, len, "%s|jit", f->function);
	else if (f->function)
		snprintf(buf, len, "%s|%s", f->function, base_name(f->module));
	else if (f->module)
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(f->module), f->offset);
	else if (f->function)
		snprintf(buf, len, "%s", f->function);   /* a name the model gave (jsheap.c) */
	else
		snprintf(buf, len, "0x%" PRIx64, f->address);
}

void frame_human(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->function && f->file)
		snprintf(buf, len, "%s (%s:%d)", f->function, f->file, f->line);
	else if (f->function && f->jit)
		snprintf(buf, len, "%s [JIT]", f->function);
	else if (f->function && f->module)
		snprintf(buf, len, "%s (%s+0x%" PRIx64 ")", f->function, base_name(f->module),
			 f->offset);
	else if (f->module)
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(f->module), f->offset);
	else if (f->function)
		snprintf(buf, len, "%s", f->function);   /* a name the model gave (jsheap.c) */
	else
		snprintf(buf, len, "0x%" PRIx64, f->address);
}
