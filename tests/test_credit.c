/* test_credit.c: preload/credit.c's slots.  Credit handed to racing threads and taken back
 * by a reclaimer at the same time always adds up: what was given = what the threads used
 * + what is left in the slots + what the reclaims returned (credit.h's invariant, on which
 * the cap's exactness rests), and unflushed counts flush past CREDIT_FLUSH either way. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "credit.h"

static atomic_llong settled;

static void on_exit_settle(int64_t credit, int64_t unflushed)
{
	atomic_fetch_add(&settled, credit);
}

static atomic_int stop;
static atomic_llong used_total, given_total, returned_total;

static void *worker(void *arg)
{
	long long used = 0, given = 0, returned = 0;
	for (int i = 0; i < 200000; i++) {
		uint64_t n = 1 + (uint64_t)(i * 7919) % 3000;
		if (credit_take(n)) {
			used += (long long)n;
			if (i % 3) {   /* a free: the bytes come back as credit */
				int64_t back;
				cr_assert(credit_give(n, &back));
				used -= (long long)n;
				returned += back;
			}
		} else {
			int64_t back;
			cr_assert(credit_give(CREDIT_CHUNK, &back));   /* a grant */
			given += CREDIT_CHUNK;
			returned += back;
		}
	}
	atomic_fetch_add(&used_total, used);
	atomic_fetch_add(&given_total, given);
	atomic_fetch_add(&returned_total, returned);
	return NULL;
}

static void *reclaimer(void *arg)
{
	long long got = 0;
	while (!atomic_load(&stop))
		got += credit_reclaim();
	got += credit_reclaim();
	*(long long *)arg = got;
	return NULL;
}

Test(credit, take_give_and_reclaim_add_up_under_races)
{
	credit_init(on_exit_settle);
	pthread_t w[3], rc;
	long long reclaimed = 0;
	pthread_create(&rc, NULL, reclaimer, &reclaimed);
	for (int i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(rc, NULL);
	/* the workers' slots were settled at their exit, the reclaimer took the rest */
	long long left = credit_reclaim();
	cr_assert_eq(atomic_load(&given_total),
		     atomic_load(&used_total) + atomic_load(&returned_total) + reclaimed + left +
		     atomic_load(&settled),
		     "given %lld = used %lld + returned %lld + reclaimed %lld + left %lld + settled "
		     "%lld", atomic_load(&given_total), atomic_load(&used_total),
		     atomic_load(&returned_total), reclaimed, left, atomic_load(&settled));
}

Test(credit, unflushed_counts_flush_in_chunks)
{
	credit_init(on_exit_settle);
	cr_assert_not_null(credit_slot());
	int64_t flush, sum = 0, flushed = 0;
	for (int i = 0; i < 1000; i++) {
		cr_assert(credit_count(i % 2 ? 1000 : 3000, &flush));
		sum += i % 2 ? 1000 : 3000;
		flushed += flush;
		cr_assert(flush == 0 || flush >= CREDIT_FLUSH, "flushed %lld", (long long)flush);
		cr_assert_lt(sum - flushed, CREDIT_FLUSH);
	}
	cr_assert_eq(sum - flushed, credit_unflushed());
	int64_t left = credit_unflushed();
	cr_assert(credit_count(-(left + CREDIT_FLUSH), &flush));
	cr_assert_eq(flush, -CREDIT_FLUSH, "a release flushes too");
	cr_assert_eq(credit_unflushed(), 0);
}
