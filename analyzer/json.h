/* json.h: a small streaming JSON writer (pretty-printed, two-space indent) for the
 * reports' --json output.  Owns syntax and string escaping; the shapes are the reports'.
 * Output is gathered in the writer's own buffer and reaches the FILE in blocks (an export
 * of a large log is gigabytes): nothing else may write to the FILE between json_init and
 * json_done, which flushes. */
#ifndef ALLOCGUARD_JSON_H
#define ALLOCGUARD_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

#define JSON_BUF 16384

typedef struct {
	FILE *f;
	int depth;
	int count[JSON_MAX_DEPTH];   /* values written at each level */
	int after_key;
	int compact;                 /* no spaces or newlines (json_compact) */
	size_t n;                    /* bytes waiting in buf */
	char buf[JSON_BUF];
} json_t;

void json_init(json_t *j, FILE *f);
/* From now on, write without indentation (pages embed large arrays). */
void json_compact(json_t *j);
void json_obj(json_t *j);          /* { */
void json_obj_end(json_t *j);      /* } */
void json_arr(json_t *j);          /* [ */
void json_arr_end(json_t *j);      /* ] */
void json_key(json_t *j, const char *k);
void json_str(json_t *j, const char *s);    /* NULL writes null */
void json_u64(json_t *j, uint64_t v);
void json_i64(json_t *j, int64_t v);
void json_num(json_t *j, double v, int decimals);   /* non-finite writes 0 */
void json_bool(json_t *j, int v);
void json_null(json_t *j);
/* Finish: a newline after the top-level value; everything written reaches the FILE. */
void json_done(json_t *j);

/* Write s as a JSON string literal (with quotes) to f. */
void json_escape(FILE *f, const char *s);

#endif
