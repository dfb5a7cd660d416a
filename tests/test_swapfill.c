/* test_swapfill.c: chunked fills (preload/swapfill.c) and lazy regions served through
 * userfaultfd (preload/uffd.c), in-process. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "swapfill.h"
#include "uffd.h"

#define PAGE 4096

static int tmpfile_with(size_t size, unsigned char **data)
{
	char path[] = "/tmp/agtest-swapfill-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	unlink(path);
	*data = malloc(size);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < size; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		(*data)[i] = (unsigned char)x;
	}
	cr_assert_eq(write(fd, *data, size), (ssize_t)size);
	return fd;
}

Test(swapfill, reads_in_chunks_and_zeroes_past_eof)
{
	unsigned char *data;
	int fd = tmpfile_with(100000, &data);
	unsigned char *dst = malloc(3 * PAGE * 10);
	memset(dst, 0xaa, 3 * PAGE * 10);
	cr_assert_eq(swapfill_range(dst, 3 * PAGE * 10, fd, 0, 5000, false), 0);
	cr_expect_eq(memcmp(dst, data, 100000), 0);
	for (size_t i = 100000; i < 3 * PAGE * 10; i++)
		cr_assert_eq(dst[i], 0, "byte %zu past EOF is %d", i, dst[i]);
	cr_assert_eq(swapfill_range(dst, 8192, fd, 4096, 4096, false), 0);
	cr_expect_eq(memcmp(dst, data + 4096, 8192), 0);
	cr_expect_eq(swapfill_range(dst, 10, -1, 0, 4096, false), EBADF);
	close(fd);
	free(dst);
	free(data);
}

Test(swapfill, lazy_region_fills_on_touch_and_follows_moves)
{
	cr_assert_eq(uffd_ready(), 0, "userfaultfd is not available here");
	size_t len = 64 * PAGE;
	unsigned char *data;
	int fd = tmpfile_with(len + 3 * PAGE, &data);
	unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	cr_assert_eq(uffd_add((uintptr_t)p, (uintptr_t)p + len, dup(fd), 3 * PAGE, 16 * PAGE, PROT_READ), 0);
	cr_expect_eq(uffd_lazy_bytes(), len);
	cr_expect_eq(p[5 * PAGE + 7], data[8 * PAGE + 7]);
	/* A hole in the middle splits the entry; both sides still fill. */
	cr_assert_eq(munmap(p + 20 * PAGE, 8 * PAGE), 0);
	uffd_forget((uintptr_t)p + 20 * PAGE, (uintptr_t)p + 28 * PAGE);
	cr_expect_eq(uffd_lazy_bytes(), len - 8 * PAGE);
	cr_expect_eq(memcmp(p + 28 * PAGE, data + 31 * PAGE, 36 * PAGE), 0);
	/* Move the first part, untouched pages included. */
	unsigned char *q = mremap(p, 20 * PAGE, 20 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
				  mmap(NULL, 20 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	cr_assert_neq(q, MAP_FAILED);
	uffd_moved((uintptr_t)p, 20 * PAGE, (uintptr_t)q, 20 * PAGE);
	cr_expect_eq(memcmp(q, data + 3 * PAGE, 20 * PAGE), 0);
	munmap(q, 20 * PAGE);
	uffd_forget((uintptr_t)q, (uintptr_t)q + 20 * PAGE);
	munmap(p + 28 * PAGE, 36 * PAGE);
	uffd_forget((uintptr_t)p + 28 * PAGE, (uintptr_t)p + len);
	cr_expect_eq(uffd_lazy_bytes(), 0);
	close(fd);
	free(data);
}
