/* evring.h: a small multi-producer, single-consumer ring of fixed-size events, for what the
 * hook path has to tell the log writer (cap events, swapped files).  Lock-free, no
 * allocation; when the writer falls behind, new events are dropped and counted, and the
 * ring never stalls. */
#ifndef ALLOCGUARD_EVRING_H
#define ALLOCGUARD_EVRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	_Atomic uint64_t head, tail;
	_Atomic uint64_t dropped;
	uint32_t n;                  /* slots */
	uint32_t size;               /* bytes per event */
	_Atomic uint64_t *seq;       /* per slot: ticket + 1 once published */
	unsigned char *slots;
} evring_t;

/* A static ring of count events of type. */
#define EVRING(name, type, count)                                                         \
	static _Atomic uint64_t name##_seq[count];                                          \
	static type name##_slots[count];                                                    \
	static evring_t name = { .n = (count), .size = sizeof(type), .seq = name##_seq,     \
				 .slots = (unsigned char *)name##_slots }

/* Room for one event, to fill and then publish with its ticket; NULL when full. */
void *evring_claim(evring_t *r, uint64_t *ticket);
void evring_publish(evring_t *r, uint64_t ticket);
/* Copy up to max published events, oldest first, into out; returns how many. */
size_t evring_take(evring_t *r, void *out, size_t max);

#endif
