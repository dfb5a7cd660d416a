/* nextalloc.c: finding the allocator behind the hooks (see nextalloc.h).  The malloc
 * family of one shared object is used as a set: a function that object lacks is built
 * from its memalign, never taken from another allocator, since a block must go back to
 * the allocator it came from. */
#include "nextalloc.h"
#include "gotpatch.h"
#include "fmt.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* ---- the static arena: only for calls made while the allocator is looked up ---- */

#define ARENA_SIZE NEXTALLOC_ARENA_SIZE
#define HDR 16u
alignas(4096) unsigned char nextalloc_arena[ARENA_SIZE];
static size_t arena_used;   /* only the finding thread allocates here */

static void *arena_memalign(size_t align, size_t n)
{
	if (align < HDR)
		align = HDR;
	uintptr_t base = (uintptr_t)nextalloc_arena;
	uintptr_t p = (base + arena_used + HDR + align - 1) & ~(uintptr_t)(align - 1);
	if (n > ARENA_SIZE || p + n > base + ARENA_SIZE)
		return NULL;
	memcpy((void *)(p - sizeof n), &n, sizeof n);
	arena_used = p + n - base;
	return (void *)p;
}


size_t nextalloc_arena_size(const void *p)
{
	size_t n;
	memcpy(&n, (const char *)p - sizeof n, sizeof n);
	return n;
}

static void *arena_malloc(size_t n) { return arena_memalign(HDR, n); }
static void *arena_calloc(size_t n, size_t size)
{
	return size && n > SIZE_MAX / size ? NULL : arena_memalign(HDR, n * size);   /* zeroed */
}
static void arena_free(void *p) {}
static void *arena_valloc(size_t n) { return arena_memalign(4096, n); }
static size_t arena_usable(void *p) { return p ? nextalloc_arena_size(p) : 0; }
static void *arena_realloc(void *p, size_t n)
{
	void *q = arena_malloc(n);
	if (q && p) {
		size_t old = nextalloc_arena_size(p);
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

nextalloc_t nextalloc_fns = {
	arena_malloc, arena_calloc, arena_realloc, arena_free,
	arena_memalign, arena_valloc, arena_valloc, arena_usable,
};
_Atomic int nextalloc_state;
static __thread bool finding;

/* ---- another allocator's missing functions, from its memalign ---- */

static void *(*other_memalign)(size_t, size_t);
static int (*other_posix_memalign)(void **, size_t, size_t);
static void *(*other_aligned_alloc)(size_t, size_t);

static void *built_memalign(size_t align, size_t n)
{
	if (other_posix_memalign) {
		void *p = NULL;
		return other_posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, n) ? NULL : p;
	}
	size_t up = (n + align - 1) & ~(align - 1);
	return other_aligned_alloc(align, up ? up : align);
}

static void *built_valloc(size_t n)
{
	return nextalloc_fns.memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

static void *built_pvalloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return nextalloc_fns.memalign(page, n ? (n + page - 1) & ~(page - 1) : page);
}

static size_t no_usable(void *p) { return 0; }

/* dlsym(RTLD_NEXT, name) when it lives in the object at base. */
static void *from(const char *name, const void *base)
{
	void *f = dlsym(RTLD_NEXT, name);
	Dl_info di;
	if (!f || !dladdr(f, &di) || di.dli_fbase != base)
		return NULL;
	return f;
}

bool nextalloc_glibc_chunks;

static void set_glibc(nextalloc_t *n)
{
	*n = (nextalloc_t){ __libc_malloc, __libc_calloc, __libc_realloc, __libc_free,
			    __libc_memalign, __libc_valloc, __libc_pvalloc, no_usable };
	void *u = dlsym(RTLD_NEXT, "malloc_usable_size");
	if (u)
		n->usable = (size_t (*)(void *))u;
	Dl_info du, dm;
	nextalloc_glibc_chunks = u && dladdr(u, &du) && dladdr((void *)__libc_malloc, &dm) &&
				 du.dli_fbase == dm.dli_fbase;
}

/* The malloc family of the object at base, or false when it is not a whole allocator. */
static bool set_other(nextalloc_t *n, const void *base)
{
	n->malloc = (void *(*)(size_t))from("malloc", base);
	n->calloc = (void *(*)(size_t, size_t))from("calloc", base);
	n->realloc = (void *(*)(void *, size_t))from("realloc", base);
	n->free = (void (*)(void *))from("free", base);
	other_memalign = (void *(*)(size_t, size_t))from("memalign", base);
	other_posix_memalign = (int (*)(void **, size_t, size_t))from("posix_memalign", base);
	other_aligned_alloc = (void *(*)(size_t, size_t))from("aligned_alloc", base);
	if (!n->malloc || !n->calloc || !n->realloc || !n->free ||
	    (!other_memalign && !other_posix_memalign && !other_aligned_alloc))
		return false;
	n->memalign = other_memalign ? other_memalign : built_memalign;
	n->valloc = (void *(*)(size_t))from("valloc", base);
	n->pvalloc = (void *(*)(size_t))from("pvalloc", base);
	n->usable = (size_t (*)(void *))from("malloc_usable_size", base);
	if (!n->valloc)
		n->valloc = built_valloc;
	if (!n->pvalloc)
		n->pvalloc = built_pvalloc;
	if (!n->usable)
		n->usable = no_usable;
	return true;
}

static void find_locked(void)
{
	nextalloc_t n;
	void *m = dlsym(RTLD_NEXT, "malloc");
	Dl_info di;
	if (!(m && m != (void *)__libc_malloc && dladdr(m, &di) && set_other(&n, di.dli_fbase)))
		set_glibc(&n);
	/* Published field by field; other threads wait for the state below, and this one
	 * only reaches the arena's functions until then. */
	nextalloc_fns = n;
}

void nextalloc_find(void)
{
	if (finding)
		return;   /* a call made while looking: the arena serves it */
	int expect = 0;
	if (atomic_compare_exchange_strong(&nextalloc_state, &expect, 1)) {
		finding = true;
		find_locked();
		finding = false;
		atomic_store_explicit(&nextalloc_state, 2, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&nextalloc_state, memory_order_acquire) != 2)
		sched_yield();
}

/* Whether the address in *arg lies in the main program (the first object); the answer
 * replaces it: non-NULL for yes. */
static int in_main_program(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t a = (uintptr_t)*(void **)arg;
	*(void **)arg = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz)
			*(void **)arg = (void *)1;
	}
	return 1;
}

