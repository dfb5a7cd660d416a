/* reports.h: the reports (leaks.c, growth.c, diff.c, report.c).  Each collects what it
 * shows from the model into a plain struct (X_collect, freed by X_free), which the exports,
 * the plot and run's summary read too; X_print writes that struct as JSON or as text for
 * people.  Arguments, loading logs and exit codes are commands.c's. */
#ifndef ALLOCGUARD_REPORTS_H
#define ALLOCGUARD_REPORTS_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "sites.h"
#include "symbols.h"

#define REPORT_DEFAULT_TOP 10

typedef struct {
	int json;
	size_t top;       /* sites shown; 0 = default (10 for humans, all in JSON) */
	int color;
	int lost_only;    /* leaks: only the lost sites */
	struct supp *supp;   /* leaks: suppressions (suppress.h), NULL for none */
	int print_supp;      /* leaks: a ready suppression entry per lost site */
	site_view_t view;    /* how the human views show sites (--frames, --all-frames, --paths) */
} report_opts_t;

/* ---- leaks.c ---- */
typedef struct {
	uint32_t stack;
	uint64_t bytes, count;
	int reachable;
	int indirect;                /* lost only through other lost blocks (memcheck's kind) */
	int suppressed;              /* lost, but a suppression rule took it out of the verdict */
} leak_site_t;

typedef enum { LEAK_LOST, LEAK_INDIRECT, LEAK_REACHABLE } leak_status_t;

typedef struct {
	const site_t *site;
	leak_status_t status;
} leak_row_t;

typedef struct {
	size_t snap;                 /* the snapshot read */
	int at_exit;                 /* it is an exit snapshot */
	int known;                   /* reachability was decided (exit snapshot) */
	int unchecked;               /* the leak check was off (O leak_check no): never decided */
	uint64_t lost_bytes, lost_count, reach_bytes, reach_count;
	uint64_t indirect_bytes, indirect_count;   /* part of lost */
	uint64_t supp_bytes, supp_count;           /* lost but suppressed: not in lost */
	leak_site_t *sites;          /* per stack, sorted by bytes, largest first */
	size_t nsites;
	/* By site (leaks_group): lost directly, lost indirectly, still reachable; and rows
	 * over the three, largest first (JSON's order; leaks_print sorts them for people). */
	site_set_t set[3];
	leak_row_t *rows;
	size_t nrows;
} leaks_t;

/* The per-stack figures (no symbols needed: totals and run's judgement). */
int leaks_collect(const ag_log_t *log, leaks_t *out);
/* Take the lost stacks a rule of s matches out of lost (into supp_*), counting them on the
 * rule when count.  Before leaks_group, which leaves the suppressed ones out. */
void leaks_suppress(const ag_log_t *log, symbols_t *sym, struct supp *s, leaks_t *l, int count);
/* The same by site, into out->set and out->rows. */
int leaks_group(const ag_log_t *log, symbols_t *sym, leaks_t *out);
void leaks_free(leaks_t *l);
int leaks_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out,
		uint64_t *lost_bytes);

/* ---- growth.c ---- */
typedef enum { VERDICT_GROWING, VERDICT_PLATEAU, VERDICT_FLAT, VERDICT_SHRINKING } verdict_t;

const char *verdict_name(verdict_t v);
/* The trend of one series (t in seconds, ascending; y in bytes): its verdict and the slope
 * in bytes/s shown with it (growing: the rate it grows at now; plateau: the level's ~0). */
verdict_t growth_verdict(const double *t, const double *y, size_t n, double *slope);

/* One series judged: a site's (the sum of its paths) or one path's (its stack). */
typedef struct {
	uint32_t stack;              /* the path's stack; for a site, its biggest path's */
	verdict_t verdict;
	double slope;                /* bytes/s, as growth_verdict */
	uint64_t first, last, peak;  /* live bytes (saturated, never wrapped) */
} growth_trend_t;

typedef struct {
	uint32_t id;                 /* the site (sites.h) */
	uint32_t stack;              /* its biggest path's stack: its frames stand for it */
	uint32_t *stacks;            /* every path's stack, biggest first */
	size_t nstacks;
	verdict_t verdict;           /* the site's own series */
	double slope;
	uint64_t first, last, peak;
	/* Sites of several paths: each path judged on its own, steepest first. */
	growth_trend_t *paths;
	size_t npaths;
	/* The steepest growing path of a site that is not itself growing, else NULL: it ranks
	 * the site and is reported under it. */
	const growth_trend_t *hidden;
	/* The site grew (or shrank) as other sites of its function shrank (or grew) by about
	 * as much: memory moved between lines (a pool refilled at another line).  verdict and
	 * slope are then the function's sum's. */
	int moved;
} growth_site_t;

