/* mapping.c: accounting for the mapping calls (see mapping.h).  Each call: work out the
 * change in committed bytes under the maptab lock, charge it (ENOMEM if the cap refuses),
 * make the syscall, then record the new layout or undo the charge. */
#include "mapping.h"
#include "logfmt.h"
#include "mapcharge.h"
#include "maptab.h"
#include "stacks.h"
#include "swap.h"
#include "sys.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static uintptr_t page_up(uintptr_t x)
{
	size_t page = sys_page_size();
	return (x + page - 1) & ~(uintptr_t)(page - 1);
}

static bool positive(const map_delta_t *d)
{
	for (int k = 0; k < ACC_KINDS; k++)
		if (d->d[k] > 0)
			return true;
	return false;
}

/* /dev/zero is anonymous memory to the kernel (private: plain anonymous pages; shared:
 * shared anonymous memory), so its mappings count as anonymous ones do. */
static bool dev_zero(int fd)
{
	int saved = errno;
	struct stat st;
	bool zero = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5);
	errno = saved;
	return zero;
}

/* A file mapping the kernel placed itself: it cannot replace live tracked memory, only a
 * range unmapped behind our back. */
static void *map_file_fresh(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *r = sys_mmap(addr, len, prot, flags, fd, off);
	if (r != MAP_FAILED) {
		int saved = errno;
		maptab_lock();
		mapcharge_drop_stale((uintptr_t)r, (uintptr_t)r + page_up(len));
		swap_unmapped((uintptr_t)r, (uintptr_t)r + page_up(len));
		maptab_unlock();
		errno = saved;
	}
	return r;
}

/* An anonymous mapping the kernel places itself.  Mapped first and charged once its place
 * is known, so a range unmapped behind our back (a raw munmap syscall) and handed out again
 * is replaced, not counted twice; untouched memory costs nothing until then, and a refusal
 * unmaps it again. */
static void *map_anon_fresh(void *addr, size_t len, int prot, int flags, int fd, off_t off,
			    const mapstate_t *st)
{
	int saved = errno;
	uintptr_t plen = page_up(len);
	maptab_lock();
	void *r = sys_mmap(addr, len, prot, flags, fd, off);
	if (r != MAP_FAILED) {
		uintptr_t lo = (uintptr_t)r;
		map_delta_t d = maptab_delta_assign(lo, lo + plen, st);
		if (mapcharge_charge(&d, "mmap", false)) {
			sys_munmap(r, len);
			r = MAP_FAILED;
			saved = ENOMEM;
		} else {
			maptab_assign(lo, lo + plen, st);
			mapcharge_gained();
			swap_unmapped(lo, lo + plen);
		}
		errno = saved;
	}
	maptab_unlock();
	return r;
}

static void *map_any(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	bool anon = (flags & MAP_ANONYMOUS) || fd < 0 || dev_zero(fd);
	bool fixed = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	if (!anon && len) {
		void *swapped;
		if (swap_mmap(addr, len, prot, flags, fd, off, &swapped))
			return swapped;
	}
	if (!anon && !fixed)
		return map_file_fresh(addr, len, prot, flags, fd, off);

	mapstate_t st = { 0 };
	if (anon) {
		st.kind = AG_KIND_MMAP;
		st.prot = prot;
		st.stack = prot != PROT_NONE ? stacks_here(AG_KIND_MMAP) : 0;
	}
	if (!fixed && !(flags & (MAP_POPULATE | MAP_LOCKED)))
		return map_anon_fresh(addr, len, prot, flags, fd, off, &st);

	/* MAP_FIXED destroys what was there, and MAP_POPULATE commits at once: charged before
	 * the kernel sees them. */
	int saved = errno;
	uintptr_t plen = page_up(len);
	maptab_lock();
	map_delta_t d = { { 0 } };
	if (fixed)
		d = maptab_delta_assign((uintptr_t)addr, (uintptr_t)addr + plen, &st);
	else if (prot != PROT_NONE)
		d.d[ACC_MAPPED] = (int64_t)plen;
	if (mapcharge_charge(&d, "mmap", false)) {
		maptab_unlock();
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *r = sys_mmap(addr, len, prot, flags, fd, off);
	if (r == MAP_FAILED) {
		mapcharge_uncharge(&d);
	} else {
		if (!fixed)
			mapcharge_drop_stale((uintptr_t)r, (uintptr_t)r + plen);
		maptab_assign((uintptr_t)r, (uintptr_t)r + plen, &st);
		mapcharge_gained();
		swap_unmapped((uintptr_t)r, (uintptr_t)r + plen);   /* it replaced whatever was there */
		errno = saved;
	}
	maptab_unlock();
	return r;
}

/* Each call that may charge the cap tells its cap event once maptab's lock is released
 * (mapcharge_settle): the refused call's stack is taken there. */
void *mapping_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *r = map_any(addr, len, prot, flags, fd, off);
	mapcharge_settle();
	return r;
}

