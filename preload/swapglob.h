/* swapglob.h: a malloc-free shell-glob matcher for ALLOCGUARD_SWAP's file patterns (`*`, `?`,
 * `[...]` with ranges and `!`/`^`, `\` escapes).  fnmatch(3) may allocate, so it cannot run
 * on the mmap hook path.  `*` also matches '/', as fnmatch without FNM_PATHNAME. */
#ifndef ALLOCGUARD_SWAPGLOB_H
#define ALLOCGUARD_SWAPGLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s matches the pattern pat[0..plen). */
bool swapglob_match(const char *pat, size_t plen, const char *s);
/* Whether path, or its basename, matches one of the ':'-separated patterns in list. */
bool swapglob_list_match(const char *list, const char *path);

#endif
