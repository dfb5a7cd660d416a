/* refusal.c: the call stack of a refused request (see refusal.h).  Modules are found with
 * dl_iterate_phdr, which neither allocates nor calls a name the hooks define. */
#include "refusal.h"
#include "stacks.h"
#include "stacktab.h"

#include <link.h>
#include <string.h>

#define WHERE_FRAMES 4

uint32_t refusal_stack(char kind)
{
	uint32_t id = stacks_here(kind);
	if (id)
		stacktab_note_refused(id);
	return id;
}

typedef struct {
	uintptr_t addr;
	const char *name;
	uintptr_t off;
} find_t;

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	find_t *x = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD || x->addr < lo || x->addr >= lo + ph->p_memsz)
			continue;
		x->name = info->dlpi_name;
		x->off = x->addr - info->dlpi_addr;
		return 1;
	}
	return 0;
}

/* "libc.so.6+0x29d8f"; the main program has no dlpi_name: "program+0x...". */
static void frame_where(fmt_t *f, uintptr_t addr)
{
	find_t x = { addr, NULL, 0 };
	if (!dl_iterate_phdr(find_module, &x)) {
		fmt_str(f, "0x");
		fmt_hex(f, addr);
		return;
	}
	const char *slash = x.name ? strrchr(x.name, '/') : NULL;
	fmt_str(f, x.name && x.name[0] ? (slash ? slash + 1 : x.name) : "program");
	fmt_str(f, "+0x");
	fmt_hex(f, x.off);
}

void refusal_where(fmt_t *f, uint32_t stack)
{
	stack_rec_t *r = stack ? stacktab_get(stack) : NULL;
	if (!r || !r->depth)
		return;
	fmt_str(f, "; at ");
	for (int i = 0; i < r->depth && i < WHERE_FRAMES; i++) {
		if (i)
			fmt_str(f, " < ");
		frame_where(f, r->frames[i]);
	}
	if (r->depth > WHERE_FRAMES)
		fmt_str(f, " < ...");
	fmt_str(f, " (stack ");
	fmt_u64(f, stack);
	fmt_str(f, " in the log; allocguard report names it)");
}
