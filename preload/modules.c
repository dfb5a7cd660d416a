/* modules.c: module map for the log (see modules.h), from dl_iterate_phdr.  The build-id
 * comes from the object's PT_NOTE segment, already mapped in memory.  Remembered objects
 * live in one internal table (sys_alloc, never malloc) under a try-lock: a note that finds
 * it busy is skipped, and the next new stack or snapshot catches up. */
#include "modules.h"
#include "stacktab.h"
#include "sys.h"

#include <stdatomic.h>

#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

static char exe_path[4096];

static const char *object_path(const struct dl_phdr_info *info);

static int count_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	*(unsigned long long *)arg = info->dlpi_adds * 1000003ULL + info->dlpi_subs;
	return 1;
}

static bool frozen;

void modules_freeze(void)
{
	frozen = true;
}

bool modules_changed(unsigned long long seen)
{
	if (frozen)
		return false;
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
	const char *path = object_path(info);
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



#define REC_MAX 1024
#define REC_PATH 512
#define REC_ID 130

typedef struct {
	uintptr_t bias, lo, hi;
	uint32_t gone_from;       /* 0 while loaded; else the first stack id after unload */
	uint32_t written;         /* write_epoch of the log that got its M and U lines */
	uint8_t seen;
	char id[REC_ID];
	char path[REC_PATH];      /* a longer path is cut: the file is then simply not found */
} rec_t;

static rec_t *recs;
static size_t nrecs;
static _Atomic int rec_busy;
static unsigned long long rec_counter = ~0ULL;
static uint32_t write_epoch = 1;   /* one per log file: each gets every gone module once */

static const char *object_path(const struct dl_phdr_info *info)
{
	const char *path = info->dlpi_name;
	if (!path || !*path) {
		if (!exe_path[0]) {
			ssize_t n = readlink("/proc/thread-self/exe", exe_path, sizeof exe_path - 1);
			exe_path[n > 0 ? n : 0] = '\0';
		}
		path = exe_path;
	}
	return path;
}

static int note_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t lo, hi;
	modules_range(info, &lo, &hi);
	if (lo >= hi)
		return 0;
	const char *path = object_path(info);
	char id[REC_ID];
	fmt_t f;
	fmt_init(&f, id, sizeof id);
	build_id(info, &f);
	id[f.truncated ? 0 : f.len] = '\0';
	rec_t *revive = NULL;
	for (size_t i = 0; i < nrecs; i++) {
		rec_t *r = &recs[i];
		if (r->bias != info->dlpi_addr || r->lo != lo || r->hi != hi ||
		    strncmp(r->path, path, REC_PATH - 1) != 0 || strcmp(r->id, id) != 0)
			continue;
		if (!r->gone_from) {
			r->seen = 1;
			return 0;
		}
		revive = r;   /* the same file back at the same place: the same symbols */
	}
	if (revive) {
		revive->gone_from = 0;
		revive->written = 0;
		revive->seen = 1;
		return 0;
	}
	if (nrecs == REC_MAX)
		return 0;
	rec_t *r = &recs[nrecs++];
	r->bias = info->dlpi_addr;
	r->lo = lo;
	r->hi = hi;
	r->gone_from = 0;
	r->written = 0;
	r->seen = 1;
	memcpy(r->id, id, sizeof id);
	size_t n = strlen(path);
	n = n < REC_PATH - 1 ? n : REC_PATH - 1;
	memcpy(r->path, path, n);
	r->path[n] = '\0';
	return 0;
}

void modules_note(uint32_t next_stack)
{
	unsigned long long now = 0;
	dl_iterate_phdr(count_cb, &now);
	if (now == rec_counter)
		return;
	int idle = 0;
	if (!atomic_compare_exchange_strong(&rec_busy, &idle, 1))
		return;
	if (!recs)
		recs = sys_alloc(REC_MAX * sizeof *recs, true);
	if (recs) {
		for (size_t i = 0; i < nrecs; i++)
			recs[i].seen = 0;
		dl_iterate_phdr(note_cb, NULL);
		for (size_t i = 0; i < nrecs; i++)
			if (!recs[i].seen && !recs[i].gone_from)
				recs[i].gone_from = next_stack ? next_stack : 1;
		rec_counter = now;
	}
	atomic_store(&rec_busy, 0);
}

/* "<type> <bias> <lo> <hi> " of a remembered object, the start of its M and U lines. */
static void rec_line(fmt_t *f, char *line, size_t len, const char *type, const rec_t *r)
{
	fmt_init(f, line, len);
	fmt_str(f, type);
	fmt_hex(f, r->bias);
	fmt_chr(f, ' ');
	fmt_hex(f, r->lo);
	fmt_chr(f, ' ');
	fmt_hex(f, r->hi);
	fmt_chr(f, ' ');
}

/* M and U lines of the remembered objects that are gone, each once per log. */
static void write_gone(logbuf_t *lb, bool fresh)
{
	int idle = 0;
	if (!recs || !atomic_compare_exchange_strong(&rec_busy, &idle, 1))
		return;
	if (fresh)
		write_epoch++;
	for (size_t i = 0; i < nrecs; i++) {
		rec_t *r = &recs[i];
		if (!r->gone_from || r->written == write_epoch)
			continue;
		r->written = write_epoch;
		char line[REC_PATH * 3 + 300];
		fmt_t f;
		rec_line(&f, line, sizeof line, "M ", r);
		fmt_str(&f, r->id[0] ? r->id : "-");
		fmt_chr(&f, ' ');
		fmt_escaped(&f, r->path);
		if (f.truncated)
			continue;
		logbuf_line(lb, &f);
		rec_line(&f, line, sizeof line, "U ", r);
		fmt_u64(&f, r->gone_from);
		fmt_chr(&f, ' ');
		fmt_escaped(&f, r->path);
		if (!f.truncated)
			logbuf_line(lb, &f);
	}
	atomic_store(&rec_busy, 0);
}

unsigned long long modules_write(logbuf_t *lb, bool fresh)
{
	unsigned long long now = 0;
	modules_note(stacktab_limit());
	dl_iterate_phdr(count_cb, &now);
	dl_iterate_phdr(write_cb, lb);
	write_gone(lb, fresh);
	return now;
}

bool modules_write_jit_map(logbuf_t *lb, pid_t pid)
{
	char path[64];
	fmt_t f;
	fmt_init(&f, path, sizeof path);
	fmt_str(&f, "/tmp/perf-");
	fmt_u64(&f, (uint64_t)pid);
	fmt_str(&f, ".map");
	if (access(path, R_OK) != 0)
		return false;
	char line[96];
	fmt_init(&f, line, sizeof line);
	fmt_str(&f, "J ");
	fmt_str(&f, path);
	logbuf_line(lb, &f);
	return true;
}
