/* test_ptrtab.c: the live-block table (preload/ptrtab.c), against a reference model and
 * under concurrent use. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "ptrtab.h"

/* Addresses unlikely to collide with other tests in the same process. */
static uintptr_t addr_of(unsigned tag, unsigned i)
{
	return ((uintptr_t)tag << 40) + (uintptr_t)i * 16;
}

Test(ptrtab, insert_lookup_remove_against_reference)
{
	enum { N = 50000 };
	static uint64_t ref[N];
	srand(1);
	size_t before = ptrtab_count();
	for (int round = 0; round < 4; round++) {
		for (unsigned i = 0; i < N; i++) {
			int op = rand() % 3;
			uintptr_t a = addr_of(1, i);
			ptr_entry_t e;
			if (op == 0 && !ref[i]) {
				uint64_t size = (uint64_t)(rand() % 100000) + 1;
				cr_assert_eq(ptrtab_insert(a, size, i % 1000 + 1, NULL), 0);
				ref[i] = size;
			} else if (op == 1) {
				bool had = ptrtab_remove(a, &e);
				cr_assert_eq(had, ref[i] != 0, "remove %u", i);
				if (had)
					cr_assert_eq(e.size, ref[i]);
				ref[i] = 0;
			} else {
				bool has = ptrtab_lookup(a, &e);
				cr_assert_eq(has, ref[i] != 0, "lookup %u", i);
				if (has) {
					cr_assert_eq(e.size, ref[i]);
					cr_assert_eq(e.stack, i % 1000 + 1);
				}
			}
		}
	}
	size_t live = 0;
	for (unsigned i = 0; i < N; i++)
		live += ref[i] != 0;
	cr_assert_eq(ptrtab_count() - before, live);
	for (unsigned i = 0; i < N; i++) {
		ptr_entry_t e;
		cr_assert_eq(ptrtab_remove(addr_of(1, i), &e), ref[i] != 0);
	}
	cr_assert_eq(ptrtab_count(), before);
}

Test(ptrtab, huge_sizes_are_clamped_not_wrapped)
{
	ptr_entry_t e;
	cr_assert_eq(ptrtab_insert(addr_of(2, 1), UINT64_C(1) << 50, 7, NULL), 0);
	cr_assert(ptrtab_remove(addr_of(2, 1), &e));
	cr_assert_eq(e.size, PTRTAB_MAX_SIZE);
}

static void *churn(void *arg)
{
	unsigned tag = (unsigned)(uintptr_t)arg;
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned i = 0; i < 5000; i++)
			if (ptrtab_insert(addr_of(tag, i), i + 1, tag, NULL) != 0)
				return (void *)1;
		for (unsigned i = 0; i < 5000; i++) {
			ptr_entry_t e;
			if (!ptrtab_remove(addr_of(tag, i), &e) || e.size != i + 1 || e.stack != tag)
				return (void *)2;
		}
	}
	return NULL;
}

Test(ptrtab, concurrent_threads_see_only_their_own_blocks)
{
	pthread_t t[4];
	for (unsigned i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(10 + i));
	for (unsigned i = 0; i < 4; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		cr_assert_null(rc, "thread %u failed with %p", i, rc);
	}
}

Test(ptrtab, collect_sees_every_block)
{
	size_t before = ptrtab_count();
	for (unsigned i = 0; i < 1000; i++)
		ptrtab_insert(addr_of(3, i), 8, 1, NULL);
	size_t cap = ptrtab_count() + 10;
	ptr_entry_t *all = calloc(cap, sizeof *all);
	size_t n = ptrtab_collect(all, cap, false);
	cr_assert_eq(n, before + 1000);
	size_t mine = 0;
	for (size_t i = 0; i < n; i++)
		mine += (all[i].addr >> 40) == 3;
	cr_assert_eq(mine, 1000);
	free(all);
	for (unsigned i = 0; i < 1000; i++) {
		ptr_entry_t e;
		ptrtab_remove(addr_of(3, i), &e);
	}
}

Test(ptrtab, reinserting_an_address_hands_back_the_stale_entry)
{
	ptr_entry_t stale = { 0 }, e;
	cr_assert_eq(ptrtab_insert(addr_of(4, 1), 100, 3, &stale), 0);
	cr_assert_eq(stale.addr, 0, "a fresh address replaces nothing");
	cr_assert_eq(ptrtab_insert(addr_of(4, 1), 200, 5, &stale), 0);
	cr_assert_eq(stale.addr, addr_of(4, 1));
	cr_assert_eq(stale.size, 100);
	cr_assert_eq(stale.stack, 3);
	cr_assert(ptrtab_remove(addr_of(4, 1), &e));
	cr_assert_eq(e.size, 200);
	cr_assert_not(ptrtab_remove(addr_of(4, 1), &e), "one entry per address");
}

