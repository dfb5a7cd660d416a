/* sites.h: the site model every report, export and the plot read, and what they share
 * about writing sites (frames as JSON or as indented human lines, keys across runs, kind
 * names).
 *
 * A site is where the program allocated: the first frame of the program's own code after
 * folding (fold.h: function, file and line; the JS function for node), per kind (heap,
 * mmap, swap).  The distinct stacks that reach a site are its call paths.  A report fills
 * per-stack figures (site_fig_t, indexed like log->stacks) and sites_collect turns them
 * into one plain struct (site_set_t): sites largest first, each with its paths largest
 * first.  The JSON and the human views of a report read that same struct, so the first
 * row a person reads is the first entry a script reads.  Which figures a report fills
 * (live, at the peak, lost, deltas) is its own business. */
#ifndef ALLOCGUARD_SITES_H
#define ALLOCGUARD_SITES_H

#include "fold.h"
#include "json.h"
#include "model.h"
#include "symbols.h"
#include "table.h"

const char *site_kind_name(char kind);
/* One frame's fields (function, file, line, module, address, offset, path), inside an
 * object the caller opened. */
void site_json_frame_fields(json_t *j, const ag_frame_t *f);
/* "frames": [...] for stack st. */
void site_json_frames(json_t *j, symbols_t *sym, const ag_stack_t *st);
/* How the human views below show sites, as the command line asks: a stack's frames
 * (fold.h: --frames N, --all-frames) and how many call paths go under a row (--paths N; 0 =
 * SITES_DEFAULT_PATHS).  Passed to each view, kept by none. */
typedef struct {
	fold_opts_t fold;
	size_t paths;
} site_view_t;
#define SITES_DEFAULT_PATHS 3
#define SITE_VIEW_DEFAULT { FOLD_OPTS_DEFAULT, 0 }

/* The site's label (its first frame after folding, "via" the wrapper it called) into buf,
 * and its further frames as table_more lines. */
void site_label(symbols_t *sym, const site_view_t *view, const ag_stack_t *st, char *buf,
		size_t len);
/* The label led by "[mmap] " or "[swap] " when the site is not heap; the label itself is cut
 * to label_len - 1 characters (at most 599). */
void site_label_kind(symbols_t *sym, const site_view_t *view, const ag_stack_t *st, char *buf,
		     size_t len, size_t label_len);
void site_more(table_t *t, symbols_t *sym, const site_view_t *view, const ag_stack_t *st);
/* Key identifying the site across runs (kind + frame keys); caller frees. */
char *site_key(symbols_t *sym, const ag_stack_t *st);
/* A site's identity as 128 bits (two independent 64-bit hashes of its key: a collision
 * needs both to agree), so a million stacks are grouped without a million strings. */
typedef struct {
	uint64_t a, b;
} site_hash_t;
int site_hash_cmp(const site_hash_t *x, const site_hash_t *y);

/* ---- the site model ---- */

/* Figures of one stack, or summed over a path or a site.  calls: allocations made
 * (realloc included); temporary: of those, freed by the same thread before its next
 * allocation (heaptrack's definition); both 0 in logs that do not record them. */
typedef struct {
	uint64_t bytes, count, calls, temporary;
} site_fig_t;

typedef struct {
	uint32_t stack;              /* index into log->stacks */
	site_fig_t fig;
} site_path_t;

typedef struct {
	uint32_t id;                 /* the site's identity: index of the first stack of the log
				      * that reaches it (sites_of); stable across reports of a log */
	char kind;                   /* AG_KIND_* */
	uint32_t stack;              /* its largest path's stack: frames[] in JSON, the label */
	site_fig_t fig;              /* sums over its paths */
	site_path_t *paths;          /* largest first (by the set's order); into the set */
	size_t npaths;
	/* Requested sizes over its paths (sites_sizes; NULL before, or with none): buckets
	 * that are not empty, increasing; into the set. */
	const ag_sizebin_t *sizes;
	uint32_t nsizes;
} site_t;

typedef enum { SITES_BY_BYTES, SITES_BY_CALLS, SITES_BY_TEMPORARY } site_order_t;

typedef struct {
	site_t *sites;               /* by the order asked, largest first */
	size_t nsites;
	site_path_t *paths;          /* storage of every site's paths */
	size_t npaths;
	site_fig_t total;            /* sums over every site */
	ag_sizebin_t *size_bins;     /* storage of every site's sizes (sites_sizes) */
	int have_sizes;              /* sites_sizes ran on a log that records them */
} site_set_t;

/* For each stack index, the site it belongs to (the index of the first stack of that
 * site).  Computed once per log and symbols_t (remembered in symbols_memo); caller frees.
 * NULL on ENOMEM. */
