/* evring.c: the event ring (see evring.h).  A producer takes a ticket only while there is
 * room (CAS on head), so every ticket is published and the consumer never waits on a hole. */
#include "evring.h"

#include <string.h>

void *evring_claim(evring_t *r, uint64_t *ticket)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	do {
		if (head - atomic_load_explicit(&r->tail, memory_order_acquire) >= r->n) {
			atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
			return NULL;
		}
	} while (!atomic_compare_exchange_weak_explicit(&r->head, &head, head + 1,
							memory_order_relaxed, memory_order_relaxed));
	*ticket = head;
	return r->slots + (size_t)(head % r->n) * r->size;
}

void evring_publish(evring_t *r, uint64_t ticket)
{
	atomic_store_explicit(&r->seq[ticket % r->n], ticket + 1, memory_order_release);
}

size_t evring_take(evring_t *r, void *out, size_t max)
{
	size_t n = 0;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	while (n < max &&
	       atomic_load_explicit(&r->seq[tail % r->n], memory_order_acquire) == tail + 1) {
		memcpy((unsigned char *)out + n * r->size, r->slots + (size_t)(tail % r->n) * r->size,
		       r->size);
		n++;
		tail++;
	}
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	return n;
}
