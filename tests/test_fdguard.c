/* test_fdguard.c: the guard's descriptors kept apart from the program's (preload/fdguard.c):
 * the held descriptor survives close, close_range and closefrom and moves out of a dup2's
 * way; libunwind's validation answers readable/unreadable without any descriptor. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdguard.h"

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int hold_devnull(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	fdguard_begin();
	int h = fdguard_hold(fd);
	fdguard_end();
	cr_assert_geq(h, 3);
	cr_assert_eq(fdguard_held(), h);
	cr_assert_not(h != fd && is_open(fd), "the original number was not given back");
	return h;
}

static void release(int h)
{
	fdguard_forget();
	close(h);
}

Test(fdguard, held_descriptor_is_not_the_programs_to_close)
{
	int h = hold_devnull();
	errno = 0;
	cr_expect_eq(fdguard_close(h), -1);
	cr_expect_eq(errno, EBADF, "as for a number the program never opened");
	cr_expect(is_open(h));
	int mine = open("/dev/null", O_RDONLY);
	cr_assert_geq(mine, 0);
	cr_expect_eq(fdguard_close(mine), 0);
	cr_expect_not(is_open(mine));
	release(h);
}

Test(fdguard, close_range_and_closefrom_skip_it)
{
	int h = hold_devnull();
	int a = open("/dev/null", O_RDONLY), b = fcntl(a, F_DUPFD, h + 1);
	cr_assert(a >= 0 && b > h);
	cr_expect_eq(fdguard_close_range((unsigned)a, ~0u, 0), 0);
	cr_expect_not(is_open(a));
	cr_expect_not(is_open(b));
	cr_expect(is_open(h));
	b = fcntl(h, F_DUPFD, h + 1);
	fdguard_closefrom(h);
	cr_expect_not(is_open(b));
	cr_expect(is_open(h));
	release(h);
}

Test(fdguard, dup2_onto_it_moves_ours)
{
	int h = hold_devnull();
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_expect_eq(fdguard_dup3(p[1], h, 0, true), h, "the program gets the number it asked for");
	int moved = fdguard_held();
	cr_expect_neq(moved, h);
	cr_expect(is_open(moved));
	cr_expect_eq(write(h, "x", 1), 1, "h is now the program's pipe");
	char c = 0;
	cr_expect_eq(read(p[0], &c, 1), 1);
	cr_expect_eq(c, 'x');
	close(h);
	close(p[0]);
	close(p[1]);
	release(moved);
}

Test(fdguard, validation_without_descriptors)
{
	long page = sysconf(_SC_PAGESIZE);
	char *ok = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	cr_assert_neq(ok, MAP_FAILED);
	char *none = ok + page;
	cr_assert_eq(mprotect(none, (size_t)page, PROT_NONE), 0);
	cr_expect_eq(fdguard_syscall(SYS_write, -1, (long)ok, 1, 0, 0, 0), 1);
	errno = 0;
	cr_expect_eq(fdguard_syscall(SYS_write, -1, (long)none, 1, 0, 0, 0), -1);
	cr_expect_eq(errno, EFAULT);
	cr_expect_eq(fdguard_syscall(SYS_write, -1, 8, 1, 0, 0, 0), -1, "address 8");
	/* Any other call passes through. */
	cr_expect_eq(fdguard_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0), getpid());
	errno = 0;
	cr_expect_eq(fdguard_syscall(SYS_close, -1, 0, 0, 0, 0, 0), -1);
	cr_expect_eq(errno, EBADF);
	int fds[2] = { 7, 8 };
	cr_expect_eq(fdguard_pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
	cr_expect(fds[0] == -1 && fds[1] == -1, "no pipe is created");
	char buf;
	errno = 0;
	cr_expect_eq(fdguard_read(-1, &buf, 1), -1);
	cr_expect_eq(errno, EAGAIN, "an empty pipe, so libunwind never re-creates it");
	munmap(ok, (size_t)page * 2);
}