int mapping_munmap(void *addr, size_t len)
{
	int saved = errno;
	uintptr_t lo = (uintptr_t)addr, hi = lo + page_up(len);
	mapstate_t none = { 0 };
	maptab_lock();
	map_delta_t d = maptab_delta_assign(lo, hi, &none);
	mapcharge_charge(&d, NULL, false);   /* only releases */
	int rc = sys_munmap(addr, len);
	if (rc != 0) {
		mapcharge_uncharge(&d);
	} else {
		maptab_assign(lo, hi, &none);
		swap_unmapped(lo, hi);
		errno = saved;
	}
	maptab_unlock();
	return rc;
}

static int protect(void *addr, size_t len, int prot)
{
	int saved = errno;
	uintptr_t lo = (uintptr_t)addr, hi = lo + page_up(len);
	uint32_t stack = 0;
	maptab_lock();
	map_delta_t d = maptab_delta_protect(lo, hi, prot);
	if (positive(&d)) {
		/* Unwinding may take locks of its own: never while holding ours. */
		maptab_unlock();
		stack = stacks_here(AG_KIND_MMAP);
		maptab_lock();
		d = maptab_delta_protect(lo, hi, prot);
	}
	if (mapcharge_charge(&d, "mprotect", true)) {
		maptab_unlock();
		errno = ENOMEM;
		return -1;
	}
	int rc = sys_mprotect(addr, len, prot);
	if (rc != 0) {
		mapcharge_uncharge(&d);
	} else {
		maptab_protect(lo, hi, prot, stack);
		mapcharge_gained();
		errno = saved;
	}
	maptab_unlock();
	return rc;
}

static void *remap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	int saved = errno;
	uintptr_t o = (uintptr_t)old, olen = page_up(old_len), nlen = page_up(new_len);
	mapstate_t none = { 0 };
	maptab_lock();
	bool copy = (flags & MREMAP_DONTUNMAP) && old_len;   /* the old range stays mapped */
	map_delta_t d = { { 0 } };
	if (copy)
		d = maptab_delta_copy(o, olen);
	else if (old_len)
		d = maptab_delta_remap(o, olen, nlen);
	if (old_len && (flags & MREMAP_FIXED)) {
		map_delta_t over = maptab_delta_assign((uintptr_t)new_addr, (uintptr_t)new_addr + nlen,
						       &none);
		for (int k = 0; k < ACC_KINDS; k++)
			d.d[k] += over.d[k];
	}
	if (mapcharge_charge(&d, "mremap", false)) {
		maptab_unlock();
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *r = sys_mremap(old, old_len, new_len, flags, new_addr);
	if (r == MAP_FAILED) {
		mapcharge_uncharge(&d);
	} else {
		uintptr_t n = (uintptr_t)r;
		if (n != o && !(flags & MREMAP_FIXED))
			mapcharge_drop_stale(n, n + nlen);   /* a fresh range: see mapcharge_drop_stale */
		if (copy) {
			maptab_assign(n, n + nlen, &none);
			maptab_copy(o, olen, n);
			mapcharge_gained();
			swap_copied(o, olen, n);
		} else if (old_len) {
			maptab_remap(o, olen, n, nlen);
			mapcharge_gained();
			swap_remapped(o, olen, n, nlen);
		}
		errno = saved;
	}
	maptab_unlock();
	return r;
}

int mapping_mprotect(void *addr, size_t len, int prot)
{
	int rc = protect(addr, len, prot);
	mapcharge_settle();
	return rc;
}

void *mapping_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	void *r = remap(old, old_len, new_len, flags, new_addr);
	mapcharge_settle();
	return r;
}

/* The program break, moved by the program itself (or by an allocator that uses sbrk, such
 * as jemalloc's dss).  glibc's malloc moves it internally, past these hooks, and its
 * blocks are counted one by one; so growth seen here is charged like an anonymous mapping
 * and shrinking releases at most what was charged. */
extern void *__sbrk(intptr_t);

static uint64_t brk_charged;   /* under maptab's lock */

static int move_break(intptr_t inc, void **old)
{
	int saved = errno;
	map_delta_t d = { { 0 } };
	maptab_lock();
	if (inc > 0)
		d.d[ACC_MAPPED] = inc;
	else if (inc < 0)
		d.d[ACC_MAPPED] = -(int64_t)((uint64_t)-inc < brk_charged ? (uint64_t)-inc : brk_charged);
	if (mapcharge_charge(&d, "sbrk", false)) {
		maptab_unlock();
		errno = ENOMEM;
		return -1;
	}
	void *r = __sbrk(inc);
	if (r == (void *)-1) {
		mapcharge_uncharge(&d);
		maptab_unlock();
		return -1;
	}
	brk_charged += (uint64_t)d.d[ACC_MAPPED];
	if (inc > 0)
		mapcharge_gained();
	maptab_unlock();
	*old = r;
	errno = saved;
	return 0;
}

static int break_move(intptr_t inc, void **old)
{
	int rc = move_break(inc, old);
	mapcharge_settle();
	return rc;
}

void *mapping_sbrk(intptr_t inc)
{
	void *old;
	return break_move(inc, &old) ? (void *)-1 : old;
}

int mapping_brk(void *addr)
{
	void *cur = __sbrk(0), *old;
	if (cur == (void *)-1)
		return -1;
	return break_move((intptr_t)((uintptr_t)addr - (uintptr_t)cur), &old);
}
