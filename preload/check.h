/* check.h: invariants in code.  AG_ASSERT(cond) states an invariant where it is kept; it
 * compiles to nothing in the library and, with -DAG_CHECKS (the unit-test binary, or
 * `make CHECKS=1`), stops the process with the file, line and condition, so the unit and
 * stress tests check every invariant on every run (musl mallocng's style).  No malloc and
 * no stdio: it may fire on the hook path. */
#ifndef ALLOCGUARD_CHECK_H
#define ALLOCGUARD_CHECK_H

#ifdef AG_CHECKS
#include "fmt.h"

#include <stdlib.h>

static inline __attribute__((noreturn, cold)) void ag_check_failed(const char *file, int line,
								   const char *cond)
{
	char buf[512];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf);
	fmt_str(&f, "invariant broken at ");
	fmt_str(&f, file);
	fmt_chr(&f, ':');
	fmt_u64(&f, (uint64_t)line);
	fmt_str(&f, ": ");
	fmt_str(&f, cond);
	fmt_say(buf);
	abort();
}

#define AG_ASSERT(c) ((c) ? (void)0 : ag_check_failed(__FILE__, __LINE__, #c))
#define AG_CHECKING 1
#else
#define AG_ASSERT(c) ((void)0)
#define AG_CHECKING 0
#endif

#endif
