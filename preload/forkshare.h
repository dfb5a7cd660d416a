/* forkshare.h: the mappings a program keeps out of its forks' children (MADV_DONTFORK, as V8
 * does with its whole heap), let into the exit scan's child for the time of its clone, so
 * that the child scans the same memory the process would.  Both calls run with the other
 * threads stopped, between the stop and the clone, and take no lock. */
#ifndef ALLOCGUARD_FORKSHARE_H
#define ALLOCGUARD_FORKSHARE_H

#include <stdbool.h>
#include <stddef.h>

/* Advise every mapping kept out of forks MADV_DOFORK; how many were. */
size_t forkshare_begin(void);
/* After the clone: with advise_back (the program's process, or no clone), those mappings
 * are kept out of forks again; the child has no need. */
void forkshare_end(bool advise_back);

#endif
