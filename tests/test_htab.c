/* test_htab.c: analyzer/htab.c against a plain list: every value put is found under its
 * key, once, whatever the collisions and the growth; absent keys are absent. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "htab.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

Test(htab, every_value_is_found_under_its_key_once)
{
	enum { N = 200000 };
	htab_t t = HTAB_INIT;
	uint64_t *keys = malloc(N * sizeof *keys);
	cr_assert_not_null(keys);
	for (uint64_t i = 0; i < N; i++) {
		/* dense small keys, random ones and multiples of a power of two (which a weak
		 * hash would pile into few slots) */
		keys[i] = i % 3 == 0 ? i : i % 3 == 1 ? next_rand() : i << 20;
		cr_assert_eq(htab_put(&t, keys[i], i), 0);
	}
	cr_assert_eq(t.n, N);
	cr_assert(t.n * 2 <= t.cap, "at most half full: %zu of %zu", t.n, t.cap);
	for (uint64_t i = 0; i < N; i++) {
		size_t pos = HTAB_START, seen = 0;
		uint64_t v;
		while (htab_find(&t, keys[i], &pos, &v))
			seen += v == i;
		cr_assert_eq(seen, 1, "value %llu under key %llx", (unsigned long long)i,
			     (unsigned long long)keys[i]);
	}
	uint64_t v;
	for (int k = 0; k < 1000; k++) {
		uint64_t absent = next_rand() | 1ULL << 63;   /* never a key above */
		cr_assert(!htab_get(&t, absent, &v));
	}
	htab_free(&t);
	cr_assert_eq(t.cap, 0);
	cr_assert(!htab_get(&t, keys[0], &v));
	free(keys);
}

Test(htab, one_key_holds_many_values)
{
	htab_t t = HTAB_INIT;
	for (uint64_t i = 0; i < 1000; i++) {
		cr_assert_eq(htab_put(&t, 42, i), 0);
		cr_assert_eq(htab_put(&t, 43 + i, i), 0);
	}
	uint64_t sum = 0, count = 0, v;
	for (size_t pos = HTAB_START; htab_find(&t, 42, &pos, &v); count++)
		sum += v;
	cr_assert_eq(count, 1000);
	cr_assert_eq(sum, 999 * 1000 / 2);
	cr_assert(htab_get(&t, 43 + 500, &v) && v == 500);
	cr_assert_eq(htab_put(&t, 1, UINT64_MAX), EINVAL);
	htab_free(&t);
}

Test(htab, string_hashes_tell_strings_and_seeds_apart)
{
	cr_assert_neq(htab_str("malloc", 0), htab_str("calloc", 0));
	cr_assert_neq(htab_str("", 0), htab_str("", 1));
	cr_assert_eq(htab_str("leaks.c", 7), htab_str("leaks.c", 7));
	cr_assert_neq(htab_mix(1), htab_mix(2));
}
