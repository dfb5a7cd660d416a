/* forkshare.h: the mappings a program keeps out of its forks' children (MADV_DONTFORK, as V8
 * does with its whole heap), let into the exit scan's child for the time of its clone, so
 * that the child scans the same memory the process would.  Both calls run with the other
 * threads stopped, between the stop and the clone, and take no lock. */
#ifndef ALLOCGUARD_FORKSHARE_H
#define ALLOCGUARD_FORKSHARE_H

#include <stdbool.h>
#include <stddef.h>

/* Advise every mapping kept out of forks MADV_DOFORK.  False when smaps could not be read
 * whole or a mapping could not be remembered: the child would miss memory the process
 * scans, so there must be no child (forkshare_end still advises back what was let in). */
bool forkshare_begin(void);
/* After the clone: with advise_back (the program's process, or no clone), those mappings
 * are kept out of forks again; the child has no need. */
void forkshare_end(bool advise_back);

#endif
