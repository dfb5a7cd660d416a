/* logbuf.h: a buffered, malloc-free appender to the log file.  Lines are built with fmt.h
 * and appended here; the buffer is flushed with write(2) when full and at snapshot end. */
#ifndef ALLOCGUARD_LOGBUF_H
#define ALLOCGUARD_LOGBUF_H

#include "fmt.h"

#include <stddef.h>

#define LOGBUF_SIZE (64 * 1024)

typedef struct {
	int fd;
	int err;              /* first write error, 0 if none */
	size_t len;
	char buf[LOGBUF_SIZE];
} logbuf_t;

void logbuf_put(logbuf_t *lb, const char *s, size_t n);
/* Append the line in f (a '\n' is added). */
void logbuf_line(logbuf_t *lb, const fmt_t *f);
int logbuf_flush(logbuf_t *lb);

#endif
