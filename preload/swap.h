/* swap.h: model-file mmap swap.  A read-only or private mapping of a large model file is
 * served from anonymous memory filled by chunked preads, so it counts against the cap and
 * survives the file changing.  Called by mapping.c with the hook's arguments. */
#ifndef ALLOCGUARD_SWAP_H
#define ALLOCGUARD_SWAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* true when the mapping was handled here (*out is the result, MAP_FAILED with errno set on
 * failure); false to let the mapping through untouched. */
bool swap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **out);
/* Tell the swap module that [lo, hi) was unmapped or moved (maptab lock held). */
void swap_unmapped(uintptr_t lo, uintptr_t hi);
void swap_remapped(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len);
/* mremap with MREMAP_DONTUNMAP copied [old, old + len) to new_addr; the old range stays. */
void swap_copied(uintptr_t old, size_t len, uintptr_t new_addr);
/* In a fork child (from the atfork handler): keep lazily served regions working. */
void swap_postfork_child(void);

#endif
