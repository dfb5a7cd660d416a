/* fold.h: which frames of a stack a human is shown.  Allocator and runtime frames (libc's
 * malloc family, operator new and the C++ library, pymalloc, V8/node internals and node's
 * own JS, libffi, thread and program entry) are folded away so a site reads as the first
 * frames of the program's own code; node JS functions are named as "handler (app.js:12)"
 * whatever their JIT tier, and keyed by function and script so one function is one site.
 * Symbolization is symbols.c's; what is shown per report is sites.c's. */
#ifndef ALLOCGUARD_FOLD_H
#define ALLOCGUARD_FOLD_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "symbols.h"

#define FOLD_DEFAULT_FRAMES 3
#define AG_FOLD_MAX_FRAMES 1024     /* frames of a stack looked at */

typedef struct {
	unsigned frames;   /* frames shown per site; 0 = FOLD_DEFAULT_FRAMES */
	int all;           /* fold nothing: every frame as recorded */
} fold_opts_t;

/* What the human views show without --frames or --all-frames. */
#define FOLD_OPTS_DEFAULT { 0, 0 }

/* Allocator or runtime machinery a user does not act on. */
int fold_is_runtime(const ag_frame_t *f);
/* The frame as shown: JS functions as "handler (app.js:12)", others as frame_human. */
void fold_frame_human(const ag_frame_t *f, char *buf, size_t len);
/* The frame's identity for merging: JS by function, script and line; else frame_key. */
void fold_frame_key(const ag_frame_t *f, char *buf, size_t len);
/* A stack's frames as the human views walk them: inlined calls expanded (symbols_next),
 * innermost first.  Frames in node's own binary, which holds only runtime, are not
 * resolved (that is most of the cost of a node stack): f is NULL, which is runtime. */
typedef struct {
	const ag_frame_t *f;
	uint64_t addr;
} fold_frame_t;
/* The stack's frames, inlined calls expanded, innermost first; returns how many. */
size_t fold_expand(symbols_t *sym, const ag_stack_t *st, fold_frame_t *out, size_t max);
/* With shown_max, expansion stops once the frames fold_shown(..., o, idx, shown_max) shows
 * are all in out: the frames past them are never resolved. */
size_t fold_expand_shown(symbols_t *sym, const ag_stack_t *st, fold_frame_t *out, size_t max,
			 const fold_opts_t *o, size_t shown_max);
/* Indexes (into fr) of the frames shown for the site, at most max (and at most o->frames):
 * the program's own frames in order; when every frame is runtime, the innermost ones as
 * recorded.  Returns how many. */
size_t fold_shown(const fold_frame_t *fr, size_t nfr, const fold_opts_t *o, uint32_t *idx,
		  size_t max);
/* The frame as shown (an unresolved node frame as "node+0xADDR"). */
void fold_shown_human(const fold_frame_t *x, char *buf, size_t len);
/* The innermost frame folded away before the first one shown, when it names an allocation
 * wrapper worth saying ("operator new", "strdup"); else NULL. */
const char *fold_via(const fold_frame_t *fr, size_t nfr, const fold_opts_t *o);
/* Key of the site as shown: kind and the shown frames' keys.  Caller frees; NULL on ENOMEM. */
char *fold_site_key(symbols_t *sym, const ag_stack_t *st, const fold_opts_t *o);

#endif
