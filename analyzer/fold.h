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

/* Allocator or runtime machinery a user does not act on. */
int fold_is_runtime(const ag_frame_t *f);
/* A node JS function (from the perf map): its name without tier marks ("(anonymous)" when
 * it has none), its script and the line it starts at (0 when unknown).  0 when f is not JS. */
int fold_js(const ag_frame_t *f, char *name, size_t nlen, char *script, size_t slen, int *line);
/* The frame as shown: JS functions as "handler (app.js:12)", others as frame_human. */
void fold_frame_human(const ag_frame_t *f, char *buf, size_t len);
/* The frame's identity for merging: JS by function, script and line; else frame_key. */
void fold_frame_key(const ag_frame_t *f, char *buf, size_t len);
/* Indexes (into st->frames) of the frames shown for the site, at most max (and at most
 * o->frames): the program's own frames in order; when every frame is runtime, the
 * innermost ones as recorded.  Returns how many. */
size_t fold_frames(symbols_t *sym, const ag_stack_t *st, const fold_opts_t *o, uint32_t *idx,
		   size_t max);
/* The same on frames already looked up (NULL = unknown), innermost first. */
size_t fold_pick(const ag_frame_t *const *frames, uint32_t nframes, const fold_opts_t *o,
		 uint32_t *idx, size_t max);
/* The innermost frame folded away before the first one shown, when it names an allocation
 * wrapper worth saying ("operator new", "strdup"); else NULL. */
const char *fold_via(symbols_t *sym, const ag_stack_t *st, const fold_opts_t *o);
/* Key of the site as shown: kind and the shown frames' keys.  Caller frees; NULL on ENOMEM. */
char *fold_site_key(symbols_t *sym, const ag_stack_t *st, const fold_opts_t *o);

#endif