/* The first library in load order (after the main program) that defines malloc itself:
 * its path into arg (char[512]). */
static int first_definer(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;
	void *h = gotpatch_next_dlopen()(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
	void *m = h ? dlsym(h, "malloc") : NULL;
	Dl_info di;
	bool here = m && dladdr(m, &di) && di.dli_fbase == (void *)info->dlpi_addr;
	if (h)
		dlclose(h);
	if (!here)
		return 0;
	fmt_t f;
	fmt_init(&f, arg, 512);
	fmt_str(&f, info->dlpi_name);
	return 1;
}

bool nextalloc_check_order(bool (*reached_us)(void *(*)(size_t), void (*)(void *)))
{
	Dl_info def;
	void *m = dlsym(RTLD_DEFAULT, "malloc"), *fr = dlsym(RTLD_DEFAULT, "free");
	if (!m || !fr || reached_us((void *(*)(size_t))m, (void (*)(void *))fr) || !dladdr(m, &def))
		return false;
	/* The name of the object that really serves malloc: the main program's canonical PLT
	 * entry only forwards, so name the first library after it that defines malloc. */
	void *in_main = m;
	dl_iterate_phdr(in_main_program, &in_main);
	const char *who = def.dli_fname && *def.dli_fname ? def.dli_fname : "the program itself";
	char lib[512] = "an allocator loaded ahead of the guard";
	if (in_main) {
		dl_iterate_phdr(first_definer, lib);
		who = lib;
	}
	fmt_say3("malloc is served by ", who,
		 ", which comes before the guard: its blocks are not seen and the cap cannot be "
		 "enforced on them (put liballocguard.so first in LD_PRELOAD)");
	return true;
}
