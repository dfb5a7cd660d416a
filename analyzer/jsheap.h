/* jsheap.h: node's JS heap merged into the model.  The log's j stacks (live JS objects by
 * JS call stack, estimated by V8's sampling heap profiler) take the place of the m stacks
 * of V8's heap pages they live in, scaled so they never exceed what V8 committed, placed in
 * the old spaces' pages first; the rest of the young generation's (semi-space) pages becomes
 * one stack, "V8 young generation", and the rest of the other spaces' pages one stack,
 * "V8 heap (unattributed)".  Applied
 * once after reading a log, before any report: every view then reads the merged model. */
#ifndef ALLOCGUARD_JSHEAP_H
#define ALLOCGUARD_JSHEAP_H

#include "model.h"
#include "symbols.h"

#include <stdio.h>

#define JSHEAP_UNATTRIBUTED "V8 heap (unattributed)"
#define JSHEAP_YOUNG "V8 young generation"

/* Merge with the names sym gives node's frames.  0, or ENOMEM (the model is then unusable).
 * err receives one line when the V8 heap pages cannot be told apart (no symbols for node):
 * the JS estimates are then left out rather than counted twice. */
int jsheap_merge(ag_log_t *log, symbols_t *sym, FILE *err);
/* jsheap_merge with a symbols_t of its own, when the log has a JS heap profile. */
int jsheap_apply(ag_log_t *log, FILE *err);

#endif
