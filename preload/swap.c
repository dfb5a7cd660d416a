/* swap.c: model-file mmap swap (see swap.h).  Not implemented yet: every file mapping
 * passes through untouched. */
#include "swap.h"

void swap_init(void) {}

bool swap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **out)
{
	return false;
}

void swap_unmapped(uintptr_t lo, uintptr_t hi) {}
void swap_remapped(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len) {}
