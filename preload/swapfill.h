/* swapfill.h: filling memory from a file with bounded preads, the one way swapped model
 * files are read (eagerly at mmap time, or one chunk per fault in lazy mode).  Never one
 * giant read: each pread asks for at most `chunk` bytes. */
#ifndef ALLOCGUARD_SWAPFILL_H
#define ALLOCGUARD_SWAPFILL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read len bytes of fd at off into dst, chunk bytes per pread.  Bytes past the end of the
 * file read as zero (written only when !dst_zeroed, so untouched fresh anonymous memory
 * stays uncommitted).  Returns 0, or the errno of a failed read. */
int swapfill_range(void *dst, size_t len, int fd, off_t off, size_t chunk, bool dst_zeroed);

#endif
