/* heap.c: accounting for the malloc family (see heap.h).  Invariants: a block is admitted
 * by the cap before libc is asked for it and counted in the totals once libc returned it
 * (so the totals and peaks only ever hold memory the program got); it is removed from
 * ptrtab before libc frees it (so a racing malloc that gets the same address cannot be
 * confused with it); totals use the exact requested size, stacks use the (possibly
 * sampled) weight. */
#include "heap.h"
#include "cap.h"
#include "fmt.h"
#include "logfmt.h"
#include "ptrtab.h"
#include "sample.h"
#include "stacks.h"
#include "stacktab.h"
#include "writer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

static _Atomic int table_said;

static uint64_t clamp(size_t n)
{
	return n > PTRTAB_MAX_SIZE ? PTRTAB_MAX_SIZE : (uint64_t)n;
}

static void stack_take(uint32_t stack, uint64_t size)
{
	uint64_t wb, wc;
	sample_weight(size, &wb, &wc);
	stacktab_alloc(stack, wb, wc);
}

static void stack_drop(uint32_t stack, uint64_t size)
{
	if (!stack)
		return;
	uint64_t wb, wc;
	sample_weight(size, &wb, &wc);
	stacktab_free(stack, wb, wc);
}

/* Count `obtained` more bytes (0 when the block was already counted), attribute the
 * block and remember it.  If it cannot be remembered it is released from the totals, so a
 * later free of it changes nothing. */
static void track(void *p, uint64_t size, uint64_t obtained)
{
	if (obtained)
		cap_obtained(ACC_HEAP, obtained);
	writer_tick();
	uint32_t stack = 0;
	if (sample_take(size)) {
		stack = stacks_here(AG_KIND_HEAP);
		if (stack)
			stack_take(stack, size);
	}
	account_raise_peaks();   /* after the stack: the block that makes a peak counts in it */
	ptr_entry_t stale = { 0 };
	int rc = ptrtab_insert((uintptr_t)p, size, stack, &stale);
	if (stale.addr) {
		/* the previous block at this address was freed without us: forget it now */
		stack_drop(stale.stack, stale.size);
		cap_release(ACC_HEAP, stale.size);
	}
	if (rc != 0) {
		stack_drop(stack, size);
		cap_release(ACC_HEAP, size);
		if (!atomic_exchange(&table_said, 1))
			fmt_say("out of memory for the block table: some blocks are not tracked");
	}
}

/* Early blocks are sampled now, as if at their allocation, so their weights stay unbiased. */
static bool adopt_one(uint32_t stack, uint64_t size)
{
	if (!sample_take(size))
		return false;
	stack_take(stack, size);
	return true;
}

void heap_adopt_early(void)
{
	/* a stack of no frames: the analyzer names it "(before allocguard started)" */
	static const uintptr_t none[1];
	uint32_t stack = stacktab_intern(AG_KIND_HEAP, none, 0);
	if (stack)
		ptrtab_adopt(stack, adopt_one);
}

void *heap_alloc(size_t bytes, const char *what, heap_fn_t fn, size_t a, size_t b)
{
	int saved = errno;
	uint64_t size = clamp(bytes);
	if (cap_admit(size, bytes, what)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = fn(a, b);
	if (!p) {
		cap_unadmit(size);
		return NULL;
	}
	track(p, size, size);
	errno = saved;
	return p;
}

void heap_forget(void *p)
{
	ptr_entry_t e;
	if (!p || !ptrtab_remove((uintptr_t)p, &e))
		return;
	stack_drop(e.stack, e.size);
	cap_release(ACC_HEAP, e.size);
}

void *heap_realloc(void *old, size_t n, void *(*real_realloc)(void *, size_t))
{
	int saved = errno;
	if (n == 0 && old) {
		heap_forget(old);
		return real_realloc(old, 0);
	}
	ptr_entry_t e = { 0 };
	bool had = old && ptrtab_remove((uintptr_t)old, &e);
	uint64_t size = clamp(n), before = had ? e.size : 0;
	uint64_t grow = size > before ? size - before : 0;
	if (grow && cap_admit(grow, n - before, "realloc")) {
		if (had)
			ptrtab_insert((uintptr_t)old, e.size, e.stack, NULL);
		errno = ENOMEM;
		return NULL;
	}
	void *p = real_realloc(old, n);
	if (!p) {
		if (grow)
			cap_unadmit(grow);
		if (had)
			ptrtab_insert((uintptr_t)old, e.size, e.stack, NULL);
		return NULL;
	}
	if (had)
		stack_drop(e.stack, e.size);
	if (before > size)
		cap_release(ACC_HEAP, before - size);
	track(p, size, grow);
	errno = saved;
	return p;
}
