/* sites.h: what the reports share about call sites: writing a stack's frames as JSON or
 * as indented human lines, its matching key across runs, and the kind names.  Computing
 * figures per site is each report's own business. */
#ifndef ALLOCGUARD_SITES_H
#define ALLOCGUARD_SITES_H

#include "json.h"
#include "model.h"
#include "symbols.h"
#include "table.h"

/* Frames of a stack shown in human tables: the innermost and this many callers. */
#define SITE_HUMAN_FRAMES 3

const char *site_kind_name(char kind);
/* "frames": [...] for stack st. */
void site_json_frames(json_t *j, symbols_t *sym, const ag_stack_t *st);
/* The site's label (innermost frame) into buf, and its callers as table_more lines. */
void site_label(symbols_t *sym, const ag_stack_t *st, char *buf, size_t len);
void site_more(table_t *t, symbols_t *sym, const ag_stack_t *st);
/* Key identifying the site across runs (kind + frame keys); caller frees. */
char *site_key(symbols_t *sym, const ag_stack_t *st);

#endif
