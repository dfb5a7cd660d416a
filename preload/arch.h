/* arch.h: what the preload knows of the processor, in one file per architecture.  The
 * preload builds on x86_64 only; a port adds arch_<name>.h with the same definitions. */
#ifndef ALLOCGUARD_ARCH_H
#define ALLOCGUARD_ARCH_H

#if defined(__x86_64__)
#include "arch_x86_64.h"
#else
#error "allocguard's preload supports x86_64 only (see preload/arch_x86_64.h)"
#endif

#endif
