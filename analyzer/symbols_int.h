/* symbols_int.h: inside the symbolizer (symbols*.c), not for the reports: the state one
 * symbols_t holds and the pieces it is made of.  symbols.c places addresses in modules and
 * caches what they resolve to; symbols_dwfl.c reports the modules to libdwfl and names an
 * address from them, with symbols_symtab.c's sorted symbol tables and symbols_inline.c's
 * inlined calls; symbols_jit.c names JIT code (node's perf maps and heap profile);
 * symbols_frame.c owns the frames' memory and how a frame reads. */
#ifndef ALLOCGUARD_SYMBOLS_INT_H
#define ALLOCGUARD_SYMBOLS_INT_H

#include "symbols.h"

#include <elfutils/libdwfl.h>

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

/* ---- symbols_frame.c ---- */
/* A zeroed frame carved from s's chunks; NULL on ENOMEM. */
ag_frame_t *frame_new(symbols_t *s);
/* The chunks every frame of s was carved from (their names are the cache's to free). */
void frame_chunks_free(symbols_t *s);
const char *frame_base_name(const char *p);
/* C++ names read as written (operator new(unsigned long)), through libstdc++'s demangler
 * when the library is present; the mangled name otherwise.  Caller frees. */
char *frame_demangled(const char *name);
/* f's source file and line, when src names one. */
void frame_set_source(ag_frame_t *f, const char *src, int line);

/* ---- symbols_dwfl.c ---- */
/* Open path only when it is a regular file: a log may name a FIFO or a device, and
 * opening those could block or read forever.  -1 with errno set. */
int sym_open_regular(const char *path);
/* Report every module of the log to a layer's Dwfl (checking build-ids), or note why not. */
void modules_report(symbols_t *s);
/* Name addr from module mi (function, source, inlined calls into f); says once per
 * module why it cannot. */
void module_resolve(symbols_t *s, size_t mi, uint64_t addr, ag_frame_t *f);
void modules_free(symbols_t *s);

/* ---- symbols_symtab.c ---- */
/* The name dwfl_module_addrname gives addr, from t (built on the first call). */
const char *symtab_name(symtab_t *t, Dwfl_Module *mod, uint64_t addr);

/* ---- symbols_inline.c ---- */
/* f holds the symbol's function and the innermost source line.  When the address lies in
 * inlined code, f becomes the innermost inlined function and gets one outer frame per
 * level, each at its call site, the last one being the symbol's function.  On any DWARF
 * failure f stays as it is: one frame is still right, only less detailed. */
void inline_expand(symbols_t *s, Dwfl_Module *mod, uint64_t addr, ag_frame_t *f);
void inline_free(symbols_t *s);

/* ---- symbols_jit.c ---- */
/* Load the log's JIT maps (or the process's default perf map). */
void jit_open(symbols_t *s);
/* Name addr from node's heap profile (an F line): 1 when it is one of its functions. */
int js_resolve(symbols_t *s, uint64_t addr, ag_frame_t *f);
/* Name addr from the perf maps, when one holds it. */
void jit_resolve(symbols_t *s, uint64_t addr, ag_frame_t *f);
void jit_free(symbols_t *s);

#endif