/* ---- unsized entries (marks) ---- */

static size_t size_by_addr(void *p)
{
	return ((uintptr_t)p >> 3) % 1000 + 1;
}

Test(ptrtab, marks_are_set_once_and_cleared_once)
{
	uintptr_t a = addr_of(5, 7);
	cr_assert_eq(ptrtab_mark(a), 0);
	cr_assert_eq(ptrtab_mark(a), EEXIST, "a second mark says the first block was lost");
	cr_assert(ptrtab_unmark(a));
	cr_assert_not(ptrtab_unmark(a), "unmarked twice");
	cr_assert_not(ptrtab_unmark(addr_of(5, 8)), "never marked");
	cr_assert_not(ptrtab_unmark(addr_of(5, 8) + 8), "a neighbour 8 bytes on");
	cr_assert_eq(ptrtab_mark((uintptr_t)1 << 48), ENOMEM, "past the bitmap: keep it in the table");
}

/* Marks are collected with entries, sized by the sizer, with stack 0, in address order among
 * themselves; neighbours 8 bytes apart (tcmalloc's smallest blocks) are told apart. */
Test(ptrtab, collect_and_count_include_marks)
{
	ptrtab_unsized_sizer(size_by_addr);
	size_t before = ptrtab_count();
	enum { N = 3000 };
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(ptrtab_mark(addr_of(6, 0) + (uintptr_t)i * 8 + (i % 7) * 4096), 0);
	ptrtab_insert(addr_of(6, 1 << 20), 77, 9, NULL);
	cr_assert_eq(ptrtab_count(), before + N + 1);
	size_t cap = before + N + 16;
	ptr_entry_t *all = calloc(cap, sizeof *all);
	size_t n = ptrtab_collect(all, cap, false);
	cr_assert_eq(n, before + N + 1);
	size_t marks = 0;
	uintptr_t last = 0;
	for (size_t i = 0; i < n; i++) {
		if ((all[i].addr >> 40) != 6)
			continue;
		if (all[i].stack == 9) {
			cr_assert_eq(all[i].size, 77);
			continue;
		}
		cr_assert_eq(all[i].stack, 0);
		cr_assert_eq(all[i].size, size_by_addr((void *)all[i].addr));
		cr_assert_gt(all[i].addr, last, "marks out of address order");
		last = all[i].addr;
		marks++;
	}
	cr_assert_eq(marks, N);
	free(all);
	for (unsigned i = 0; i < N; i++)
		cr_assert(ptrtab_unmark(addr_of(6, 0) + (uintptr_t)i * 8 + (i % 7) * 4096));
	ptr_entry_t e;
	ptrtab_remove(addr_of(6, 1 << 20), &e);
	cr_assert_eq(ptrtab_count(), before);
}

/* Threads marking and unmarking disjoint addresses that share bitmap words. */
static void *mark_churn(void *arg)
{
	uintptr_t base = addr_of(7, 0) + (uintptr_t)arg * 8;
	for (int round = 0; round < 200; round++) {
		for (uintptr_t i = 0; i < 512; i++)
			if (ptrtab_mark(base + i * 32) != 0)
				return (void *)1;
		for (uintptr_t i = 0; i < 512; i++)
			if (!ptrtab_unmark(base + i * 32))
				return (void *)1;
	}
	return NULL;
}

Test(ptrtab, concurrent_marks_in_shared_words)
{
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, mark_churn, (void *)i);
	for (int i = 0; i < 4; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		cr_assert_null(rc, "thread %d lost a mark", i);
	}
}

/* ---- compact and wide slots ---- */

/* Entries that do not fit a compact slot (an address not 8-aligned or past 2^48, a size of
 * 4 GiB or more, a stack id of 2^19 or more) keep every field, and an address moves between
 * the two kinds of slot when reinserted with the other kind of entry. */
