/* options.h: allocguard's settings (generated from options.def) and their parsing.  Shared
 * by the preload and the CLI; parsing is malloc- and stdio-free so the preload may run it
 * before main.  What the settings do is the other modules' business. */
#ifndef ALLOCGUARD_OPTIONS_H
#define ALLOCGUARD_OPTIONS_H

#include "fmt.h"
#include "logfmt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { OPT_SIZE, OPT_PCT, OPT_DURATION, OPT_ENUM, OPT_STR, OPT_INT } opt_type_t;


#define OPT_STR_MAX 1024

typedef struct {
	uint64_t cap;        /* bytes, 0 = none */
	uint64_t warn;       /* percent */
	uint64_t critical;   /* percent */
	uint64_t on_cap;     /* ag_on_cap_t */
	uint64_t interval;   /* milliseconds, 0 = none */
	char log[OPT_STR_MAX];
	uint64_t log_compress;   /* 1 = gzip stream, 0 = plain text */
	char swap[OPT_STR_MAX];
	uint64_t swap_min;   /* bytes */
	uint64_t swap_mode;  /* AG_SWAP_EAGER or AG_SWAP_LAZY */
	uint64_t chunk;      /* bytes */
	uint64_t sample;     /* bytes, 0 = every allocation */
	uint64_t depth;      /* frames */
	uint64_t leak_check; /* AG_YN_YES or AG_YN_NO: whether the exit scan runs */
	uint64_t scan_child; /* AG_YN_YES: the exit scan runs in a child (scanchild.h) */
	char tag[OPT_STR_MAX];
	uint64_t node;       /* 0 off, 1 on, 2 through the inspector only */
	uint64_t node_gc;    /* 1 = a full GC per critical crossing */
	char suppressions[OPT_STR_MAX];   /* read by the CLI only (run, leaks) */
} ag_config_t;

typedef struct {
	const char *field;    /* "cap" */
	const char *env;      /* "ALLOCGUARD_CAP" */
	const char *flag;     /* "cap" as in --cap */
	opt_type_t type;
	const char *def;      /* default, in the same syntax a user writes */
	uint64_t min, max;    /* bounds of the parsed value */
	const char *words;    /* ENUM: "|fail|abort|warn" (value = position); else "" */
	const char *oname;    /* the log's O line name, NULL for none */
	const char *doc;
	size_t offset;        /* where the value lives in ag_config_t */
} opt_desc_t;

extern const opt_desc_t opt_table[];
extern const size_t opt_count;

/* The SIZE syntax, for every message about a bad SIZE. */
#define OPT_SIZE_SYNTAX \
	"SIZE: bytes with optional K, M, G, T suffix (powers of 1024), or N% of memory"

/* The spelled-out syntax of a type, for help and error messages ("SIZE", "PCT", ...). */
const char *opt_type_name(const opt_desc_t *d);

void opt_defaults(ag_config_t *c);

/* Parse value into c's field for d.  On a bad value returns EINVAL and writes one line,
 * "NAME='VALUE': expected ...", into err (NAME is `who`, e.g. "ALLOCGUARD_CAP" or "--cap"). */
int opt_set(ag_config_t *c, const opt_desc_t *d, const char *value, const char *who,
	    char *err, size_t errlen);

/* Read every ALLOCGUARD_* variable with secure_getenv, then check the settings together.
 * Returns 0 or EINVAL with err filled as opt_set does. */
int opt_load_env(ag_config_t *c, char *err, size_t errlen);

/* An environment entry ("NAME=value") that looks like a setting and is none: an
 * ALLOCGUARD_* name no option has (a typo such as ALLOCGUARD_CAPP).  Writes the name into
 * name (cut to namelen). */
bool opt_env_unknown(const char *entry, char *name, size_t namelen);

/* Cross-field rules (warn < critical).  0 or EINVAL with err filled. */
int opt_check(const ag_config_t *c, char *err, size_t errlen);

/* Value parsers, exposed for the CLI and tests.  0 or EINVAL. */
int opt_parse_size(const char *s, uint64_t *out);
int opt_parse_duration(const char *s, uint64_t *ms);
int opt_parse_u64(const char *s, uint64_t *out);

const opt_desc_t *opt_find_flag(const char *flag);

/* The log's O line for d ("O <oname> <value>", the value escaped), into f; false when d
 * has no O line or is an empty string at an empty default. */
bool opt_log_line(const opt_desc_t *d, const ag_config_t *c, fmt_t *f);

#endif
