/* hooks.h: what the hook files (hooks_*.c, unwindshim.c) share, and nothing else includes:
 * the export marker, the local alias a hook uses to call another, and the next definition
 * of a libc name.  Each hook file owns one concern and only forwards to its module. */
#ifndef ALLOCGUARD_HOOKS_H
#define ALLOCGUARD_HOOKS_H

#include "state.h"

#include <dlfcn.h>

#define EXPORT __attribute__((visibility("default")))

/* A hook that calls another calls it by a local alias, bound inside the library at link
 * time: the library never calls its own exported names through the PLT. */
#define LOCAL_ALIAS(name) \
	static __typeof(name) local_##name \
		__attribute__((copy(name), alias(#name)))

/* The next definition of name (libc's), looked up once into *cache; dlsym may allocate,
 * and its allocations go straight to libc. */
static inline void *hooks_next(const char *name, void **cache)
{
	if (!*cache) {
		int outer = ag_guard_enter();
		*cache = dlsym(RTLD_NEXT, name);
		if (outer)
			ag_guard_leave();
	}
	return *cache;
}

#endif