Test(ptrtab, entries_too_big_for_a_compact_slot_keep_every_field)
{
	struct {
		uintptr_t addr;
		uint64_t size;
		uint32_t stack;
	} cases[] = {
		{ addr_of(6, 1) + 4, 10, 1 },                       /* 4-aligned */
		{ (UINT64_C(1) << 50) + 64, 20, 2 },                /* past 2^48 */
		{ addr_of(6, 2), UINT64_C(5) << 30, 3 },            /* 5 GiB */
		{ addr_of(6, 3), 30, (UINT32_C(1) << 19) + 5 },     /* a large stack id */
		{ addr_of(6, 4), UINT32_MAX, (UINT32_C(1) << 19) - 1 },   /* the largest compact */
	};
	size_t before = ptrtab_count();
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		cr_assert_eq(ptrtab_insert(cases[i].addr, cases[i].size, cases[i].stack, NULL), 0);
	cr_assert_eq(ptrtab_count() - before, sizeof cases / sizeof *cases);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ptr_entry_t e;
		cr_assert(ptrtab_lookup(cases[i].addr, &e), "case %zu", i);
		cr_assert_eq(e.addr, cases[i].addr);
		cr_assert_eq(e.size, cases[i].size, "case %zu", i);
		cr_assert_eq(e.stack, cases[i].stack, "case %zu", i);
	}
	/* wide -> compact -> wide at one address: one entry, the stale one handed back */
	ptr_entry_t stale = { 0 }, e;
	cr_assert_eq(ptrtab_insert(cases[2].addr, 40, 4, &stale), 0);
	cr_assert_eq(stale.size, cases[2].size);
	cr_assert_eq(ptrtab_insert(cases[2].addr, UINT64_C(6) << 30, 5, &stale), 0);
	cr_assert_eq(stale.size, 40);
	cr_assert_eq(stale.stack, 4);
	cr_assert_eq(ptrtab_count() - before, sizeof cases / sizeof *cases);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		cr_assert(ptrtab_remove(cases[i].addr, &e), "case %zu", i);
	cr_assert_eq(e.size, UINT32_MAX);
	cr_assert_eq(ptrtab_count(), before);
	cr_assert_not(ptrtab_remove(cases[2].addr, &e));
}

/* Many blocks in one go: the tables grow (by half, several times) without losing or
 * duplicating an entry, mixed compact and wide, and shrink back by removal. */
Test(ptrtab, growth_keeps_every_entry)
{
	enum { N = 300000 };
	size_t before = ptrtab_count();
	for (unsigned i = 0; i < N; i++) {
		uintptr_t a = addr_of(7, i) + (i % 7 == 0 ? 8 : 0);
		uint64_t size = i % 11 == 0 ? (UINT64_C(1) << 33) + i : i;
		cr_assert_eq(ptrtab_insert(a, size, i % 1000 + 1, NULL), 0);
	}
	cr_assert_eq(ptrtab_count() - before, N);
	for (unsigned i = 0; i < N; i += 2) {
		ptr_entry_t e;
		uintptr_t a = addr_of(7, i) + (i % 7 == 0 ? 8 : 0);
		cr_assert(ptrtab_remove(a, &e));
		cr_assert_eq(e.size, i % 11 == 0 ? (UINT64_C(1) << 33) + i : i);
		cr_assert_eq(e.stack, i % 1000 + 1);
	}
	for (unsigned i = 1; i < N; i += 2) {
		ptr_entry_t e;
		uintptr_t a = addr_of(7, i) + (i % 7 == 0 ? 8 : 0);
		cr_assert(ptrtab_lookup(a, &e));
		cr_assert_eq(e.stack, i % 1000 + 1);
		cr_assert(ptrtab_remove(a, &e));
	}
	cr_assert_eq(ptrtab_count(), before);
}

/* Bookkeeping per live block: 12-byte slots at 50-75% load once every shard is past its
 * first size, so at most 24 bytes a block (the bound), and never below 12. */
Test(ptrtab, a_live_block_costs_at_most_24_bytes_of_slots)
{
	enum { N = 400000 };
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(ptrtab_insert(addr_of(8, i), 32 + i % 100, i % 5000 + 1, NULL), 0);
	size_t n = ptrtab_count(), bytes = ptrtab_slot_bytes();
	cr_assert_geq(n, N);
	cr_assert_leq(bytes, (size_t)24 * n, "%zu bytes of slots for %zu blocks", bytes, n);
	cr_assert_geq(bytes, (size_t)12 * n);
	for (unsigned i = 0; i < N; i++) {
		ptr_entry_t e;
		cr_assert(ptrtab_remove(addr_of(8, i), &e));
	}
}

/* Threads sharing shards, each with compact and wide entries of its own: every entry comes
 * back with its own size and stack. */
static uint64_t mixed_size(unsigned i)
{
	return i % 3 == 0 ? (UINT64_C(1) << 33) + i : i + 1;
}

static void *churn_mixed(void *arg)
{
	unsigned tag = (unsigned)(uintptr_t)arg;
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 20000; i++)
			if (ptrtab_insert(addr_of(tag, i), mixed_size(i), tag, NULL) != 0)
				return (void *)1;
		for (unsigned i = 0; i < 20000; i++) {
			ptr_entry_t e;
			if (!ptrtab_remove(addr_of(tag, i), &e) || e.size != mixed_size(i) ||
			    e.stack != tag)
				return (void *)2;
		}
	}
	return NULL;
}

Test(ptrtab, concurrent_compact_and_wide_entries)
{
	pthread_t t[4];
	size_t before = ptrtab_count();
	for (unsigned i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn_mixed, (void *)(uintptr_t)(20 + i));
	for (unsigned i = 0; i < 4; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		cr_assert_null(rc, "thread %u failed with %p", i, rc);
	}
	cr_assert_eq(ptrtab_count(), before);
}
