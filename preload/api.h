/* api.h: what api.c, the in-process API (include/allocguard.h), is built with: the public
 * header without its weak wrappers, and the pressure listeners' shape and bound.  The
 * exported allocguard_* symbols are thin forwards to api.c's own functions, which return as
 * the public header says: 0, or -1 with errno set (ENOSYS when the guard is not active). */
#ifndef ALLOCGUARD_API_H
#define ALLOCGUARD_API_H

#define ALLOCGUARD_NO_WRAPPERS
#include "allocguard.h"

typedef void (*api_pressure_fn)(int level, const allocguard_usage_t *u, void *arg);

/* Up to API_LISTENERS listeners (program and internal together).  Each is called in the
 * writer thread, with no lock of ours held, on every change of the pressure level after it
 * registered (and once with the current level if that is not 0); it may allocate, free and
 * call the other api_* functions. */
#define API_LISTENERS 16

#endif
