/* gotpatch.h: bring libraries opened with RTLD_DEEPBIND back to the program's malloc.
 * Such a library looks malloc & co. up in its own scope first and finds libc's, past the
 * preload: its frees of our blocks would leave them charged, and blocks it allocates would
 * be invisible.  Its GOT slots for the malloc family are pointed at the definitions the
 * rest of the program uses (ours), as heaptrack's injection does. */
#ifndef ALLOCGUARD_GOTPATCH_H
#define ALLOCGUARD_GOTPATCH_H

#include <stdbool.h>
#include <stddef.h>

typedef void *(*gotpatch_dlopen_t)(const char *file, int flags);

/* The dlopen after ours (libc's). */
gotpatch_dlopen_t gotpatch_next_dlopen(void);
/* Whether a dlopen with these flags must go through gotpatch_dlopen (RTLD_DEEPBIND). */
bool gotpatch_needed(int flags);
/* Open a deep-bound library and point every loaded object's malloc-family GOT slots (and
 * function pointers in data) that hold libc's definition, or a lazy PLT stub about to
 * resolve to it, at the program's.  The loader takes us for the caller, so a bare name it
 * cannot find is looked for in the caller's DT_RUNPATH / DT_RPATH.  errno preserved on
 * success.  Not for the allocation path (a lock, dl_iterate_phdr, mprotect). */
void *gotpatch_dlopen(const char *file, int flags, const void *caller);

#endif
