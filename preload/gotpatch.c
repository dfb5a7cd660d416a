/* gotpatch.c: RTLD_DEEPBIND libraries pointed back at the program's allocator (see
 * gotpatch.h).  After each deep-bound open, every loaded object but ours, the loader and
 * the vDSO is walked: a GOT slot or data word (RELA relocations) bound to a malloc-family
 * name is rewritten to the program's definition only when it holds libc's, or, in an
 * object of the main namespace, is a lazy slot still pointing into its own PLT; a
 * library bound to its own or a third allocator on purpose keeps it.  A bare name the
 * loader cannot find is looked for in the caller's RUNPATH or RPATH.  Relocation types
 * come from arch.h. */
#include "gotpatch.h"
#include "arch.h"
#include "modules.h"
#include "sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


static const char *const names[] = {
	"malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign",
	"valloc", "pvalloc", "malloc_usable_size", "reallocarray",
};
#define NFN (sizeof names / sizeof names[0])

typedef struct {
	void *ours[NFN];      /* what the program's global scope binds: normally our hooks */
	void *libc[NFN];      /* what a deep-bound library finds first */
	uintptr_t self;       /* our own load base */
	int count;
} patch_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int name_index(const char *n)
{
	for (size_t i = 0; i < NFN; i++)
		if (strcmp(n, names[i]) == 0)
			return (int)i;
	return -1;
}

/* A dynamic-section pointer: glibc relocates most of them in place; some loaders (and
 * the vDSO) leave them as offsets from the base. */
static uintptr_t dyn_ptr(const struct dl_phdr_info *info, uintptr_t v)
{
	return v < info->dlpi_addr ? v + info->dlpi_addr : v;
}

/* Whether the object is in the program's own namespace: one opened with dlmopen has its
 * own libc, whose lazy slots must not be sent to ours. */
static int main_namespace(const struct dl_phdr_info *info, const ElfW(Dyn) *dyn)
{
	for (const struct link_map *m = _r_debug.r_map; m; m = m->l_next)
		if (m->l_addr == info->dlpi_addr && m->l_ld == dyn)
			return 1;
	return 0;
}

/* Whether a lies in a segment the loader left writable (the RELRO part is handled by
 * the caller): a slot in read-only text (text relocations) is left alone. */
static int writable(const struct dl_phdr_info *info, uintptr_t a)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a >= lo && a + sizeof(void *) <= lo + ph->p_memsz)
			return (ph->p_flags & PF_W) != 0;
	}
	return 0;
}

static int patch_slot(const struct dl_phdr_info *info, void **slot, void *to,
		      uintptr_t relro_lo, uintptr_t relro_hi)
{
	uintptr_t a = (uintptr_t)slot;
	if (!writable(info, a))
		return 0;
	if (a >= relro_lo && a < relro_hi) {
		uintptr_t page = a & ~(uintptr_t)(sys_page_size() - 1);
		if (sys_mprotect((void *)page, sys_page_size(), PROT_READ | PROT_WRITE) != 0)
			return 0;
		atomic_store_explicit((_Atomic(void *) *)slot, to, memory_order_release);
		sys_mprotect((void *)page, sys_page_size(), PROT_READ);
		return 1;
	}
	atomic_store_explicit((_Atomic(void *) *)slot, to, memory_order_release);
	return 1;
}

static void patch_table(const struct dl_phdr_info *info, patch_t *p, const ElfW(Rela) *rel,
			size_t bytes, const ElfW(Sym) *symtab, const char *strtab, size_t strsz,
			uintptr_t lo, uintptr_t hi, uintptr_t relro_lo, uintptr_t relro_hi,
			int may_lazy)
{
	for (size_t k = 0; rel && k < bytes / sizeof *rel; k++) {
		unsigned long type = ELF64_R_TYPE(rel[k].r_info);
		/* ARCH_R_ABS64: a function pointer in the library's data (a table holding free) */
		if (type != ARCH_R_JUMP_SLOT && type != ARCH_R_GLOB_DAT &&
		    (type != ARCH_R_ABS64 || rel[k].r_addend != 0))
			continue;
		const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(rel[k].r_info)];
		if (strsz && sym->st_name >= strsz)
			continue;
		int i = name_index(strtab + sym->st_name);
		if (i < 0 || !p->ours[i] || p->ours[i] == p->libc[i])
			continue;
		void **slot = (void **)(info->dlpi_addr + rel[k].r_offset);
		uintptr_t v = (uintptr_t)*slot;
		int lazy = may_lazy && type == ARCH_R_JUMP_SLOT && sym->st_shndx == SHN_UNDEF &&
			   v >= lo && v < hi;
		if (v == (uintptr_t)p->ours[i] || (v != (uintptr_t)p->libc[i] && !lazy))
			continue;
		p->count += patch_slot(info, slot, p->ours[i], relro_lo, relro_hi);
	}
}

