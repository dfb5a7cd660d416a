/* api.h: the in-process API (include/allocguard.h) as the library's own code calls it.  The
 * exported allocguard_* symbols are thin forwards to these; other modules (node's bridge)
 * call these directly, never the exported names.  Same return convention as the public
 * header: 0, or -1 with errno set (ENOSYS when the guard is not active). */
#ifndef ALLOCGUARD_API_H
#define ALLOCGUARD_API_H

#define ALLOCGUARD_NO_WRAPPERS
#include "allocguard.h"

typedef void (*api_pressure_fn)(int level, const allocguard_usage_t *u, void *arg);

int api_active(void);
int api_get_usage(allocguard_usage_t *u);
/* Up to API_LISTENERS listeners (program and internal together).  Each is called in the
 * writer thread, with no lock of ours held, on every change of the pressure level after it
 * registered (and once with the current level if that is not 0); it may allocate, free and
 * call the other api_* functions. */
#define API_LISTENERS 16
int api_on_pressure(api_pressure_fn fn, void *arg);
int api_set_cap(uint64_t bytes);
int api_snapshot(const char *label);
/* errno EBUSY while the exit scan runs, EPERM when memory cannot be read (seccomp). */
int api_leak_check(allocguard_leaks_t *out);

#endif
