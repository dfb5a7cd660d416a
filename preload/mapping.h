/* mapping.h: what mmap, munmap, mremap and mprotect mean for allocguard: anonymous mappings
 * count once accessible, swapped model files always; each call is charged against the cap
 * before the kernel sees it.  The table itself is maptab.c's, model files are swap.c's. */
#ifndef ALLOCGUARD_MAPPING_H
#define ALLOCGUARD_MAPPING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

void *mapping_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int mapping_munmap(void *addr, size_t len);
void *mapping_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
int mapping_mprotect(void *addr, size_t len, int prot);
/* sbrk and brk called by the program (glibc's malloc moves the break past the hooks). */
void *mapping_sbrk(intptr_t inc);
int mapping_brk(void *addr);

#endif
