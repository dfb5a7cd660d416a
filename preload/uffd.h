/* uffd.h: lazy filling of swapped model files with userfaultfd.  Owns the table of lazy
 * regions (address range, file, offset) and the one handler thread that serves their
 * missing-page faults chunk by chunk.  Whether to swap, and the cap, are swap.c's. */
#ifndef ALLOCGUARD_UFFD_H
#define ALLOCGUARD_UFFD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Open the userfaultfd once.  0 when lazy filling is possible, else the errno value of the
 * failure (the same one on every later call). */
int uffd_ready(void);
/* Serve the anonymous mapping [lo, hi) lazily from fd (which the table takes over) at off,
 * chunk bytes per read (a page multiple); prot is the program's, for pages past EOF.  Entries overlapping [lo, hi) are dropped first.
 * Returns 0, or an errno value (the caller still owns fd then). */
int uffd_add(uintptr_t lo, uintptr_t hi, int fd, off_t off, size_t chunk, int prot);
/* [lo, hi) was unmapped or replaced: forget it (splitting entries as needed). */
void uffd_forget(uintptr_t lo, uintptr_t hi);
/* mremap moved [old, old + old_len) to [new_addr, new_addr + new_len) (page multiples). */
void uffd_moved(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len);
/* mremap with MREMAP_DONTUNMAP: [old, old + len) is served at new_addr too. */
void uffd_copied(uintptr_t old, size_t len, uintptr_t new_addr);
/* In a fork child: a fresh userfaultfd and handler for the inherited lazy regions. */
void uffd_postfork_child(void);
/* Bytes of lazy regions currently in the table (tests). */
size_t uffd_lazy_bytes(void);

#endif
