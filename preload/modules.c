/* modules.c: module map for the log (see modules.h), from dl_iterate_phdr.  The build-id
 * comes from the object's PT_NOTE segment, already mapped in memory. */
#include "modules.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

static char exe_path[4096];

static int count_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	*(unsigned long long *)arg = info->dlpi_adds * 1000003ULL + info->dlpi_subs;
	return 1;
}

bool modules_changed(unsigned long long seen)
{
	unsigned long long now = 0;
	dl_iterate_phdr(count_cb, &now);
	return now != seen;
}

static void build_id(const struct dl_phdr_info *info, fmt_t *f)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof *n;
			const unsigned char *desc =
				(const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0 && (const char *)desc + n->n_descsz <= end) {
				static const char hex[] = "0123456789abcdef";
				for (unsigned k = 0; k < n->n_descsz; k++) {
					fmt_chr(f, hex[desc[k] >> 4]);
					fmt_chr(f, hex[desc[k] & 15]);
				}
				return;
			}
			p = (const char *)desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	fmt_chr(f, '-');
}

void modules_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
	*lo = UINTPTR_MAX;
	*hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < *lo)
			*lo = a;
		if (a + ph->p_memsz > *hi)
			*hi = a + ph->p_memsz;
	}
}

static int write_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	logbuf_t *lb = arg;
	uintptr_t lo, hi;
	modules_range(info, &lo, &hi);
	if (lo >= hi)
		return 0;
	const char *path = info->dlpi_name;
	if (!path || !*path) {
		if (!exe_path[0]) {
			ssize_t n = readlink("/proc/thread-self/exe", exe_path, sizeof exe_path - 1);
			exe_path[n > 0 ? n : 0] = '\0';
		}
		path = exe_path;
	}
	char line[4600];
	fmt_t f;
	fmt_init(&f, line, sizeof line);
	fmt_str(&f, "M ");
	fmt_hex(&f, info->dlpi_addr);
	fmt_chr(&f, ' ');
	fmt_hex(&f, lo);
	fmt_chr(&f, ' ');
	fmt_hex(&f, hi);
	fmt_chr(&f, ' ');
	build_id(info, &f);
	fmt_chr(&f, ' ');
	fmt_escaped(&f, path);
	if (!f.truncated)
		logbuf_line(lb, &f);
	return 0;
}

unsigned long long modules_write(logbuf_t *lb)
{
	unsigned long long now = 0;
	dl_iterate_phdr(count_cb, &now);
	dl_iterate_phdr(write_cb, lb);
	return now;
}
