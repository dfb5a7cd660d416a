/* hooks_map.c: the mapping calls (mmap, munmap, mremap, mprotect) and the data segment
 * (sbrk, brk).  A nested call goes straight to the kernel (sys.h) or glibc's __sbrk; any
 * other to mapping.h, which charges the change in committed bytes before the system call
 * and records the result. */
#include "hooks.h"
#include "mapping.h"
#include "sys.h"

#include <stdint.h>
#include <sys/mman.h>

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!ag_guard_enter())
		return sys_mmap(addr, len, prot, flags, fd, off);
	void *r = mapping_mmap(addr, len, prot, flags, fd, off);
	ag_guard_leave();
	return r;
}
LOCAL_ALIAS(mmap);

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return local_mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	if (!ag_guard_enter())
		return sys_munmap(addr, len);
	int rc = mapping_munmap(addr, len);
	ag_guard_leave();
	return rc;
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		__builtin_va_list ap;
		__builtin_va_start(ap, flags);
		new_addr = __builtin_va_arg(ap, void *);
		__builtin_va_end(ap);
	}
	if (!ag_guard_enter())
		return sys_mremap(old, old_len, new_len, flags, new_addr);
	void *r = mapping_mremap(old, old_len, new_len, flags, new_addr);
	ag_guard_leave();
	return r;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	if (!ag_guard_enter())
		return sys_mprotect(addr, len, prot);
	int rc = mapping_mprotect(addr, len, prot);
	ag_guard_leave();
	return rc;
}

extern void *__sbrk(intptr_t);   /* glibc exports no __brk: brk is a move of sbrk's */

EXPORT void *sbrk(intptr_t inc)
{
	if (!ag_guard_enter())
		return __sbrk(inc);
	void *r = mapping_sbrk(inc);
	ag_guard_leave();
	return r;
}

EXPORT int brk(void *addr)
{
	if (!ag_guard_enter()) {
		char *cur = __sbrk(0);
		return cur == (void *)-1 || __sbrk((char *)addr - cur) == (void *)-1 ? -1 : 0;
	}
	int rc = mapping_brk(addr);
	ag_guard_leave();
	return rc;
}
