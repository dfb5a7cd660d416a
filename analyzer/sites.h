/* sites.h: what the reports share about call sites: writing a stack's frames as JSON or
 * as indented human lines, its matching key across runs, and the kind names.  Computing
 * figures per site is each report's own business. */
#ifndef ALLOCGUARD_SITES_H
#define ALLOCGUARD_SITES_H

#include "fold.h"
#include "json.h"
#include "model.h"
#include "symbols.h"
#include "table.h"

/* How human views fold and how many frames they show (--frames N, --all-frames); set
 * once by the command line before any report runs. */
void sites_set_fold(const fold_opts_t *o);
const fold_opts_t *sites_fold(void);

const char *site_kind_name(char kind);
/* One frame's fields (function, file, line, module, address, offset, path), inside an
 * object the caller opened. */
void site_json_frame_fields(json_t *j, const ag_frame_t *f);
/* "frames": [...] for stack st. */
void site_json_frames(json_t *j, symbols_t *sym, const ag_stack_t *st);
/* The site's label (its first frame after folding, "via" the wrapper it called) into buf,
 * and its further frames as table_more lines. */
void site_label(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len);
/* The label led by "[mmap] " or "[swap] " when the site is not heap; the label itself is cut
 * to label_len - 1 characters (at most 599). */
void site_label_kind(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len,
		     size_t label_len);
void site_more(table_t *t, symbols_t *sym, const ag_stack_t *st);
/* Key identifying the site across runs (kind + frame keys); caller frees. */
char *site_key(symbols_t *sym, const ag_stack_t *st);
/* The same identity as site_key, as 128 bits, so a million sites are matched in a hash
 * table without a million strings (two independent 64-bit hashes of the key: a collision
 * needs both to agree).  by_function keys each frame by its function name alone (where it
 * has one): the stacks of one call chain through different lines share it. */
typedef struct {
	uint64_t a, b;
} site_hash_t;
void site_hash(symbols_t *sym, const ag_stack_t *st, int by_function, site_hash_t *h);
int site_hash_cmp(const site_hash_t *x, const site_hash_t *y);

/* A group of stacks shown as one site (same call chain, different lines): the label and
 * caller lines of its representative rep, each naming every distinct file:line the
 * group's stacks hold at that shown frame ("fill (pool.c:12, 15)"). */
void site_group_label(symbols_t *sym, const ag_stack_t *rep, const ag_stack_t *const *all,
		      size_t n, char *buf, size_t len);
void site_group_more(table_t *t, symbols_t *sym, const ag_stack_t *rep,
		     const ag_stack_t *const *all, size_t n);

/* Human views merge the stacks that fold to the same shown frames: for each stack index,
 * the index of the first stack of its group (itself when it leads one).  Caller frees;
 * NULL on ENOMEM. */
uint32_t *site_groups(const ag_log_t *log, symbols_t *sym);
/* Merge, in the model, the stacks of each group into its first stack (figures summed, per
 * snapshot), so every report's human view shows one row per site as shown.  JSON output
 * reads the unmerged model.  0, or ENOMEM (the model may then be half merged: drop it). */
int sites_merge(ag_log_t *log, symbols_t *sym);

#endif
