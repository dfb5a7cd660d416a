/* maptab.c: sorted array of non-overlapping tracked pieces (see maptab.h).  Mapping calls
 * are far rarer than mallocs, so one mutex guards the table; it is held across the syscall
 * so that the table and the kernel never disagree. */
#include "maptab.h"
#include "addrfind.h"
#include "state.h"
#include "check.h"
#include "fmt.h"
#include "logfmt.h"
#include "stacktab.h"
#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
	uintptr_t lo, hi;
	mapstate_t st;
} piece_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static piece_t *pieces;
static size_t npieces, capacity;

void maptab_lock(void)
{
	pthread_mutex_lock(&lock);
	ag_unsafe++;
}

void maptab_unlock(void)
{
	ag_unsafe--;
	pthread_mutex_unlock(&lock);
}
void maptab_reinit_lock(void) { pthread_mutex_init(&lock, NULL); }

/* A mapping moved or copied in more pieces than the fixed buffers hold loses the rest from
 * the table (and the totals): said once. */
static void say_dropped(void)
{
	static bool said;
	if (!said) {
		said = true;
		fmt_say("a moved or copied mapping has more than 64 pieces; the rest are no longer "
			"tracked");
	}
}

static bool committed(const mapstate_t *st)
{
	return st->kind == AG_KIND_SWAP || (st->kind == AG_KIND_MMAP && st->prot != PROT_NONE);
}

static acc_kind_t acc_of(const mapstate_t *st)
{
	return st->kind == AG_KIND_SWAP ? ACC_SWAPPED : ACC_MAPPED;
}

/* The table's invariant, checked after every change in the test build: pieces are
 * non-empty, sorted and never overlap. */
static void check_pieces(void)
{
	for (size_t i = 0; AG_CHECKING && i < npieces; i++) {
		AG_ASSERT(pieces[i].lo < pieces[i].hi);
		AG_ASSERT(i + 1 == npieces || pieces[i].hi <= pieces[i + 1].lo);
	}
	AG_ASSERT(npieces <= capacity);
}

/* Index of the first piece with hi > addr. */
static size_t first_after(uintptr_t addr)
{
	return ADDRFIND_UPPER(pieces, npieces, hi, addr);
}

static bool reserve_one(void)
{
	if (npieces < capacity)
		return true;
	size_t ncap = capacity ? capacity * 2 : 256;
	piece_t *fresh = sys_alloc(ncap * sizeof *fresh, false);
	if (!fresh)
		return false;
	if (pieces) {
		memcpy(fresh, pieces, npieces * sizeof *fresh);
		sys_free(pieces, capacity * sizeof *fresh);
	}
	pieces = fresh;
	capacity = ncap;
	return true;
}

static void insert_at(size_t i, const piece_t *p)
{
	memmove(&pieces[i + 1], &pieces[i], (npieces - i) * sizeof *pieces);
	pieces[i] = *p;
	npieces++;
}

static void remove_range(size_t i, size_t n)
{
	memmove(&pieces[i], &pieces[i + n], (npieces - i - n) * sizeof *pieces);
	npieces -= n;
}

/* Make addr a piece boundary.  A committed piece split in two counts as two for its stack
 * (so the split also adds one to the stack's total count). */
static bool split_at(uintptr_t addr)
{
	size_t i = first_after(addr);
	if (i >= npieces || pieces[i].lo >= addr)
		return true;
	if (!reserve_one())
		return false;
	piece_t right = pieces[i];
	right.lo = addr;
	pieces[i].hi = addr;
	insert_at(i + 1, &right);
	if (committed(&right.st))
		stacktab_alloc(right.st.stack, 0, COUNT_ONE);
	return true;
}

static void piece_gained(const piece_t *p)
{
	uint64_t len = p->hi - p->lo;
	if (committed(&p->st))
		stacktab_alloc(p->st.stack, len, COUNT_ONE);
}

static void piece_lost(const piece_t *p)
{
	uint64_t len = p->hi - p->lo;
	if (committed(&p->st))
		stacktab_free(p->st.stack, len, COUNT_ONE);
}

static void add_committed(map_delta_t *d, const mapstate_t *st, int64_t bytes)
{
	if (committed(st))
		d->d[acc_of(st)] += bytes;
}

static map_delta_t committed_in(uintptr_t lo, uintptr_t hi, int sign)
{
	map_delta_t d = { { 0 } };
	for (size_t i = first_after(lo); i < npieces && pieces[i].lo < hi; i++) {
		uintptr_t a = pieces[i].lo > lo ? pieces[i].lo : lo;
		uintptr_t b = pieces[i].hi < hi ? pieces[i].hi : hi;
		add_committed(&d, &pieces[i].st, sign * (int64_t)(b - a));
	}
	return d;
}

map_delta_t maptab_delta_assign(uintptr_t lo, uintptr_t hi, const mapstate_t *st)
{
	map_delta_t d = committed_in(lo, hi, -1);
	add_committed(&d, st, (int64_t)(hi - lo));
	return d;
}

