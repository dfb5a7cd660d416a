/* scanmem.c: the exit scan's memory and its reads of the program's memory.  Its tables come
 * from internal memory (never malloc: the block table is locked while the scan runs), are
 * registered as ours (so never roots) and are given back together when the scan ends.
 * Every read of the program's memory goes through the kernel (process_vm_readv): an
 * unreadable, unmapped or freed page reads as nothing and never faults. */
#include "scan.h"
#include "check.h"
#include "sys.h"


void *scanmem_grab(scan_t *s, size_t bytes)
{
	if (s->nmem == SCAN_MEM_MAX)
		return NULL;
	mem_t *m = &s->mem[s->nmem];
	m->bytes = bytes ? bytes : 1;
	m->p = sys_alloc(m->bytes, true);
	if (m->p)
		s->nmem++;
	return m->p;
}

void scanmem_drop(scan_t *s, void *p)
{
	for (size_t i = 0; p && i < s->nmem; i++) {
		if (s->mem[i].p != p)
			continue;
		sys_free(p, s->mem[i].bytes);
		s->mem[i] = s->mem[--s->nmem];
		return;
	}
	AG_ASSERT(!p);   /* only what scanmem_grab gave is given back */
}

void scanmem_release(scan_t *s)
{
	while (s->nmem) {
		mem_t *m = &s->mem[--s->nmem];
		sys_free(m->p, m->bytes);
	}
}

size_t scanmem_peek(pid_t self, uintptr_t addr, void *out, size_t len)
{
	struct iovec local = { out, len }, remote = { (void *)addr, len };
	ssize_t got = process_vm_readv(self, &local, 1, &remote, 1, 0);
	AG_ASSERT(got <= (ssize_t)len);
	return got > 0 ? (size_t)got : 0;
}
