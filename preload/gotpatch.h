/* gotpatch.h: bring libraries opened with RTLD_DEEPBIND back to the program's malloc.
 * Such a library looks malloc & co. up in its own scope first and finds libc's, past the
 * preload: its frees of our blocks would leave them charged, and blocks it allocates would
 * be invisible.  Its GOT slots for the malloc family are pointed at the definitions the
 * rest of the program uses (ours), as heaptrack's injection does. */
#ifndef ALLOCGUARD_GOTPATCH_H
#define ALLOCGUARD_GOTPATCH_H

#include <stddef.h>

/* Rewrite every loaded object's malloc-family GOT slots that hold libc's definition (or a
 * lazy PLT stub about to resolve to it).  Call after a dlopen with RTLD_DEEPBIND returned;
 * not on the allocation path (it takes a lock and may mprotect RELRO pages).  Returns the
 * number of slots rewritten. */
int gotpatch_deepbind(void);

/* A deep-bound dlopen goes through us, so the loader takes us for the caller and never
 * searches the caller's DT_RUNPATH / DT_RPATH.  After the loader's own search failed for
 * a bare name, find it there: 0 with the path in out, else ENOENT. */
int gotpatch_caller_path(const void *caller, const char *file, char *out, size_t len);

#endif