static int patch_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	patch_t *p = arg;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (info->dlpi_addr == p->self || strstr(name, "/ld-linux") || strstr(name, "linux-vdso") ||
	    strncmp(name, "ld-linux", 8) == 0)
		return 0;
	const ElfW(Dyn) *dyn = NULL;
	uintptr_t relro_lo = 0, relro_hi = 0, lo, hi;
	modules_range(info, &lo, &hi);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
		if (ph->p_type == PT_GNU_RELRO) {
			size_t pg = sys_page_size();
			relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)(pg - 1);
			relro_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + pg - 1) &
				   ~(uintptr_t)(pg - 1);
		}
	}
	if (!dyn)
		return 0;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *jmprel = NULL, *rela = NULL;
	size_t jmpsz = 0, relasz = 0, strsz = 0;
	int pltrel_is_rela = 1;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const ElfW(Sym) *)dyn_ptr(info, d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const char *)dyn_ptr(info, d->d_un.d_ptr); break;
		case DT_STRSZ: strsz = d->d_un.d_val; break;
		case DT_JMPREL: jmprel = (const ElfW(Rela) *)dyn_ptr(info, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: jmpsz = d->d_un.d_val; break;
		case DT_PLTREL: pltrel_is_rela = d->d_un.d_val == DT_RELA; break;
		case DT_RELA: rela = (const ElfW(Rela) *)dyn_ptr(info, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		}
	}
	if (!symtab || !strtab)
		return 0;
	int may_lazy = main_namespace(info, dyn);
	if (pltrel_is_rela)
		patch_table(info, p, jmprel, jmpsz, symtab, strtab, strsz, lo, hi, relro_lo,
			    relro_hi, may_lazy);
	patch_table(info, p, rela, relasz, symtab, strtab, strsz, lo, hi, relro_lo, relro_hi,
		    may_lazy);
	return 0;
}

static int patch_all(void)
{
	patch_t p;
	memset(&p, 0, sizeof p);
	Dl_info self;
	if (!dladdr((void *)(uintptr_t)&patch_all, &self))
		return 0;
	p.self = (uintptr_t)self.dli_fbase;
	/* RTLD_NOLOAD: libc is there already; the handle only pins it while we look */
	void *libc = gotpatch_next_dlopen()("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	if (!libc)
		return 0;
	for (size_t i = 0; i < NFN; i++) {
		p.ours[i] = dlsym(RTLD_DEFAULT, names[i]);
		p.libc[i] = dlsym(libc, names[i]);
	}
	pthread_mutex_lock(&lock);
	dl_iterate_phdr(patch_object, &p);
	pthread_mutex_unlock(&lock);
	dlclose(libc);
	return p.count;
}

/* Each directory of a ':' list, with $ORIGIN (or ${ORIGIN}) replaced by origin. */
static int search_list(const char *list, const char *origin, const char *file, char *out,
		       size_t len)
{
	for (const char *d = list; *d;) {
		const char *end = strchr(d, ':');
		size_t n = end ? (size_t)(end - d) : strlen(d), o = 0;
		for (size_t k = 0; k < n && o + 1 < len;) {
			size_t skip = strncmp(d + k, "${ORIGIN}", 9) == 0 ? 9
				      : strncmp(d + k, "$ORIGIN", 7) == 0 ? 7 : 0;
			if (skip) {
				for (const char *q = origin; *q && o + 1 < len; q++)
					out[o++] = *q;
				k += skip;
			} else {
				out[o++] = d[k++];
			}
		}
		if (o && o + strlen(file) + 2 < len) {
			out[o++] = '/';
			strcpy(out + o, file);
			if (access(out, F_OK) == 0)
				return 0;
		}
		d = end ? end + 1 : d + n;
	}
	return ENOENT;
}

/* After the loader's own search failed for a bare name: the caller's RUNPATH (else RPATH)
 * directories, $ORIGIN expanded.  0 with the path in out, else ENOENT. */
static int caller_path(const void *caller, const char *file, char *out, size_t len)
{
	Dl_info di;
	struct link_map *lm = NULL;
	if (!file || strchr(file, '/') || !dladdr1(caller, &di, (void **)&lm, RTLD_DL_LINKMAP) ||
	    !lm || !lm->l_ld)
		return ENOENT;
	const char *strtab = NULL;
	uintptr_t runpath = 0, rpath = 0;
	int have_runpath = 0, have_rpath = 0;
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_STRTAB)
			strtab = (const char *)(d->d_un.d_ptr < lm->l_addr ? d->d_un.d_ptr + lm->l_addr
									 : d->d_un.d_ptr);
		if (d->d_tag == DT_RUNPATH) {
			runpath = d->d_un.d_val;
			have_runpath = 1;
		}
		if (d->d_tag == DT_RPATH) {
			rpath = d->d_un.d_val;
			have_rpath = 1;
		}
	}
	if (!strtab || (!have_runpath && !have_rpath))
		return ENOENT;
	/* $ORIGIN: the caller's directory (the executable's when its l_name is empty) */
	char origin[4096];
	const char *name = lm->l_name && lm->l_name[0] ? lm->l_name : NULL;
	ssize_t n = name ? (ssize_t)strlen(name) : readlink("/proc/self/exe", origin, sizeof origin - 1);
	if (n <= 0 || (size_t)n >= sizeof origin)
		return ENOENT;
	if (name)
		memcpy(origin, name, (size_t)n);
	origin[n] = '\0';
	char *slash = strrchr(origin, '/');
	if (!slash)
		return ENOENT;
	*slash = '\0';
	return search_list(strtab + (have_runpath ? runpath : rpath), origin, file, out, len);
}

gotpatch_dlopen_t gotpatch_next_dlopen(void)
{
	static _Atomic(gotpatch_dlopen_t) next;
	gotpatch_dlopen_t fn = atomic_load_explicit(&next, memory_order_relaxed);
	if (!fn) {
		fn = (gotpatch_dlopen_t)dlsym(RTLD_NEXT, "dlopen");
		atomic_store_explicit(&next, fn, memory_order_relaxed);
	}
	return fn;
}

bool gotpatch_needed(int flags)
{
	return (flags & RTLD_DEEPBIND) != 0;
}

void *gotpatch_dlopen(const char *file, int flags, const void *caller)
{
	gotpatch_dlopen_t open_next = gotpatch_next_dlopen();
	void *h = open_next(file, flags);
	char path[4096];
	if (!h && caller_path(caller, file, path, sizeof path) == 0)
		h = open_next(path, flags);
	if (h) {
		int saved = errno;
		patch_all();
		errno = saved;
	}
	return h;
}
