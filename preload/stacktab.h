/* stacktab.h: interned call stacks and their aggregates.  A stack is stored once and named
 * by a small id (1..); lookups and inserts are lock-free.  Capturing stacks is stacks.c's
 * job, writing them out is logwrite.c's. */
#ifndef ALLOCGUARD_STACKTAB_H
#define ALLOCGUARD_STACKTAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "logfmt.h"

/* Counts are kept in 1/COUNT_ONE units so sampled estimates (fractional) add up unbiased. */
#define COUNT_ONE 256

typedef struct stack_rec {
	uint64_t hash;
	uint32_t id;
	uint16_t depth;
	char kind;                          /* AG_KIND_* */
	/* Allocated and freed so far; live = alloc - free.  Two atomic adds per event. */
	_Atomic uint64_t alloc_bytes, alloc_count, free_bytes, free_count;
	/* Of alloc_count, freed by the same thread before its next allocation (churn.c). */
	_Atomic uint64_t temp_count;
	/* A request of this stack was refused at the cap: the log needs its S line even if it
	 * never allocated (refusal.c). */
	_Atomic uint32_t refused;
	/* Live at the peak (see peak.h): copied from live before the first change after the
	 * peak moved.  peak_epoch is the epoch claimed, peak_pub the one whose figures are
	 * in peak_bytes/peak_count (published after them). */
	_Atomic uint64_t peak_epoch, peak_pub, peak_bytes, peak_count;
	/* Owned by the log writer (under its lock): what this log last saw of the stack. */
	uint32_t log_gen;                   /* log generation the S line went to */
	int64_t last_live_bytes, last_live_count;
	uint64_t last_total_count, last_temp_count;
	int64_t last_peak_bytes, last_peak_count;
	/* Owned by the exit scan: lost includes indirect (lost only through lost blocks);
	 * judged is what the scan saw live of a heap stack (lost + reachable, one moment). */
	uint64_t lost_bytes, lost_count, indirect_bytes, indirect_count;
	uint64_t judged_bytes, judged_count;
	uintptr_t frames[];
	/* A heap stack's record goes on after its frames with the requested sizes of its
	 * allocations: AG_SIZE_BUCKETS counters in COUNT_ONE units (stacktab_sizes). */
} stack_rec_t;

static inline _Atomic uint64_t *stacktab_sizes(stack_rec_t *r)
{
	return r->kind == AG_KIND_HEAP ? (_Atomic uint64_t *)(r->frames + r->depth) : NULL;
}

/* Intern a stack; returns its id, or 0 when the table is full (then say so once). */
uint32_t stacktab_intern(char kind, const uintptr_t *frames, int depth);
stack_rec_t *stacktab_get(uint32_t id);
/* Ids are 1 .. stacktab_limit() - 1; some may be NULL (lost insert races). */
uint32_t stacktab_limit(void);

/* fork support: the lock taken only when a new chunk of records is needed. */
void stacktab_lock(void);
void stacktab_unlock(void);
bool stacktab_trylock(void);   /* without waiting: whether it is ours now */
void stacktab_reinit_lock(void);

/* Count an allocation / a release against a stack; counts in COUNT_ONE units. */
void stacktab_alloc(uint32_t id, uint64_t bytes, uint64_t count);
void stacktab_free(uint32_t id, uint64_t bytes, uint64_t count);
/* stacktab_alloc for a heap stack, also counting the request's size (size bytes asked)
 * in its histogram: one relaxed add more, on the stack's own record. */
void stacktab_alloc_sized(uint32_t id, uint64_t bytes, uint64_t count, uint64_t size);
/* A request of this stack was refused (its S line is written though it may hold nothing). */
void stacktab_note_refused(uint32_t id);
/* Count temporary allocations (COUNT_ONE units) against a stack. */
void stacktab_temporary(uint32_t id, uint64_t count);

typedef struct {
	int64_t live_bytes, live_count;     /* count in COUNT_ONE units */
	uint64_t total_bytes, total_count;
	uint64_t temp_count;                /* COUNT_ONE units */
} stack_totals_t;

/* A consistent-enough read of the aggregates (live never negative). */
void stacktab_read(const stack_rec_t *r, stack_totals_t *t);
/* What was live at the peak of epoch `epoch` (peak_epoch(), read once per snapshot): the
 * figures kept when the stack changed after that peak, else its live figures (it has not
 * changed since). */
void stacktab_read_peak(const stack_rec_t *r, uint64_t epoch, int64_t *bytes, int64_t *count);

#endif
