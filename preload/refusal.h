/* refusal.h: where a request refused at the cap came from: its call stack, interned so
 * the log names it (the V line's stack) and written into the message as module+offset
 * frames, which `allocguard report` then names with functions and lines.  Only on the
 * refusal path, never on an admitted allocation's. */
#ifndef ALLOCGUARD_REFUSAL_H
#define ALLOCGUARD_REFUSAL_H

#include <stdint.h>

#include "fmt.h"

/* Capture the calling thread's stack (kind: AG_KIND_*) and intern it; 0 when it cannot. */
uint32_t refusal_stack(char kind);
/* "; at prog+0x11d6 < prog+0x12a0 < libc.so.6+0x29d8f (stack 7 in the log)" for stack. */
void refusal_where(fmt_t *f, uint32_t stack);

#endif
