/* maptab.h: the tracked mappings: anonymous mappings the program made through mmap, and
 * swapped model files.  Keeps, page range by page range, protection, kind and stack, and
 * from them the committed bytes: a piece counts when it is accessible (prot != PROT_NONE)
 * or swapped.  Callers hold maptab_lock() across "compute delta, charge cap, syscall,
 * apply", so the table always matches the kernel; totals are charged by the caller. */
#ifndef ALLOCGUARD_MAPTAB_H
#define ALLOCGUARD_MAPTAB_H

#include "account.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	char kind;        /* 0 = not tracked, AG_KIND_MMAP or AG_KIND_SWAP */
	int prot;
	uint32_t stack;
	/* Which mapping the piece belongs to (for the exit scan, which judges a mapping as a
	 * whole): 0 when assigning = the tracked mapping it lands on (a MAP_FIXED commit inside
	 * a reservation), else its own start. */
	uintptr_t origin;
} mapstate_t;

/* Net change of committed bytes, per account kind. */
typedef struct {
	int64_t d[ACC_KINDS];
} map_delta_t;

void maptab_lock(void);
void maptab_unlock(void);
void maptab_reinit_lock(void);

/* [lo, hi) becomes st (kind 0: untracked, e.g. munmap or a file mapping over it). */
map_delta_t maptab_delta_assign(uintptr_t lo, uintptr_t hi, const mapstate_t *st);
void maptab_assign(uintptr_t lo, uintptr_t hi, const mapstate_t *st);

/* mprotect of [lo, hi); pieces that become committed are attributed to stack. */
map_delta_t maptab_delta_protect(uintptr_t lo, uintptr_t hi, int prot);
void maptab_protect(uintptr_t lo, uintptr_t hi, int prot, uint32_t stack);

/* mremap: [old, old + old_len) moves to [new, new + new_len); growth takes the state of the
 * last piece.  delta is zero when old is not tracked at all. */
map_delta_t maptab_delta_remap(uintptr_t old, size_t old_len, size_t new_len);
void maptab_remap(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len);

/* mremap with MREMAP_DONTUNMAP: [old, old + len) is copied to new_addr and the old range
 * stays mapped, so both count.  delta is what the copy adds. */
map_delta_t maptab_delta_copy(uintptr_t old, size_t len);
void maptab_copy(uintptr_t old, size_t len, uintptr_t new_addr);

/* The state at addr (kind 0 when untracked). */
mapstate_t maptab_state_at(uintptr_t addr);

/* For the exit scan, under maptab_lock(): copy the pieces (sorted) into out, up to max;
 * returns how many there are. */
typedef struct {
	uintptr_t lo, hi;
	mapstate_t st;
} maptab_piece_t;
size_t maptab_list(maptab_piece_t *out, size_t max);

#endif
