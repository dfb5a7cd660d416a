/* modules.h: the module map written into logs (M lines): each loaded ELF object with its
 * load bias, address range and GNU build-id, so stacks can be symbolized offline.  Objects
 * are also remembered when first seen by a new stack (modules_note), so one dlclose'd
 * before the next snapshot is still written, with a U line saying from which stack id on
 * its range may belong to another object. */
#ifndef ALLOCGUARD_MODULES_H
#define ALLOCGUARD_MODULES_H

#include "logbuf.h"

#include <stdbool.h>
#include <sys/types.h>

#include <link.h>
#include <stdint.h>

/* The address range [lo, hi) covered by an object's PT_LOAD segments (lo >= hi: none). */
void modules_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi);

/* Whether objects were loaded or unloaded since the last modules_write for this log. */
bool modules_changed(unsigned long long seen);
/* From now on nothing changed, without asking the loader: in a scanner child (scanchild.h)
 * the loader's lock may be held by a thread that is not there. */
void modules_freeze(void);
/* The J line naming a JIT's perf map of process pid (node's --perf-basic-prof), when one
 * is readable: whether it was written. */
bool modules_write_jit_map(logbuf_t *lb, pid_t pid);
/* Write an M line per module loaded now, and one (followed by its U line) per remembered
 * module gone that this log has not had yet (fresh: a new log file, which has had none);
 * returns the load counter to pass to modules_changed. */
unsigned long long modules_write(logbuf_t *lb, bool fresh);

/* Remember newly loaded objects and mark the ones gone since the last call as unloaded
 * before stack id next_stack.  Called before a new stack gets its id (any stack with a
 * frame in an object is interned while it is loaded).  Malloc-free; cheap when nothing
 * changed (one dl_iterate_phdr step). */
void modules_note(uint32_t next_stack);

#endif