uint32_t *sites_of(const ag_log_t *log, symbols_t *sym);
/* The site's identity of stack st as a hash, the same across runs (diff matches sites of
 * two logs by it): kind and the key of its first own frame. */
void site_identity(symbols_t *sym, const ag_stack_t *st, site_hash_t *h);
/* The same with the site frame's function in place of its line: the sites of one function
 * share it (growth weighs a site against its function's other sites). */
void site_function_identity(symbols_t *sym, const ag_stack_t *st, site_hash_t *h);
/* The sites of the stacks whose figures (fig[i] for log->stacks[i]) are not all zero,
 * each with its paths; sorted by order.  0 or ENOMEM (out then empty). */
int sites_collect(const ag_log_t *log, symbols_t *sym, const site_fig_t *fig,
		  site_order_t order, site_set_t *out);
/* Sort again (sites and each site's paths) by another figure; ties by bytes, then id. */
void sites_sort(site_set_t *set, site_order_t order);
void sites_free(site_set_t *set);
/* One figure of f by order. */
uint64_t site_fig_by(const site_fig_t *f, site_order_t order);

/* JSON of one site, inside an object the caller opened: "kind", "site" (the site frame),
 * "frames" (its largest path's), "stacks" (how many paths) and "paths" ([{"bytes",
 * "count", "frames"}...], at most max_paths, 0 = all). */
void site_json(json_t *j, const ag_log_t *log, symbols_t *sym, const site_t *s,
	       size_t max_paths);
/* The frame of the site (the first shown frame of stack st), as a JSON object value. */
void site_json_site(json_t *j, symbols_t *sym, const ag_stack_t *st);

/* Human rows: the label of each of sites[0..n) ("[mmap] " led when not heap), made
 * distinct: when two read the same, each is followed by what tells it apart.  labels is
 * n * len bytes. */
void sites_labels(const ag_log_t *log, symbols_t *sym, const site_view_t *view,
		  const site_t *const *sites, size_t n, char *labels, size_t len);
/* The lines under a site's row: for one path, its caller frames ("from main (a.c:9)");
 * for several, up to view->paths of those that hold some of the row's figure (order), each
 * led by that figure ("292.9 KiB from route_a (r.c:3) from main (r.c:9)"), and followed
 * by the frame that tells it apart from another path shown whose frames shown agree. */
void site_more_paths(table_t *t, const ag_log_t *log, symbols_t *sym, const site_view_t *view,
		     const site_t *s, site_order_t order);
/* The same for a report's own paths: the first view->paths of npaths, path k's stack and the
 * figure leading its line given by each(arg, k, &stack, buf, len); total is how many paths
 * the site has ("... and K more paths"). */
typedef void (*site_path_fn)(const void *arg, size_t k, uint32_t *stack, char *buf, size_t len);
void site_more_each(table_t *t, const ag_log_t *log, symbols_t *sym, const site_view_t *view,
		    size_t npaths, size_t total, site_path_fn each, const void *arg);
/* "\nTITLE:\n" and a table of the first top sites of set (in its order) whose figure by
 * order is not 0, each with view->paths of its paths beneath; nothing at all when there is
 * none (no empty heading).  Columns: BYTES BLOCKS, or CALLS TEMPORARY, or TEMPORARY CALLS,
 * then SITE. */
void sites_table(FILE *out, int color, const ag_log_t *log, symbols_t *sym,
		 const site_view_t *view, const site_set_t *set, size_t top, site_order_t order,
		 const char *title);

/* ---- sitesizes.c: requested sizes by site ---- */

/* Merge the histograms of each site's stacks (log_stack_sizes: over the whole run) into
 * the site.  Nothing when the log does not record them.  0 or ENOMEM. */
int sites_sizes(const ag_log_t *log, site_set_t *set);
/* "sizes": [{"min", "max", "count"}...] of the n buckets (a key and its value). */
void sizes_json(json_t *j, const ag_sizebin_t *bins, size_t n);
/* The same from a full histogram (count[k] for bucket k), empty buckets left out. */
void sizes_json_dense(json_t *j, const uint64_t count[AG_SIZE_BUCKETS]);
/* A short human summary of a histogram: "sizes: all 16-31 B", "sizes: mostly 4-8 KiB (62%),
 * 2-4 KiB (38%)"; "" when empty. */
void sizes_summary(const ag_sizebin_t *bins, size_t n, char *buf, size_t len);
/* "16-31 B", "4-8 KiB", "0 B": bucket k's range. */
void size_bucket_str(unsigned k, char *buf, size_t len);

#endif
