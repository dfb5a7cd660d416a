/* exports.h: the exports (export_pprof.c, export_massif.c, export_collapsed.c,
 * export_json.c), the plot (plot.c) and its page (page.c), each reading the model and writing one file format,
 * and what they share (export.c): the snapshot picked and the frames of an address.
 * Arguments, output files and exit codes are commands.c's. */
#ifndef ALLOCGUARD_EXPORTS_H
#define ALLOCGUARD_EXPORTS_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "symbols.h"

/* pprof sample types, in the order they are written (pprof's heap profile convention). */
#define EXPORT_SAMPLE_LIST(X) \
	X(ALLOC_OBJECTS, "alloc_objects", "count") X(ALLOC_SPACE, "alloc_space", "bytes") \
	X(INUSE_OBJECTS, "inuse_objects", "count") X(INUSE_SPACE, "inuse_space", "bytes")

typedef enum {
#define X(e, name, unit) EXPORT_##e,
	EXPORT_SAMPLE_LIST(X)
#undef X
	EXPORT_NSAMPLE
} export_sample_t;

const char *export_sample_name(export_sample_t s);
const char *export_sample_unit(export_sample_t s);
/* 0 and *out set, or EINVAL for an unknown name. */
int export_sample_parse(const char *name, export_sample_t *out);
/* A stack's value of one sample type in a replayed state. */
uint64_t export_sample_value(const ag_stackval_t *v, export_sample_t s);

/* Most frames one address expands to (the call and the calls inlined into it). */
#define EXPORT_MAX_INLINE 16

/* The frames of one recorded address, innermost (the most deeply inlined) first, into out;
 * returns how many (0 when it cannot be symbolized at all). */
size_t export_frames(symbols_t *sym, uint64_t addr, const ag_frame_t **out, size_t max);
/* A frame's name for flame graphs and trees: "fn", else "module+0xoff", else "0xaddr". */
void export_frame_name(const ag_frame_t *f, char *buf, size_t len);

/* The snapshot index of "N" (a sequence number), "peak" (the snapshot holding the most
 * tracked bytes: the closest recorded state to the peak) or NULL (the last).  0, or EINVAL
 * with msg filled. */
int export_pick_snapshot(const ag_log_t *log, const char *spec, size_t *snap, char *msg,
			 size_t msglen);
/* The log's peak of tracked bytes, as `report` shows it, and the index of the snapshot
 * holding the most tracked bytes (the first of equals). */
uint64_t export_peak(const ag_log_t *log, size_t *snap);

int export_pprof(const ag_log_t *log, symbols_t *sym, size_t snap, export_sample_t def,
		 FILE *out);
int export_massif(const ag_log_t *log, symbols_t *sym, FILE *out);
int export_collapsed(const ag_log_t *log, symbols_t *sym, size_t snap, export_sample_t s,
		     FILE *out);
int export_json(const ag_log_t *log, symbols_t *sym, FILE *out);

/* plot.c: tracked bytes over time with thresholds and events, and the top sites stacked. */
int plot_svg(const ag_log_t *log, symbols_t *sym, FILE *out);
/* s escaped for XML and HTML text and attributes (control bytes XML 1.0 forbids become
 * spaces). */
void plot_esc(FILE *out, const char *s);
/* Several logs of one process tree on one clock: their sum, and the processes stacked. */
int plot_tree_svg(ag_log_t *const *logs, size_t n, FILE *out);
/* page.c: one self-contained page to explore the run (flame graphs, sites and their call
 * paths, the tracked bytes with a chosen site's series, growth), one process at a time
 * when there are several, after the tree's plot. */
int plot_html(ag_log_t *const *logs, symbols_t *const *syms, size_t n, FILE *out);

#endif