void maptab_assign(uintptr_t lo, uintptr_t hi, const mapstate_t *st)
{
	if (lo >= hi)
		return;
	split_at(lo);
	split_at(hi);
	size_t i = first_after(lo), j = i;
	while (j < npieces && pieces[j].lo < hi)
		piece_lost(&pieces[j++]);
	uintptr_t origin = st->origin ? st->origin :
			   i < j && pieces[i].st.kind == st->kind ? pieces[i].st.origin : lo;
	remove_range(i, j - i);
	if (st->kind && reserve_one()) {
		piece_t p = { lo, hi, *st };
		p.st.origin = origin;
		insert_at(i, &p);
		piece_gained(&p);
	}
	check_pieces();
}

map_delta_t maptab_delta_protect(uintptr_t lo, uintptr_t hi, int prot)
{
	map_delta_t d = { { 0 } };
	for (size_t i = first_after(lo); i < npieces && pieces[i].lo < hi; i++) {
		uintptr_t a = pieces[i].lo > lo ? pieces[i].lo : lo;
		uintptr_t b = pieces[i].hi < hi ? pieces[i].hi : hi;
		mapstate_t after = pieces[i].st;
		after.prot = prot;
		add_committed(&d, &pieces[i].st, -(int64_t)(b - a));
		add_committed(&d, &after, (int64_t)(b - a));
	}
	return d;
}

void maptab_protect(uintptr_t lo, uintptr_t hi, int prot, uint32_t stack)
{
	split_at(lo);
	split_at(hi);
	for (size_t i = first_after(lo); i < npieces && pieces[i].lo < hi; i++) {
		piece_t *p = &pieces[i];
		bool was = committed(&p->st);
		mapstate_t after = p->st;
		after.prot = prot;
		bool now = committed(&after);
		if (was && !now)
			piece_lost(p);
		if (!was && now && stack)
			after.stack = stack;
		p->st = after;
		if (!was && now)
			piece_gained(p);
	}
	check_pieces();
}

map_delta_t maptab_delta_remap(uintptr_t old, size_t old_len, size_t new_len)
{
	map_delta_t d = { { 0 } };
	size_t keep = old_len < new_len ? old_len : new_len;
	map_delta_t dropped = committed_in(old + keep, old + old_len, -1);
	for (int k = 0; k < ACC_KINDS; k++)
		d.d[k] += dropped.d[k];
	if (new_len > old_len) {
		size_t i = first_after(old + old_len - 1);
		if (i < npieces && pieces[i].lo < old + old_len)
			add_committed(&d, &pieces[i].st, (int64_t)(new_len - old_len));
	}
	return d;
}

void maptab_remap(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len)
{
	size_t keep = old_len < new_len ? old_len : new_len;
	mapstate_t grow_st = { 0 };
	size_t last = first_after(old + old_len - 1);
	if (last < npieces && pieces[last].lo < old + old_len)
		grow_st = pieces[last].st;
	/* Pieces that move keep their state; collect them, clear the old range, re-add. */
	enum { MOVE_MAX = 64 };
	piece_t moving[MOVE_MAX];
	size_t nmove = 0;
	split_at(old);
	split_at(old + keep);
	for (size_t i = first_after(old); i < npieces && pieces[i].lo < old + keep; i++)
		if (nmove < MOVE_MAX)
			moving[nmove++] = pieces[i];
		else
			say_dropped();
	mapstate_t none = { 0 };
	maptab_assign(old, old + old_len, &none);
	if (new_addr != old)
		maptab_assign(new_addr, new_addr + new_len, &none);
	for (size_t i = 0; i < nmove; i++) {
		piece_t p = moving[i];
		p.lo = p.lo - old + new_addr;
		p.hi = p.hi - old + new_addr;
		maptab_assign(p.lo, p.hi, &p.st);
	}
	if (new_len > old_len && grow_st.kind)
		maptab_assign(new_addr + old_len, new_addr + new_len, &grow_st);
}

map_delta_t maptab_delta_copy(uintptr_t old, size_t len)
{
	return committed_in(old, old + len, 1);
}

void maptab_copy(uintptr_t old, size_t len, uintptr_t new_addr)
{
	enum { COPY_MAX = 64 };
	piece_t copies[COPY_MAX];
	size_t n = 0;
	for (size_t i = first_after(old); i < npieces && pieces[i].lo < old + len; i++) {
		if (n == COPY_MAX) {
			say_dropped();
			break;
		}
		piece_t p = pieces[i];
		p.lo = (p.lo > old ? p.lo : old) - old + new_addr;
		p.hi = (p.hi < old + len ? p.hi : old + len) - old + new_addr;
		copies[n++] = p;
	}
	for (size_t i = 0; i < n; i++)
		maptab_assign(copies[i].lo, copies[i].hi, &copies[i].st);
}

mapstate_t maptab_state_at(uintptr_t addr)
{
	size_t i = first_after(addr);
	if (i < npieces && pieces[i].lo <= addr)
		return pieces[i].st;
	mapstate_t none = { 0 };
	return none;
}

size_t maptab_list(maptab_piece_t *out, size_t max)
{
	for (size_t i = 0; i < npieces && i < max; i++)
		out[i] = (maptab_piece_t){ pieces[i].lo, pieces[i].hi, pieces[i].st };
	return npieces;
}
