/* model.h: the analyzer's in-memory model of one snapshot log (see preload/logfmt.h), and
 * the replay of its delta-encoded snapshots into per-stack state.  Parsing lives in
 * logread*.c; symbolization and the reports read this model and never the file. */
#ifndef ALLOCGUARD_MODEL_H
#define ALLOCGUARD_MODEL_H

#include "htab.h"
#include "logfmt.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bounds that keep any input linear in time and memory. */
#define AG_MAX_LINE (4u << 20)      /* a longer line is damage */

typedef struct {
	uint64_t bias, lo, hi;
	char *build_id;             /* hex, NULL when "-" */
	char *path;
	uint64_t gone_from;         /* unloaded before this stack id (U line); 0 = never */
} ag_module_t;

/* A JS function of node's heap profile (F line), or a name jsheap.c gives the model
 * (plain: a named frame that is not JS, such as "V8 heap (unattributed)"). */
typedef struct {
	uint64_t addr;
	uint32_t line, col;
	char *name, *script;        /* "" when none */
	int plain;
} ag_jsfunc_t;

typedef struct {
	uint64_t id;
	char kind;                  /* AG_KIND_* */
	uint32_t nframes;
	uint64_t *frames;           /* innermost first */
} ag_stack_t;

typedef struct {
	uint64_t t_ns;
	int kind;                   /* ag_cap_event_t */
	uint64_t bytes;             /* tracked at the event (a refusal: before the request) */
	uint64_t request;           /* the request (0 in version 1 logs) */
	uint64_t stack_id;          /* a refused request's stack id; 0 none */
	int have_stack;             /* stack_id names a stack of the log: stack is its index */
	uint32_t stack;
} ag_event_t;

typedef struct {
	uint64_t t_ns, bytes;
	char *mode, *path;
} ag_swapfile_t;

typedef struct {
	uint32_t stack;             /* index into log->stacks */
	uint64_t live_bytes, live_count, total_bytes, total_count;
	uint64_t temp_count;        /* 0 in version 1 logs */
} ag_lrec_t;

typedef struct {
	uint32_t stack;
	uint64_t lost_bytes, lost_count;
	uint64_t indirect_bytes, indirect_count;   /* part of lost; 0 in logs before they existed */
} ag_rrec_t;

/* A T line: what a stack had live at the peak (see the K line). */
typedef struct {
	uint32_t stack;
	uint64_t bytes, count;
} ag_trec_t;

/* Requested sizes (H lines): one bucket of logfmt.h's, and a histogram as a list of the
 * buckets that are not empty, in increasing order. */
typedef struct {
	uint64_t count;
	unsigned bucket;
} ag_sizebin_t;

typedef struct {
	uint64_t seq;               /* the snapshot whose H line it is */
	ag_sizebin_t *bins;
	uint32_t nbins;
} ag_sizehist_t;

typedef struct {
	uint64_t seq, t_ns;
	char reason[16];
	int why;                    /* the reason as an ag_reason_t */
	char label[AG_LABEL_MAX + 1];   /* the program's label (reason "label"), else "" */
	uint64_t tracked, heap, mapped, swapped, peak_tracked, peak_heap, peak_mapped;
	/* The K line: the peak and its split by kind at that moment; have_peak = 0 in logs
	 * written before K/T lines existed. */
	int have_peak;
	uint64_t at_peak_tracked, at_peak_heap, at_peak_mapped, at_peak_swapped;
	/* The Z line: requested sizes so far (sizes[k] per ag_size_bucket); have_sizes = 0
	 * without one. */
	int have_sizes;
	uint64_t sizes[AG_SIZE_BUCKETS];
	size_t nl, nr, nt;
	ag_lrec_t *l;
	ag_rrec_t *r;
	ag_trec_t *t;
} ag_snap_t;

typedef struct {
	char *name, *value;
} ag_option_t;

typedef struct {
	char *path;                 /* as given by the user, for messages */
	unsigned version;
	int have_proc;
	uint64_t pid, ppid, start_ns;
	char *exe;
	char **argv;
	size_t argc;
	ag_option_t *opts;
	size_t nopts;
	ag_module_t *modules;
	size_t nmodules;
	ag_stack_t *stacks;
	size_t nstacks;
	char **jitmaps;
	size_t njitmaps;
	ag_jsfunc_t *jsfuncs;       /* sorted by addr once read (logread.c) */
	size_t njsfuncs, cap_jsfuncs;
	ag_event_t *events;
	size_t nevents;
	ag_swapfile_t *swaps;
	size_t nswaps;
	ag_snap_t *snaps;
	size_t nsnaps;
	/* The X line before the exit snapshot: has_verdict = 0 in logs without one (judged).
	 * threads_why: the not-stopped threads by reason, as written ("syscall=2 ...");
	 * scanner: the child process that ran the scan, 0 when the program's own did. */
	int has_verdict, verdict;   /* AG_VERDICT_* */
	uint64_t threads_stopped, threads_not_stopped, scanner;
	char threads_why[96];
	/* H lines (logread_sizes.c), by stack index: a stack's last histogram and the one
	 * before it (the last may be of a snapshot cut short); log_stack_sizes reads them. */
	ag_sizehist_t (*stack_sizes)[2];
	size_t cap_stack_sizes;
	/* stack id -> index; internal to the reader (logread_index.c) */
	htab_t idx;
	/* ... and, for ids up to a few times the stack count (the writer numbers them 1, 2, 3,
	 * ...), a flat table: one load per L line instead of a hash probe */
	uint32_t *idx_dense;
	size_t dense_cap;
	/* The first damage met: reading stopped there.  line 0 = none. */
	size_t damage_line;
	char damage[256];
	/* Snapshots whose E figures disagreed and were raised to agree (logread_snap.c); the first
	 * one's seq and what disagreed there.  Not damage: every snapshot is kept. */
	size_t nclamped;
	uint64_t clamped_seq;
	char clamped[80];
} ag_log_t;

