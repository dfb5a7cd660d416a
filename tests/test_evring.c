/* test_evring.c: the hook-to-writer event ring (preload/evring.c) keeps order, drops when
 * full, and never stalls after an overflow. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "evring.h"

typedef struct {
	uint64_t a, b;
} ev_t;

EVRING(ring, ev_t, 8);

static bool put(uint64_t a)
{
	uint64_t ticket;
	ev_t *e = evring_claim(&ring, &ticket);
	if (!e)
		return false;
	e->a = a;
	e->b = a * 3;
	evring_publish(&ring, ticket);
	return true;
}

Test(evring, order_overflow_and_recovery)
{
	ev_t out[16];
	for (uint64_t i = 0; i < 8; i++)
		cr_assert(put(i));
	cr_assert_not(put(99), "a full ring drops");
	cr_assert_eq(atomic_load(&ring.dropped), 1);
	size_t n = evring_take(&ring, out, 16);
	cr_assert_eq(n, 8);
	for (uint64_t i = 0; i < 8; i++) {
		cr_assert_eq(out[i].a, i);
		cr_assert_eq(out[i].b, i * 3);
	}
	/* after the overflow the ring goes on: no hole left behind by the dropped event */
	for (uint64_t round = 0; round < 5; round++) {
		cr_assert(put(100 + round));
		cr_assert_eq(evring_take(&ring, out, 16), 1);
		cr_assert_eq(out[0].a, 100 + round);
	}
	cr_assert_eq(evring_take(&ring, out, 16), 0);
}

static void *producer(void *arg)
{
	for (uint64_t i = 0; i < 20000; i++)
		while (!put((uint64_t)(uintptr_t)arg * 1000000 + i))
			;
	return NULL;
}

Test(evring, racing_producers_lose_nothing_they_were_told_was_queued)
{
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, producer, (void *)(i + 1));
	uint64_t got = 0, next[4] = { 0 };
	ev_t out[8];
	while (got < 60000) {
		size_t n = evring_take(&ring, out, 8);
		for (size_t i = 0; i < n; i++) {
			uint64_t who = out[i].a / 1000000, seq = out[i].a % 1000000;
			cr_assert_eq(seq, next[who], "producer %llu out of order", (unsigned long long)who);
			cr_assert_eq(out[i].b, out[i].a * 3, "torn event");
			next[who]++;
		}
		got += n;
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
}
