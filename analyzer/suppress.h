/* suppress.h: leak suppressions in LeakSanitizer's syntax: one `leak:PATTERN` per line, `#`
 * comments, `*` wildcards, `^`/`$` anchors (unanchored, a pattern matches anywhere in the
 * name).  A lost site is suppressed by the first rule matching any frame of its stack by
 * function, module path or source file.  Rules count what they suppressed, so every view
 * can say how much each line took.  The files come from --suppressions (repeatable),
 * ALLOCGUARD_SUPPRESSIONS (':'-separated) and the shipped defaults
 * (share/allocguard/default.supp beside the CLI, unless --no-default-suppressions).  Which
 * blocks are lost is leaks.c's; this only takes lost sites out of the verdict. */
#ifndef ALLOCGUARD_SUPPRESS_H
#define ALLOCGUARD_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fold.h"
#include "model.h"
#include "symbols.h"

#define SUPP_MAX_FILES 64
#define SUPP_DEFAULT_REL "/../share/allocguard/default.supp"

typedef struct {
	char *file;            /* as given */
	int line;
	char *pattern;         /* after "leak:" */
	uint64_t bytes, count; /* suppressed so far */
} supp_rule_t;

typedef struct supp {
	supp_rule_t *rules;
	size_t n;
} supp_t;

/* The command-line side, shared by run and leaks. */
typedef struct {
	const char *files[SUPP_MAX_FILES];
	size_t nfiles;
	int no_defaults;       /* --no-default-suppressions */
	int print;             /* --print-suppressions (leaks) */
} supp_opts_t;

/* Take argv[*i] (and its value) when it is a suppression option: 1 taken, 0 not one of
 * ours, 2 after saying what is wrong (exit status 2).  print_ok: --print-suppressions is
 * accepted. */
int supp_arg(supp_opts_t *o, int argc, char **argv, int *i, bool print_ok);
/* Load the defaults (unless turned off), the files of env (':'-separated, may be NULL) and
 * the files given.  0, or 2 after one stderr line naming the file, line and problem. */
int supp_load_all(supp_t *s, const supp_opts_t *o, const char *env);
/* Append the rules of one file; on a bad line, EINVAL and one line in err. */
int supp_load(supp_t *s, const char *path, char *err, size_t errlen);
void supp_free(supp_t *s);

/* LeakSanitizer's template match: * any run of bytes, ^ and $ anchors. */
bool supp_wild(const char *pattern, const char *text);
/* The first rule matching a frame of st, or NULL. */
supp_rule_t *supp_match(const supp_t *s, symbols_t *sym, const ag_stack_t *st);
/* The ready entry for a lost site: "leak:FUNCTION" of its first frame shown (its module
 * without a function name). */
void supp_entry(symbols_t *sym, const fold_opts_t *fold, const ag_stack_t *st, char *buf,
		size_t len);
void supp_reset_counts(supp_t *s);
/* "allocguard: suppressed ... by FILE:LINE leak:PATTERN" lines for the rules that took
 * something, led by prefix. */
void supp_print_used(const supp_t *s, FILE *out, const char *prefix);

#endif