/* Per-stack state after replaying snapshots up to and including one. */
typedef struct {
	uint64_t live_bytes, live_count, total_bytes, total_count;
	uint64_t temp_count;                 /* of total_count, freed before the thread's next */
	uint64_t lost_bytes, lost_count;     /* only for exit snapshots (R lines) */
	uint64_t peak_bytes, peak_count;     /* live at the peak (T lines) */
	uint64_t indirect_bytes, indirect_count;   /* the part of lost that is indirect */
} ag_stackval_t;

/* Parse a log held in memory.  Returns 0 with *out filled (possibly with damage noted in
 * out->damage_line/damage) when at least one snapshot is usable; EINVAL with msg filled
 * ("FILE:LINE: what is wrong") when nothing is usable; ENOMEM. */
int log_parse(const char *name, const char *buf, size_t len, ag_log_t **out,
	      char *msg, size_t msglen);
/* Read and parse a file; errors as log_parse (an unreadable file gives its errno and msg). */
int log_load(const char *path, ag_log_t **out, char *msg, size_t msglen);
void log_free(ag_log_t *log);

/* Value of "O name", or NULL. */
const char *log_option(const ag_log_t *log, const char *name);
uint64_t log_option_u64(const ag_log_t *log, const char *name, uint64_t def);
/* A numeric setting as the log's O line gives it, else its default in options.def. */
uint64_t log_setting(const ag_log_t *log, const char *name);
/* Sampling on: L/R figures are estimates. */
int log_sampled(const ag_log_t *log);
/* Index of the snapshot to read leaks from: the last "exit" one, else the last. */
/* Whether the exit scan judged (no X line, or X judged): lost and reachable are known. */
int log_judged(const ag_log_t *log);
size_t log_final_snap(const ag_log_t *log, int *is_exit);
/* Index of the snapshot with sequence number seq, or (size_t)-1. */
size_t log_snap_by_seq(const ag_log_t *log, uint64_t seq);
/* The last snapshot the program labeled `label` (allocguard_snapshot), or (size_t)-1. */
size_t log_snap_by_label(const ag_log_t *log, const char *label);
/* A snapshot by what follows LOG@: digits are a sequence number, anything else a label;
 * NULL is the last snapshot.  (size_t)-1 when there is none. */
size_t log_snap_by_name(const ag_log_t *log, const char *which);

/* Replay: state must hold log->nstacks entries, zeroed before snapshot 0.  Applying
 * snapshots 0..k in order yields the state at k. */
void log_apply(const ag_log_t *log, size_t snap, ag_stackval_t *state);
/* Allocate the state at snapshot k (caller frees). NULL on ENOMEM. */
ag_stackval_t *log_state_at(const ag_log_t *log, size_t snap);

/* logread_sizes.c: the H line whose fields (f[i], n[i] bytes, count of them; f[0] is "H")
 * belong to the open snapshot open_seq (-1: none is open): 0, EINVAL with why filled
 * (damage), or ENOMEM. */
int logread_sizes(ag_log_t *log, const char *const *f, const size_t *n, size_t count,
		  int64_t open_seq, char *why, size_t whylen);
void logread_sizes_free(ag_log_t *log);
/* Whether the log records sizes per stack (version 4 on). */
int log_has_stack_sizes(const ag_log_t *log);
/* The requested sizes of stack (an index) over the run, as of the log's last complete
 * snapshot; NULL when it has none (no allocation call, not a heap stack, an older log). */
const ag_sizehist_t *log_stack_sizes(const ag_log_t *log, uint32_t stack);

/* Print the damage warning, if any, as one "allocguard: FILE:LINE: ..." line, and the note
 * on disagreeing figures, if any, as one "allocguard: FILE: ..." line. */
void log_warn_damage(const ag_log_t *log, FILE *err);

/* Sums of sizes saturate: crafted or huge figures must never wrap to a small one. */
/* Grow the array *arr of *cap elements of elem bytes to hold need (doubling); 0 or ENOMEM.
 * AG_PUSH appends val, growing as needed. */
int ag_grow(void **arr, size_t *cap, size_t need, size_t elem);
#define AG_PUSH(arr, n, cap, val) \
	(ag_grow((void **)&(arr), &(cap), (n) + 1, sizeof *(arr)) ? ENOMEM : \
	 ((arr)[(n)++] = (val), 0))

static inline uint64_t ag_sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

#endif
