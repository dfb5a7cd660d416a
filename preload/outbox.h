/* outbox.h: what the policy modules tell the log writer, kept below both.  Events for the
 * log (cap crossings: V lines; model files swapped or passed through: W lines) and requests
 * for a snapshot.  Policy modules (cap.c, swap.c, the SIGUSR2 handler) post; the writer
 * (writer.c, logwrite.c) drains, so the writer needs nothing above it.  Posting is
 * lock-free, async-signal-safe and allocation-free; when the writer falls behind, new
 * events are dropped (evring.h) and requests merge into one snapshot. */
#ifndef ALLOCGUARD_OUTBOX_H
#define ALLOCGUARD_OUTBOX_H

#include "logfmt.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One threshold crossing, for the log's V line. */
typedef struct {
	uint64_t t_ns;      /* since start */
	uint64_t bytes;     /* tracked bytes at the event (a refusal: before the request) */
	uint64_t request;   /* the request that crossed or was refused */
	uint32_t stack;     /* a refused request's stack (refusal.h); 0 none */
	int kind;           /* ag_cap_event_t */
} cap_event_t;

/* One model-file mapping, for the log's W line. */
typedef struct {
	uint64_t t_ns;          /* since start */
	uint64_t bytes;         /* swapped (page-rounded) or passed-through length */
	int mode;               /* ag_swap_mode_t */
	char path[PATH_MAX];
} swap_event_t;

/* One change of the pressure level (cap.h's cap_level), for allocguard_on_pressure. */
typedef struct {
	uint64_t seq;       /* 1, 2, ... in the order posted (outbox_pressure_seq) */
	int level;
	uint64_t tracked;   /* the cap's view of tracked bytes at the change */
} pressure_event_t;

void outbox_cap_event(int kind, uint64_t bytes, uint64_t request, uint32_t stack);
/* Post a level change and wake the writer, without asking for a snapshot. */
void outbox_pressure(int level, uint64_t tracked);
size_t outbox_pressure_take(pressure_event_t *out, size_t max);
/* The seq of the last change posted (0 before any): a listener registered now hears only
 * the changes after it. */
uint64_t outbox_pressure_seq(void);
/* Wake the writer for a turn (writer.h's writer_each_turn) and nothing else. */
void outbox_pressure_wake(void);
void outbox_swap_event(int mode, uint64_t bytes, const char *path);
/* Move queued events into out (oldest first); returns how many. */
size_t outbox_cap_events_take(cap_event_t *out, size_t max);
size_t outbox_swap_events_take(swap_event_t *out, size_t max);

/* Ask for a snapshot (ag_reason_t); never blocks, errno kept. */
void outbox_request(int reason);
/* Ask for a snapshot and return once it is written (bounded): the abort action.  Served by
 * the function the writer registered with outbox_serve_sync; nothing when none is. */
void outbox_sync(int reason);
void outbox_serve_sync(void (*serve)(int reason));

/* The writer's side: the requests since the last take (a bit per reason), whether any is
 * waiting, and a wait for the next one.  outbox_wake_seq() before looking, then
 * outbox_wait(seq, ms) sleeps only if nothing was asked since. */
unsigned outbox_requests_take(void);
bool outbox_requests_waiting(void);
uint32_t outbox_wake_seq(void);
void outbox_wait(uint32_t seq, uint64_t ms);

#endif
