/* symbols.h: offline symbolization of a log's addresses: function, file:line and module
 * from the ELF files named by its M lines (elfutils libdwfl), inlined calls as frames of
 * their own (libdw scopes), JS names from node's perf maps, module+offset otherwise.
 * Cached per address.  Owns nothing of the reports. */
#ifndef ALLOCGUARD_SYMBOLS_H
#define ALLOCGUARD_SYMBOLS_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"

typedef struct ag_frame {
	const char *function;    /* NULL when unknown */
	const char *file;        /* basename of the source file; NULL without debug info */
	const char *path;        /* the source file as DWARF names it; NULL without */
	int line;                /* 0 when unknown */
	unsigned char runtime;   /* fold.c's verdict, kept with the frame: 0 not known yet,
				  * 1 the program's own, 2 runtime */
	const char *module;      /* module (or JIT map) path; NULL when outside every module */
	uint64_t address;        /* as recorded */
	uint64_t offset;         /* address - bias: the ELF virtual address */
	int jit;                 /* named from a perf map */
	int inlined;             /* an inlined call: `outer` is the frame it was inlined into */
	const struct ag_frame *outer;  /* next frame outward at the same address; NULL for the
					* function actually running there */
} ag_frame_t;

typedef struct symbols symbols_t;

/* err receives the once-per-module notes ("allocguard: ..."); NULL for silence.
 * Returns NULL only on ENOMEM. */
symbols_t *symbols_open(const ag_log_t *log, FILE *err);
/* Never NULL (a frame with only address and module when nothing better is known), except
 * on ENOMEM. The frame lives as long as the symbols_t. */
const ag_frame_t *symbols_lookup(symbols_t *s, uint64_t addr);
void symbols_close(symbols_t *s);
/* The path of the module addr lies in, without resolving anything (cheap); NULL when it
 * is in none (JIT code). */
const char *symbols_module_of(symbols_t *s, uint64_t addr);

/* One slot where the reports keep what they derived from this symbols_t's names (the site
 * groups: sites.c), so a second report over the same log does not derive it again.  The
 * pointer is free()d by symbols_close. */
void **symbols_memo(symbols_t *s);

/* Walks a stack's frames with inlined calls expanded, innermost first:
 *   frame_iter_t it = { 0 };
 *   for (const ag_frame_t *f; (f = symbols_next(sym, st, &it)); ) ...
 * it.index is the index in st->frames of the address f came from. */
typedef struct {
	uint32_t index, next;
	const ag_frame_t *f;
} frame_iter_t;
const ag_frame_t *symbols_next(symbols_t *s, const ag_stack_t *st, frame_iter_t *it);

/* Identity of a frame independent of load addresses, for matching runs:
 * "function|file|line", or "module-basename+0xoffset". Writes into buf. */
void frame_key(const ag_frame_t *f, char *buf, size_t len);
/* Human form: "leak_records (leaks.c:19)", "leak_records (libx.so+0x1d6)", "libx.so+0x1d6". */
void frame_human(const ag_frame_t *f, char *buf, size_t len);

#endif
