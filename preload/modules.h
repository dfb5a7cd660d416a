/* modules.h: the module map written into logs (M lines): each loaded ELF object with its
 * load bias, address range and GNU build-id, so stacks can be symbolized offline. */
#ifndef ALLOCGUARD_MODULES_H
#define ALLOCGUARD_MODULES_H

#include "logbuf.h"

#include <stdbool.h>

#include <link.h>
#include <stdint.h>

/* The address range [lo, hi) covered by an object's PT_LOAD segments (lo >= hi: none). */
void modules_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi);

/* Whether objects were loaded or unloaded since the last modules_write for this log. */
bool modules_changed(unsigned long long seen);
/* Write an M line per module; returns the load counter to pass to modules_changed. */
unsigned long long modules_write(logbuf_t *lb);

#endif
