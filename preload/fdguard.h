/* fdguard.h: the guard's file descriptors and the program's, kept apart.
 * 1. A descriptor the guard holds for the process's life (the log, logwrite.c) sits at a
 * high number, is invisible to the program's close, close_range and closefrom (EBADF, as
 * for any number the program never opened) and moves out of the way of its dup2/dup3; the
 * guard uses it only between fdguard_lock and fdguard_unlock.
 * While the guard has a descriptor of its own open for a moment (creating or reopening the
 * log: fdguard_begin .. fdguard_end), the program's close, close_range, closefrom, dup2 and
 * dup3 wait for the section to end (at most SECTION_WAIT_MS), and its number, published
 * with fdguard_brief, answers EBADF like the held one.  Only the guard's side keeps state:
 * a program call that never returns (cancelled, jumped out of, lingering) holds nothing up.
 * The guard opens such brief descriptors only to create or reopen its log, never on a
 * timer, so the program's "lowest free number" is left alone while it runs.
 * 2. libunwind's memory validation never uses a descriptor.
 * libunwind 1.6 validates an address by write()ing one byte of it into a private pipe
 * (a static mem_validate_pipe[2]; it read()s the pipe empty first and re-creates it with
 * pipe2 when that read fails).  The pipe's numbers are ordinary descriptors: a program that
 * closes every descriptor and opens its own gets them, and an unwind inside an allocation
 * then reads, writes or closes the program's pipe or file.  unwindshim.c sends the read, pipe2
 * and syscall calls made from libunwind's own code here: the pipe is never created (its
 * numbers stay -1), the read finds it "empty", and the write is answered by
 * process_vm_readv, which faults exactly where the write would. */
#ifndef ALLOCGUARD_FDGUARD_H
#define ALLOCGUARD_FDGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Hold fd: moved to a high number (the original is closed); returns the number held, or
 * -1 (fd closed) when the table is full.  One at a time: a previous one is forgotten. */
int fdguard_hold(int fd);
/* The held descriptor, -1 if none; stable between fdguard_lock and fdguard_unlock. */
int fdguard_held(void);
/* Stop holding it (the caller closes it if it is still the guard's). */
void fdguard_forget(void);
void fdguard_lock(void);
void fdguard_unlock(void);
bool fdguard_trylock(void);   /* without waiting: whether it is ours now */
void fdguard_reinit_lock(void);   /* fork child */

/* Around the guard's own open .. close of a descriptor (any thread; may nest). */
void fdguard_begin(void);
void fdguard_end(void);
/* The section's descriptor, published as soon as it is opened (closed by the guard). */
void fdguard_brief(int fd);
void fdguard_brief_close(int fd);

/* The program's calls (hooks_fd.c). */
int fdguard_close(int fd);
int fdguard_close_range(unsigned lo, unsigned hi, int flags);
void fdguard_closefrom(int lo);
int fdguard_dup3(int old, int new, int flags, bool is_dup2);

/* libunwind's code, [lo, lo + len); read by the syscall hook's assembly.  0 = not known. */
extern uintptr_t fdguard_unw_lo, fdguard_unw_len;

/* Tell the guard where libunwind's code is (before its first unwind). */
void fdguard_init(uintptr_t lo, uintptr_t hi);

static inline bool fdguard_from_unwinder(const void *ret)
{
	return (uintptr_t)ret - fdguard_unw_lo < fdguard_unw_len;
}

/* The calls as libunwind's validation sees them.  fdguard_syscall is entered by a jump
 * from the syscall hook with the caller's arguments in place (the sixth on the stack). */
ssize_t fdguard_read(int fd, void *buf, size_t n);
int fdguard_pipe2(int fds[2], int flags);
long fdguard_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6);
/* The syscall hook's error path: errno = -rax, return -1. */
long fdguard_syscall_error(long rax);

#endif
