/* account.c: lock-free live totals and peaks (see account.h).  Calls nothing above it: the
 * per-thread unflushed heap bytes (credit.h) are read, never settled, here. */
#include "account.h"
#include "credit.h"
#include "peak.h"
#include "check.h"

#include <errno.h>
#include <stdatomic.h>

typedef account_counter_t counter_t;

/* tracked = the sum of the kinds: one atomic add per allocation, not two. */
counter_t account_kinds[ACC_KINDS];
static counter_t peak_tracked, peak_kind[ACC_KINDS];
/* The cap's admitted total, kept only with a cap.  Read as signed: if it was set up while
 * another thread was between its admission and its count it may drift a few bytes, and a
 * drift below zero must loosen the cap by those bytes, not close it. */
static counter_t admitted;
static _Atomic bool keep;

static uint64_t load(const counter_t *c)
{
	return atomic_load_explicit(&c->v, memory_order_relaxed);
}

static uint64_t sum_kinds(void)
{
	uint64_t sum = 0;
	for (int k = 0; k < ACC_KINDS; k++)
		sum += load(&account_kinds[k]);
	return sum;
}

static uint64_t admitted_now(void)
{
	int64_t v = (int64_t)load(&admitted);
	return v < 0 ? 0 : (uint64_t)v;
}

static void raise_peak(counter_t *peak, uint64_t v)
{
	uint64_t cur = load(peak);
	while (v > cur &&
	       !atomic_compare_exchange_weak_explicit(&peak->v, &cur, v, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

void account_keep_admitted(void)
{
	atomic_store(&keep, true);
	/* what the program holds, with the heap bytes threads counted and did not flush yet
	 * (a cap set at run time, allocguard_set_cap, comes after sampled counting began):
	 * their frees will take them out of the admitted total */
	atomic_store(&admitted.v, account_tracked());
}

static bool account_admitting(void)
{
	return atomic_load_explicit(&keep, memory_order_relaxed);
}

int account_admit(uint64_t bytes, uint64_t limit, uint64_t *total)
{
	if (!account_admitting()) {
		*total = sum_kinds();
		return 0;
	}
	uint64_t cur = load(&admitted);
	for (;;) {
		uint64_t c = (int64_t)cur < 0 ? 0 : cur;
		*total = c;
		if (bytes > limit || c > limit - bytes)
			return ENOMEM;
		if (atomic_compare_exchange_weak_explicit(&admitted.v, &cur, cur + bytes,
							  memory_order_relaxed, memory_order_relaxed))
			return 0;
	}
}

void account_unadmit(uint64_t bytes)
{
	if (account_admitting())
		atomic_fetch_sub_explicit(&admitted.v, bytes, memory_order_relaxed);
}

/* The tracked total's peak is the peak mark's (peak_moved raises it with one CAS);
 * peak_tracked holds only what snapshots read (account_read). */
static __attribute__((noinline)) void raise_all(uint64_t h, uint64_t m, uint64_t s)
{
	raise_peak(&peak_kind[ACC_HEAP], h);
	raise_peak(&peak_kind[ACC_MAPPED], m);
	raise_peak(&peak_kind[ACC_SWAPPED], s);
	uint64_t v[ACC_KINDS] = { [ACC_HEAP] = h, [ACC_MAPPED] = m, [ACC_SWAPPED] = s };
	peak_moved(v);
}

void account_raise_peaks(void)
{
	_Static_assert(ACC_KINDS == 3, "the kinds are read one by one");
	uint64_t h = load(&account_kinds[ACC_HEAP]), m = load(&account_kinds[ACC_MAPPED]);
	uint64_t s = load(&account_kinds[ACC_SWAPPED]);
	/* the common case, below every peak, is loads only */
	if (h > load(&peak_kind[ACC_HEAP]) || m > load(&peak_kind[ACC_MAPPED]) ||
	    s > load(&peak_kind[ACC_SWAPPED]) || peak_above(h + m + s))
		raise_all(h, m, s);
}

uint64_t account_tracked(void)
{
	int64_t v = (int64_t)sum_kinds() + credit_unflushed();
	return v < 0 ? 0 : (uint64_t)v;
}

uint64_t account_admitted(void)
{
	return account_admitting() ? admitted_now() : sum_kinds();
}

static uint64_t max2(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* tracked is the sum of the kinds read, so the figures agree with each other.  The kinds
 * are read one after another; when two passes read the same values, those values were all
 * current together (between the passes), so tracked is a total that really
 * existed, not heap from before a transfer plus mapped from after it.  Under heavy traffic
 * the passes may never agree: then the last is used, off by what moved between its loads.
 * Peaks are raised after the counting (account_raise_peaks), so a reader can find a total
 * above its peak: raise the stored peaks to what was read, then read them back. */
void account_read(account_totals_t *t)
{
	uint64_t h = load(&account_kinds[ACC_HEAP]), m = load(&account_kinds[ACC_MAPPED]);
	uint64_t s = load(&account_kinds[ACC_SWAPPED]);
	for (int pass = 0; pass < 16; pass++) {
		t->heap = load(&account_kinds[ACC_HEAP]);
		t->mapped = load(&account_kinds[ACC_MAPPED]);
		t->swapped = load(&account_kinds[ACC_SWAPPED]);
		if (t->heap == h && t->mapped == m && t->swapped == s)
			break;
		h = t->heap;
		m = t->mapped;
		s = t->swapped;
	}
	/* what the threads counted and have not flushed yet (credit.h) */
	int64_t local = credit_unflushed();
	t->heap = local < 0 && (uint64_t)-local > t->heap ? 0 : t->heap + (uint64_t)local;
	t->tracked = t->heap + t->mapped + t->swapped;
	raise_peak(&peak_kind[ACC_HEAP], t->heap);
	raise_peak(&peak_kind[ACC_MAPPED], t->mapped);
	raise_peak(&peak_kind[ACC_SWAPPED], t->swapped);
	raise_peak(&peak_tracked, t->tracked);
	t->peak_heap = load(&peak_kind[ACC_HEAP]);
	t->peak_mapped = load(&peak_kind[ACC_MAPPED]);
	/* each kind's peak was once that kind's value, while tracked was at least as much */
	uint64_t mark = atomic_load_explicit(&peak_mark, memory_order_relaxed);
	t->peak_tracked = max2(max2(max2(load(&peak_tracked), mark), load(&peak_kind[ACC_SWAPPED])),
			       max2(t->peak_heap, t->peak_mapped));
	/* the figures agree (logfmt.h's E line): tracked is the sum, each peak its total's */
	AG_ASSERT(t->tracked == t->heap + t->mapped + t->swapped);
	AG_ASSERT(t->peak_heap >= t->heap && t->peak_mapped >= t->mapped);
	AG_ASSERT(t->peak_tracked >= t->tracked);
}
