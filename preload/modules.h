/* modules.h: the module map written into logs (M lines): each loaded ELF object with its
 * load bias, address range and GNU build-id, so stacks can be symbolized offline. */
#ifndef ALLOCGUARD_MODULES_H
#define ALLOCGUARD_MODULES_H

#include "logbuf.h"

#include <stdbool.h>

/* Whether objects were loaded or unloaded since the last modules_write for this log. */
bool modules_changed(unsigned long long seen);
/* Write an M line per module; returns the load counter to pass to modules_changed. */
unsigned long long modules_write(logbuf_t *lb);

#endif
