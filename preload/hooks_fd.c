/* hooks_fd.c: the descriptor calls that could take the guard's held log descriptor from
 * it (close, close_range, closefrom, dup2, dup3): fdguard.h answers them, passing the
 * program's own descriptors to the kernel unchanged. */
#include "fdguard.h"
#include "hooks.h"

#include <stdbool.h>

EXPORT int close(int fd)
{
	return fdguard_close(fd);
}

EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	return fdguard_close_range(lo, hi, flags);
}

EXPORT void closefrom(int lo)
{
	fdguard_closefrom(lo);
}

EXPORT int dup2(int old, int new)
{
	return fdguard_dup3(old, new, 0, true);
}

EXPORT int dup3(int old, int new, int flags)
{
	return fdguard_dup3(old, new, flags, false);
}
