/* logsizes.h: the log's H line, the requested sizes of one heap stack so far (its
 * histogram in the stack's record, stacktab_sizes), for the log writer (logwrite.c), which
 * writes one beside a stack's L line whenever the stack's allocation count moved. */
#ifndef ALLOCGUARD_LOGSIZES_H
#define ALLOCGUARD_LOGSIZES_H

#include "fmt.h"
#include "logfmt.h"
#include "stacktab.h"

#include <stdbool.h>

/* Room for the longest H line: every bucket, each "kk:" and a 20-digit count. */
#define LOGSIZES_LINE (32 + AG_SIZE_BUCKETS * 25)

/* "H <id> <bucket>:<calls> ..." for r's buckets that are not empty, into line (len bytes);
 * false, with nothing to write, when r is not a heap stack or none is. */
bool logsizes_line(fmt_t *f, char *line, size_t len, stack_rec_t *r);

#endif
