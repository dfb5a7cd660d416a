/* test_stacktab.c: stack interning (preload/stacktab.c): equal stacks share an id, different
 * ones do not, also when threads race to insert the same stacks. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "logfmt.h"
#include "stacktab.h"

Test(stacktab, same_frames_same_id)
{
	uintptr_t a[3] = { 0x401000, 0x402000, 0x403000 }, b[3] = { 0x401000, 0x402000, 0x403001 };
	uint32_t ia = stacktab_intern(AG_KIND_HEAP, a, 3);
	cr_assert_neq(ia, 0);
	cr_assert_eq(stacktab_intern(AG_KIND_HEAP, a, 3), ia);
	cr_assert_neq(stacktab_intern(AG_KIND_HEAP, b, 3), ia);
	cr_assert_neq(stacktab_intern(AG_KIND_HEAP, a, 2), ia, "depth is part of the key");
	cr_assert_neq(stacktab_intern(AG_KIND_MMAP, a, 3), ia, "kind is part of the key");
	stack_rec_t *r = stacktab_get(ia);
	cr_assert_eq(r->depth, 3);
	cr_assert_eq(r->frames[2], 0x403000);
}

Test(stacktab, aggregates)
{
	uintptr_t a[1] = { 0x999 };
	uint32_t id = stacktab_intern(AG_KIND_HEAP, a, 1);
	stacktab_alloc(id, 100, COUNT_ONE);
	stacktab_alloc(id, 50, COUNT_ONE);
	stacktab_free(id, 100, COUNT_ONE);
	stack_totals_t t;
	stacktab_read(stacktab_get(id), &t);
	cr_assert_eq(t.live_bytes, 50);
	cr_assert_eq(t.live_count, COUNT_ONE);
	cr_assert_eq(t.total_bytes, 150);
	cr_assert_eq(t.total_count, 2 * COUNT_ONE);
}

static void *intern_many(void *arg)
{
	uint32_t *ids = arg;
	for (uintptr_t i = 0; i < 20000; i++) {
		uintptr_t f[4] = { 0x10000 + i, 0x20000, 0x30000 + i % 7, 0x40000 };
		ids[i] = stacktab_intern(AG_KIND_HEAP, f, 4);
	}
	return NULL;
}

Test(stacktab, racing_threads_agree_on_ids)
{
	static uint32_t ids[4][20000];
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, intern_many, ids[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 20000; i++) {
		cr_assert_neq(ids[0][i], 0);
		for (int k = 1; k < 4; k++)
			cr_assert_eq(ids[k][i], ids[0][i], "stack %d: %u vs %u", i, ids[k][i], ids[0][i]);
		if (i)
			cr_assert_neq(ids[0][i], ids[0][i - 1]);
	}
}

Test(stacktab, more_stacks_than_the_first_level_holds)
{
	enum { N = 400000 };   /* the first level has 256K slots */
	static uint32_t ids[N];
	for (uintptr_t i = 0; i < N; i++) {
		uintptr_t f[2] = { 0x500000 + i * 16, 0x600000 };
		ids[i] = stacktab_intern(AG_KIND_HEAP, f, 2);
		cr_assert_neq(ids[i], 0, "stack %lu got no id", (unsigned long)i);
	}
	for (uintptr_t i = 0; i < N; i++) {
		uintptr_t f[2] = { 0x500000 + i * 16, 0x600000 };
		cr_assert_eq(stacktab_intern(AG_KIND_HEAP, f, 2), ids[i], "stack %lu moved",
			     (unsigned long)i);
		cr_assert_eq(stacktab_get(ids[i])->frames[0], f[0]);
	}
}
