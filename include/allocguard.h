/* allocguard.h: a program's own questions to allocguard, the allocation guard it may be
 * running under (LD_PRELOAD=liballocguard.so, or `allocguard run`).
 *
 * No link flag: include this header and call the functions.  They are found at run time in
 * the guard's library (dlsym(RTLD_DEFAULT), glibc 2.34 or later needs no -ldl); without the
 * guard they answer "not active": allocguard_active() returns 0 and the others -1, so the
 * same binary runs unchanged bare.  Every function returns 0 on success and -1 on failure
 * (errno: ENOSYS without the guard, EINVAL for a bad argument, others as documented in
 * docs/api.md).  Other languages call the same exported symbols (Python:
 * ctypes.CDLL(None).allocguard_get_usage).  Define ALLOCGUARD_NO_WRAPPERS to get only the
 * declarations (to link against liballocguard.so directly). */
#ifndef ALLOCGUARD_H
#define ALLOCGUARD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct { uint64_t tracked, heap, mapped, swapped, peak, cap; int level; } allocguard_usage_t;
        /* level: 0 below warn, 1 warn, 2 critical, 3 at the cap */
typedef struct { uint64_t lost_bytes, lost_blocks, reachable_bytes, reachable_blocks; } allocguard_leaks_t;
int allocguard_active(void);
int allocguard_get_usage(allocguard_usage_t *u);
int allocguard_on_pressure(void (*fn)(int level, const allocguard_usage_t *u, void *arg), void *arg);
        /* every threshold crossing, up and down; called from the guard's own thread */
int allocguard_set_cap(uint64_t bytes);              /* 0 = none; warn/critical follow */
int allocguard_snapshot(const char *label);          /* LOG@label in diff and export */
int allocguard_leak_check(allocguard_leaks_t *out);  /* lost now, as the exit scan judges; the program goes on */

#ifndef ALLOCGUARD_NO_WRAPPERS
#include <dlfcn.h>
#include <errno.h>

enum { ALLOCGUARD__ACTIVE, ALLOCGUARD__GET_USAGE, ALLOCGUARD__ON_PRESSURE, ALLOCGUARD__SET_CAP,
       ALLOCGUARD__SNAPSHOT, ALLOCGUARD__LEAK_CHECK, ALLOCGUARD__N };

/* The guard's function number i, or NULL (errno ENOSYS) without the guard; looked up once
 * per translation unit.  The null handle is RTLD_DEFAULT on Linux (naming it needs
 * _GNU_SOURCE). */
static inline void *allocguard__fn(int i)
{
	static const char *const names[ALLOCGUARD__N] = {
		"allocguard_active", "allocguard_get_usage", "allocguard_on_pressure",
		"allocguard_set_cap", "allocguard_snapshot", "allocguard_leak_check" };
	static void *found[ALLOCGUARD__N];
	static int looked[ALLOCGUARD__N];
	if (!__atomic_load_n(&looked[i], __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&found[i], dlsym((void *)0, names[i]), __ATOMIC_RELAXED);
		__atomic_store_n(&looked[i], 1, __ATOMIC_RELEASE);
	}
	void *f = __atomic_load_n(&found[i], __ATOMIC_RELAXED);
	if (!f)
		errno = ENOSYS;
	return f;
}

typedef void (*allocguard__pressure_fn)(int, const allocguard_usage_t *, void *);
typedef int (*allocguard__void_fn)(void);
typedef int (*allocguard__usage_fn)(allocguard_usage_t *);
typedef int (*allocguard__listen_fn)(allocguard__pressure_fn, void *);
typedef int (*allocguard__size_fn)(uint64_t);
typedef int (*allocguard__label_fn)(const char *);
typedef int (*allocguard__leaks_fn)(allocguard_leaks_t *);

static inline int allocguard__active(void)
{
	allocguard__void_fn f = (allocguard__void_fn)allocguard__fn(ALLOCGUARD__ACTIVE);
	return f ? f() : 0;
}
static inline int allocguard__get_usage(allocguard_usage_t *u)
{
	allocguard__usage_fn f = (allocguard__usage_fn)allocguard__fn(ALLOCGUARD__GET_USAGE);
	return f ? f(u) : -1;
}
static inline int allocguard__on_pressure(allocguard__pressure_fn fn, void *arg)
{
	allocguard__listen_fn f = (allocguard__listen_fn)allocguard__fn(ALLOCGUARD__ON_PRESSURE);
	return f ? f(fn, arg) : -1;
}
static inline int allocguard__set_cap(uint64_t bytes)
{
	allocguard__size_fn f = (allocguard__size_fn)allocguard__fn(ALLOCGUARD__SET_CAP);
	return f ? f(bytes) : -1;
}
static inline int allocguard__snapshot(const char *label)
{
	allocguard__label_fn f = (allocguard__label_fn)allocguard__fn(ALLOCGUARD__SNAPSHOT);
	return f ? f(label) : -1;
}
static inline int allocguard__leak_check(allocguard_leaks_t *out)
{
	allocguard__leaks_fn f = (allocguard__leaks_fn)allocguard__fn(ALLOCGUARD__LEAK_CHECK);
	return f ? f(out) : -1;
}

/* Calls in the program go to the wrappers above. */
#define allocguard_active allocguard__active
#define allocguard_get_usage allocguard__get_usage
#define allocguard_on_pressure allocguard__on_pressure
#define allocguard_set_cap allocguard__set_cap
#define allocguard_snapshot allocguard__snapshot
#define allocguard_leak_check allocguard__leak_check
#endif

#ifdef __cplusplus
}
#endif

#endif
