/* test_maptab.c: committed-byte bookkeeping of tracked mappings (preload/maptab.c): deltas
 * match what assign/protect/remap then record, per stack and per kind. */
#include <criterion/criterion.h>
#include <sys/mman.h>

#include "logfmt.h"
#include "mapcharge.h"
#include "maptab.h"
#include "stacktab.h"

#define PG 4096u
#define A(n) ((uintptr_t)0x100000000000ull + (uintptr_t)(n) * PG)

static uint32_t stack(int n)
{
	uintptr_t frames[2] = { 0x1000u + (uintptr_t)n, 0x2000 };
	return stacktab_intern(AG_KIND_MMAP, frames, 2);
}

static int64_t live(uint32_t id)
{
	stack_totals_t t;
	stacktab_read(stacktab_get(id), &t);
	return t.live_bytes;
}

static int64_t pieces_of(uint32_t id)
{
	stack_totals_t t;
	stacktab_read(stacktab_get(id), &t);
	return t.live_count / COUNT_ONE;
}

Test(maptab, reservation_counts_only_once_accessible)
{
	uint32_t s1 = stack(1), s2 = stack(2);
	mapstate_t reserve = { AG_KIND_MMAP, PROT_NONE, s1, 0 };
	map_delta_t d = maptab_delta_assign(A(0), A(1000), &reserve);
	cr_assert_eq(d.d[ACC_MAPPED], 0, "a PROT_NONE reservation commits nothing");
	maptab_assign(A(0), A(1000), &reserve);
	cr_assert_eq(live(s1), 0);

	d = maptab_delta_protect(A(10), A(20), PROT_READ | PROT_WRITE);
	cr_assert_eq(d.d[ACC_MAPPED], 10 * PG);
	maptab_protect(A(10), A(20), PROT_READ | PROT_WRITE, s2);
	cr_assert_eq(live(s2), 10 * PG, "the commit is attributed to the mprotect caller");

	d = maptab_delta_protect(A(15), A(30), PROT_READ | PROT_WRITE);
	cr_assert_eq(d.d[ACC_MAPPED], 10 * PG, "only the uncommitted part counts");
	d = maptab_delta_protect(A(0), A(1000), PROT_NONE);
	cr_assert_eq(d.d[ACC_MAPPED], -10 * (int64_t)PG);
	maptab_protect(A(0), A(1000), PROT_NONE, 0);
	cr_assert_eq(live(s2), 0);

	mapstate_t none = { 0 };
	d = maptab_delta_assign(A(0), A(1000), &none);
	cr_assert_eq(d.d[ACC_MAPPED], 0);
	maptab_assign(A(0), A(1000), &none);
	cr_assert_eq(maptab_state_at(A(5)).kind, 0);
}

Test(maptab, partial_unmap_splits_and_releases_exactly)
{
	uint32_t s = stack(3);
	mapstate_t rw = { AG_KIND_MMAP, PROT_READ | PROT_WRITE, s, 0 };
	maptab_assign(A(100), A(200), &rw);
	cr_assert_eq(live(s), 100 * PG);
	cr_assert_eq(pieces_of(s), 1);
	mapstate_t none = { 0 };
	map_delta_t d = maptab_delta_assign(A(140), A(160), &none);
	cr_assert_eq(d.d[ACC_MAPPED], -20 * (int64_t)PG);
	maptab_assign(A(140), A(160), &none);
	cr_assert_eq(live(s), 80 * PG);
	cr_assert_eq(pieces_of(s), 2, "a hole leaves two pieces");
	cr_assert_eq(maptab_state_at(A(139)).kind, AG_KIND_MMAP);
	cr_assert_eq(maptab_state_at(A(140)).kind, 0);
	cr_assert_eq(maptab_state_at(A(160)).kind, AG_KIND_MMAP);
	/* MAP_FIXED of a file over part of it: untracked from then on */
	d = maptab_delta_assign(A(190), A(210), &none);
	cr_assert_eq(d.d[ACC_MAPPED], -10 * (int64_t)PG);
	maptab_assign(A(100), A(200), &none);
	cr_assert_eq(live(s), 0);
	cr_assert_eq(pieces_of(s), 0);
}

