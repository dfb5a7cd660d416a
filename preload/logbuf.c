/* logbuf.c: buffered appends to the log (see logbuf.h). */
#include "logbuf.h"

#include <string.h>

int logbuf_flush(logbuf_t *lb)
{
	if (lb->len && !lb->err && lb->fd >= 0)
		lb->err = fmt_write_all(lb->fd, lb->buf, lb->len);
	lb->len = 0;
	return lb->err;
}

void logbuf_put(logbuf_t *lb, const char *s, size_t n)
{
	while (n) {
		if (lb->len == LOGBUF_SIZE)
			logbuf_flush(lb);
		size_t room = LOGBUF_SIZE - lb->len, k = n < room ? n : room;
		memcpy(lb->buf + lb->len, s, k);
		lb->len += k;
		s += k;
		n -= k;
	}
}

void logbuf_line(logbuf_t *lb, const fmt_t *f)
{
	logbuf_put(lb, f->buf, f->len);
	logbuf_put(lb, "\n", 1);
}
