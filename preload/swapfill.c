/* swapfill.c: chunked preads into memory (see swapfill.h).  Short reads are continued
 * (without ever exceeding the chunk), EINTR retried; end of file ends the fill. */
#include "swapfill.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int swapfill_range(void *dst, size_t len, int fd, off_t off, size_t chunk, bool dst_zeroed)
{
	char *p = dst;
	size_t done = 0;
	while (done < len) {
		size_t want = len - done < chunk ? len - done : chunk;
		ssize_t n = pread(fd, p + done, want, off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done < len && !dst_zeroed)
		memset(p + done, 0, len - done);
	return 0;
}