Test(maptab, remap_grows_moves_and_shrinks)
{
	uint32_t s = stack(4);
	mapstate_t rw = { AG_KIND_MMAP, PROT_READ | PROT_WRITE, s, 0 };
	maptab_assign(A(300), A(310), &rw);
	map_delta_t d = maptab_delta_remap(A(300), 10 * PG, 30 * PG);
	cr_assert_eq(d.d[ACC_MAPPED], 20 * PG);
	maptab_remap(A(300), 10 * PG, A(500), 30 * PG);
	cr_assert_eq(live(s), 30 * PG);
	cr_assert_eq(maptab_state_at(A(300)).kind, 0, "old range is gone");
	cr_assert_eq(maptab_state_at(A(529)).kind, AG_KIND_MMAP);
	d = maptab_delta_remap(A(500), 30 * PG, 5 * PG);
	cr_assert_eq(d.d[ACC_MAPPED], -25 * (int64_t)PG);
	maptab_remap(A(500), 30 * PG, A(500), 5 * PG);
	cr_assert_eq(live(s), 5 * PG);
	cr_assert_eq(maptab_state_at(A(505)).kind, 0);
}

Test(maptab, swapped_pieces_count_whatever_their_protection)
{
	uint32_t s = stack(5);
	mapstate_t sw = { AG_KIND_SWAP, PROT_READ, s, 0 };
	map_delta_t d = maptab_delta_assign(A(700), A(710), &sw);
	cr_assert_eq(d.d[ACC_SWAPPED], 10 * PG);
	cr_assert_eq(d.d[ACC_MAPPED], 0);
	maptab_assign(A(700), A(710), &sw);
	d = maptab_delta_protect(A(700), A(710), PROT_NONE);
	cr_assert_eq(d.d[ACC_SWAPPED], 0, "swapped memory is ours whatever its protection");
}

Test(maptab, charge_and_uncharge_balance_the_totals)
{
	account_totals_t before, mid, after;
	account_read(&before);
	map_delta_t d = { { 0 } };
	d.d[ACC_MAPPED] = 5 * PG;
	d.d[ACC_SWAPPED] = -0;
	cr_assert_eq(mapcharge_charge(&d, "mmap", false), 0);
	account_read(&mid);
	cr_assert_eq(mid.mapped - before.mapped, 5 * PG);
	cr_assert_eq(mid.tracked - before.tracked, 5 * PG);
	mapcharge_uncharge(&d);
	account_read(&after);
	cr_assert_eq(after.mapped, before.mapped);
	cr_assert_eq(after.tracked, before.tracked);
}

/* mremap(MREMAP_DONTUNMAP): the pages move, the old range stays mapped: both count. */
Test(maptab, copy_keeps_the_old_range_and_counts_the_new)
{
	uint32_t s = stack(6);
	mapstate_t rw = { AG_KIND_MMAP, PROT_READ | PROT_WRITE, s, 0 };
	maptab_assign(A(800), A(810), &rw);
	map_delta_t d = maptab_delta_copy(A(800), 10 * PG);
	cr_assert_eq(d.d[ACC_MAPPED], 10 * PG);
	maptab_copy(A(800), 10 * PG, A(900));
	cr_assert_eq(live(s), 20 * PG);
	cr_assert_eq(maptab_state_at(A(805)).kind, AG_KIND_MMAP, "the old range stays");
	cr_assert_eq(maptab_state_at(A(909)).kind, AG_KIND_MMAP);
	cr_assert_eq(maptab_state_at(A(910)).kind, 0);
	mapstate_t none = { 0 };
	maptab_assign(A(800), A(1000), &none);
	cr_assert_eq(live(s), 0);
}

/* A range unmapped behind our back and handed out again is released, not counted twice. */
Test(maptab, stale_range_is_released_once)
{
	uint32_t s = stack(7);
	mapstate_t rw = { AG_KIND_MMAP, PROT_READ | PROT_WRITE, s, 0 };
	account_totals_t before, mid, after;
	account_read(&before);
	map_delta_t d = maptab_delta_assign(A(1100), A(1120), &rw);
	cr_assert_eq(mapcharge_charge(&d, "mmap", false), 0);
	maptab_assign(A(1100), A(1120), &rw);
	account_read(&mid);
	cr_assert_eq(mid.mapped - before.mapped, 20 * PG);
	mapcharge_drop_stale(A(1110), A(1130));
	account_read(&after);
	cr_assert_eq(after.mapped - before.mapped, 10 * PG, "only the stale half is released");
	cr_assert_eq(live(s), 10 * PG);
	mapcharge_drop_stale(A(1100), A(1110));
	account_read(&after);
	cr_assert_eq(after.mapped, before.mapped);
	cr_assert_eq(live(s), 0);
}
