/* mapcharge.h: charging the cap for changes to the tracked mappings.  The mapping policy
 * (mapping.c, swap.c) works out a delta from the table (maptab.h), charges it here before
 * the syscall, and undoes the charge when the syscall fails; the table itself knows nothing
 * of the cap or the totals. */
#ifndef ALLOCGUARD_MAPCHARGE_H
#define ALLOCGUARD_MAPCHARGE_H

#include "maptab.h"

#include <stdbool.h>
#include <stdint.h>

/* Apply a delta to the totals through the cap: positive parts are charged (refused: ENOMEM,
 * nothing charged), negative parts released.  commit says the bytes are a reservation
 * being made accessible (see cap_charge_commit); what names the call for messages (NULL:
 * the kind's own name). */
int mapcharge_charge(const map_delta_t *d, const char *what, bool commit);
/* After maptab's lock is released: tell a cap event the charge could not tell under it
 * (cap_tell_deferred).  Every mapping call ends with it. */
void mapcharge_settle(void);
/* Undo mapcharge_charge after the syscall failed. */
void mapcharge_uncharge(const map_delta_t *d);

/* The kernel just handed out [lo, hi) afresh, so anything still tracked there was unmapped
 * behind our back (a raw munmap syscall): release it from the totals and forget it.  Under
 * maptab_lock(). */
void mapcharge_drop_stale(uintptr_t lo, uintptr_t hi);

/* After the table gained pieces: the peaks (and the per-site figures at the peak) follow. */
void mapcharge_gained(void);

#endif