typedef struct {
	size_t snaps;                /* snapshots the verdicts read */
	size_t teardown;             /* interval snapshots left out as the program's exit */
	int exit_left_out;           /* the exit snapshot was left out */
	double duration_s;           /* from the first snapshot read to the last */
	growth_site_t *sites;        /* steepest first (a hidden growing path's slope counts) */
	size_t nsites;
} growth_t;

int growth_collect(const ag_log_t *log, symbols_t *sym, growth_t *out);
void growth_free(growth_t *g);
int growth_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out);

/* ---- diff.c ---- */
/* Parse "LOG[@N|@LABEL]" into a path and what follows the '@' (NULL = the last snapshot;
 * log_snap_by_name resolves it); the caller frees both.  A path that exists as given is
 * taken whole, '@' and all. */
int diff_parse_spec(const char *spec, char **path, char **which);

typedef struct {
	const ag_log_t *log;
	size_t snap;                 /* index of the snapshot read */
	symbols_t *sym;
} diff_side_t;

/* One stack's live figures on one side, keyed by its site (sites.h's site_identity). */
typedef struct {
	site_hash_t h;
	uint64_t bytes, count;
	uint32_t stack;
} diff_path_t;

typedef struct {
	int64_t dbytes, dcount;      /* b - a, saturated */
	uint64_t a_bytes, b_bytes;
	const ag_log_t *log;         /* where the frames come from (b's when in both) */
	symbols_t *sym;
	uint32_t stack;              /* that side's largest path */
	const diff_path_t *paths;    /* that side's paths of the site, largest first */
	size_t npaths;
} diff_site_t;

typedef struct {
	diff_side_t a, b;
	int64_t delta_bytes, delta_count;    /* over every changed site */
	int sampled;                 /* either log is sampled: figures are estimates */
	diff_site_t *sites;          /* changed sites, largest change first */
	size_t nsites;
	diff_path_t *pa, *pb;        /* each side's paths, by site */
} diff_t;

int diff_collect(const ag_log_t *a, size_t snap_a, symbols_t *sa, const ag_log_t *b,
		 size_t snap_b, symbols_t *sb, diff_t *out);
void diff_free(diff_t *d);
int diff_print(const ag_log_t *a, size_t snap_a, symbols_t *sa, const ag_log_t *b,
	       size_t snap_b, symbols_t *sb, const report_opts_t *o, FILE *out);

/* ---- report.c ---- */
typedef struct {
	uint64_t bytes, heap, mapped, swapped;
	int split;                   /* heap/mapped/swapped split the peak (K line); else each
					kind's own highest */
} report_peak_t;

typedef struct {
	uint64_t bytes, heap, mapped, swapped;
	const char *reason;          /* the last snapshot's (points into the log) */
} report_final_t;

typedef struct {
	uint64_t bytes;              /* 0 = no cap */
	uint64_t warn_pct, critical_pct;
	const char *on_cap;          /* NULL when the log does not name it */
} report_cap_t;

/* Requested sizes in power-of-two buckets: bucket k holds sizes in [2^(k-1), 2^k - 1]
 * (bucket 0: size 0). */
typedef struct {
	uint64_t count[AG_SIZE_BUCKETS];
	int known;                   /* the log records them */
} report_sizes_t;

/* The process summary.  Events and swapped files point into the log they came from. */
typedef struct {
	char *command;               /* report_command */
	size_t snapshots;
	double duration_s;           /* to the last snapshot */
	report_peak_t peak;
	int peak_by_site;            /* the log records sites at the peak (K/T lines) */
	report_final_t final;
	report_cap_t cap;
	const ag_event_t *events;
	size_t nevents;
	const ag_swapfile_t *swaps;
	size_t nswaps;
	int sampled;                 /* per-site figures are estimates */
	site_set_t peak_sites;       /* live at the peak, largest first */
	site_set_t sites;            /* live at the last snapshot (and allocation figures),
					largest first; sites that hold nothing come last */
	site_fig_t heap_allocs;      /* calls and temporary allocations of the malloc family */
	int allocs_known;            /* the log records temporary allocations */
	report_sizes_t sizes;
} report_t;

report_peak_t report_peak(const ag_log_t *log);
/* sym NULL: the figures only, without the site lists (no symbolization needed). */
int report_collect(const ag_log_t *log, symbols_t *sym, report_t *out);
void report_free(report_t *r);
int report_print(const ag_log_t *log, symbols_t *sym, const report_opts_t *o, FILE *out);
/* The argv joined with spaces (the exe when there is none); caller frees. */
char *report_command(const ag_log_t *log);

#endif
