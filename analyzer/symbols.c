/* symbols.c: the symbolizer (see symbols.h).  One Dwfl per log with every M module reported
 * at its recorded bias, after checking the file's build-id against the log's (falling back
 * to /usr/lib/debug/.build-id, else to module+offset, said once per module).  libdw stays
 * in this file. */
#include "symbols.h"

#include <dlfcn.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JIT_MAX_ENTRIES (16u << 20)
#define JIT_MAX_LINE 8192

typedef struct {
	uint64_t start, end;
	size_t order;          /* later lines win over earlier overlapping ones */
	char *name;
} jit_sym_t;

typedef struct {
	int usable;            /* reported to dwfl */
	const char *why;       /* when not: said once, when a frame first lands in it */
	int said;
} mod_state_t;

typedef struct {
	uint64_t addr;
	ag_frame_t *frame;
} cache_slot_t;

struct symbols {
	const ag_log_t *log;
	FILE *err;
	Dwfl *dwfl;
	char *debuginfo_path;
	mod_state_t *mods;
	jit_sym_t *jit;
	size_t njit;
	char *jit_path;
	cache_slot_t *cache;
	size_t cache_cap, cache_n;
};

static char *debuginfo_path_default = NULL;
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path_default,
};

/* Open path only when it is a regular file: a log may name a FIFO or a device, and
 * opening those could block or read forever. */
static int open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static void hex_of(const unsigned char *id, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[id[i] >> 4];
		out[2 * i + 1] = d[id[i] & 15];
	}
	out[2 * n] = '\0';
}

/* 1 when the ELF at path carries build-id `want` (hex), 0 when it differs or has none,
 * -1 when it cannot be read. */
static int build_id_matches(const char *path, const char *want)
{
	int fd = open_regular(path);
	if (fd < 0)
		return -1;
	int res = -1;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF) {
		const void *id = NULL;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		res = 0;
		if (n > 0 && n <= 64) {
			char hex[130];
			hex_of(id, (size_t)n, hex);
			res = strcasecmp(hex, want) == 0;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return res;
}

static int report(symbols_t *s, const ag_module_t *m, const char *file)
{
	int fd = open_regular(file);
	if (fd < 0)
		return errno;
	/* dwfl owns fd from here, whether or not it accepts the module */
	Dwfl_Module *mod = dwfl_report_elf(s->dwfl, m->path, file, fd, m->bias, true);
	return mod ? 0 : EINVAL;
}

static void say_once(symbols_t *s, size_t i)
{
	mod_state_t *st = &s->mods[i];
	if (st->usable || st->said || !st->why || !s->err)
		return;
	st->said = 1;
	if (strcmp(st->why, "no file") == 0)
		return;
	fprintf(s->err, "allocguard: %s: %s; its frames are shown as module+offset\n",
		s->log->modules[i].path, st->why);
}

static void report_module(symbols_t *s, size_t i)
{
	const ag_module_t *m = &s->log->modules[i];
	mod_state_t *st = &s->mods[i];
	if (!m->path[0] || m->path[0] == '[' || strncmp(m->path, "linux-vdso", 10) == 0 ||
	    strncmp(m->path, "linux-gate", 10) == 0) {
		st->why = "no file";
		return;   /* the vDSO: nothing on disk, nothing to say */
	}
	int exists = access(m->path, F_OK) == 0;
	int match = !exists ? -1 : m->build_id ? build_id_matches(m->path, m->build_id) : 1;
	if (match == 1 && report(s, m, m->path) == 0) {
		st->usable = 1;
		return;
	}
	if (m->build_id && strlen(m->build_id) > 2) {
		char dbg[300];
		snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", m->build_id,
			 m->build_id + 2);
		if (build_id_matches(dbg, m->build_id) == 1 && report(s, m, dbg) == 0) {
			st->usable = 1;
			return;
		}
	}
	if (match == -1) {
		st->why = exists ? "cannot be read as ELF" : "no longer exists";
	} else if (match == 0) {
		st->why = "the file's build-id differs from the one recorded (rebuilt since the run?)";
	} else {
		st->why = "cannot be placed at its recorded address";
	}
}

static int jit_cmp(const void *a, const void *b)
{
	const jit_sym_t *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int parse_hex_tok(const char **p, uint64_t *v)
{
	const char *s = *p;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t x = 0;
	int n = 0;
	for (;; s++, n++) {
		int h = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
			: (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;
		if (h < 0)
			break;
		if (n >= 16)
			return EINVAL;
		x = x << 4 | (uint64_t)h;
	}
	if (!n || *s != ' ')
		return EINVAL;
	*p = s + 1;
	*v = x;
	return 0;
}

/* Load "START SIZE name" lines; malformed lines are skipped (node may be mid-write). */
static void jit_load(symbols_t *s, const char *path)
{
	int fd = open_regular(path);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *line = malloc(JIT_MAX_LINE);
	size_t cap = s->njit;
	while (line && fgets(line, JIT_MAX_LINE, f) && s->njit < JIT_MAX_ENTRIES) {
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		const char *p = line;
		uint64_t start, size;
		if (parse_hex_tok(&p, &start) || parse_hex_tok(&p, &size) || !*p || !size ||
		    start + size < start)
			continue;
		if (s->njit == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			jit_sym_t *nj = realloc(s->jit, nc * sizeof *nj);
			if (!nj)
				break;
			s->jit = nj;
			cap = nc;
		}
		char *name = strdup(p);
		if (!name)
			break;
		s->jit[s->njit] = (jit_sym_t){ start, start + size, s->njit, name };
		s->njit++;
	}
	free(line);
	fclose(f);
	if (!s->jit_path)
		s->jit_path = strdup(path);
}

static const jit_sym_t *jit_find(const symbols_t *s, uint64_t addr)
{
	size_t lo = 0, hi = s->njit;
	while (lo < hi) {   /* first entry with start > addr */
		size_t mid = lo + (hi - lo) / 2;
		if (s->jit[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const jit_sym_t *best = NULL;
	for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++) {
		const jit_sym_t *j = &s->jit[i];
		if (addr < j->end && (!best || j->order > best->order))
			best = j;
	}
	return best;
}

symbols_t *symbols_open(const ag_log_t *log, FILE *err)
{
	symbols_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->log = log;
	s->err = err;
	s->mods = calloc(log->nmodules ? log->nmodules : 1, sizeof *s->mods);
	s->cache_cap = 1024;
	s->cache = calloc(s->cache_cap, sizeof *s->cache);
	if (!s->mods || !s->cache) {
		symbols_close(s);
		return NULL;
	}
	elf_version(EV_CURRENT);
	s->dwfl = dwfl_begin(&offline_callbacks);
	if (s->dwfl) {
		dwfl_report_begin(s->dwfl);
		for (size_t i = 0; i < log->nmodules; i++)
			report_module(s, i);
		dwfl_report_end(s->dwfl, NULL, NULL);
	}
	for (size_t i = 0; i < log->njitmaps; i++)
		jit_load(s, log->jitmaps[i]);
	if (!log->njitmaps && log->have_proc) {
		char p[64];
		snprintf(p, sizeof p, "/tmp/perf-%" PRIu64 ".map", log->pid);
		jit_load(s, p);
	}
	if (s->njit)
		qsort(s->jit, s->njit, sizeof *s->jit, jit_cmp);
	return s;
}

static const ag_module_t *module_of(const symbols_t *s, uint64_t addr, size_t *idx)
{
	/* modules are sorted by lo; the last one starting at or below addr that contains it */
	const ag_log_t *log = s->log;
	size_t lo = 0, hi = log->nmodules;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (log->modules[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i-- > 0 && k < 16; k++) {
		if (addr < log->modules[i].hi) {
			*idx = i;
			return &log->modules[i];
		}
	}
	return NULL;
}

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

/* C++ names read as written (operator new(unsigned long)), through libstdc++'s demangler
 * when the library is present; the mangled name otherwise.  Caller frees. */
static char *demangled(const char *name)
{
	static demangle_fn fn;
	static int tried;
	if (strncmp(name, "_Z", 2) != 0)
		return strdup(name);
	if (!tried) {
		tried = 1;
		void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (h)
			fn = (demangle_fn)(uintptr_t)dlsym(h, "__cxa_demangle");
	}
	int status = -1;
	char *d = fn ? fn(name, NULL, NULL, &status) : NULL;
	if (d && status == 0)
		return d;
	free(d);
	return strdup(name);
}

static ag_frame_t *resolve(symbols_t *s, uint64_t addr)
{
	ag_frame_t *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->address = addr;
	f->offset = addr;
	size_t mi;
	const ag_module_t *m = module_of(s, addr, &mi);
	if (m) {
		f->module = m->path;
		f->offset = addr - m->bias;
		say_once(s, mi);
		if (s->mods[mi].usable && s->dwfl) {
			Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
			if (mod) {
				const char *name = dwfl_module_addrname(mod, addr);
				if (name && *name)
					f->function = demangled(name);
				Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
				int lineno = 0;
				const char *src = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL)
						    : NULL;
				if (src && *src && lineno > 0) {
					f->path = strdup(src);
					f->file = f->path ? base_name(f->path) : NULL;
					f->line = lineno;
				}
			}
		}
		return f;
	}
	const jit_sym_t *j = s->njit ? jit_find(s, addr) : NULL;
	if (j) {
		f->function = strdup(j->name);
		f->module = s->jit_path;
		f->offset = addr - j->start;
		f->jit = 1;
	}
	return f;
}

const char *symbols_module_of(symbols_t *s, uint64_t addr)
{
	size_t mi;
	const ag_module_t *m = module_of(s, addr, &mi);
	return m ? m->path : NULL;
}

const ag_frame_t *symbols_lookup(symbols_t *s, uint64_t addr)
{
	size_t mask = s->cache_cap - 1;
	size_t i = (size_t)((addr * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
	for (; s->cache[i].frame; i = (i + 1) & mask)
		if (s->cache[i].addr == addr)
			return s->cache[i].frame;
	ag_frame_t *f = resolve(s, addr);
	if (!f)
		return NULL;
	if ((s->cache_n + 1) * 2 > s->cache_cap) {
		size_t nc = s->cache_cap * 2;
		cache_slot_t *n = calloc(nc, sizeof *n);
		if (!n)
			return f;   /* leaks f rather than fail; only under ENOMEM */
		for (size_t k = 0; k < s->cache_cap; k++) {
			if (!s->cache[k].frame)
				continue;
			size_t j = (size_t)((s->cache[k].addr * 0x9e3779b97f4a7c15ULL) >> 20) & (nc - 1);
			while (n[j].frame)
				j = (j + 1) & (nc - 1);
			n[j] = s->cache[k];
		}
		free(s->cache);
		s->cache = n;
		s->cache_cap = nc;
		mask = nc - 1;
		i = (size_t)((addr * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
		while (s->cache[i].frame)
			i = (i + 1) & mask;
	}
	s->cache[i].addr = addr;
	s->cache[i].frame = f;
	s->cache_n++;
	return f;
}

void symbols_close(symbols_t *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	for (size_t i = 0; s->cache && i < s->cache_cap; i++) {
		ag_frame_t *f = s->cache[i].frame;
		if (f) {
			free((char *)f->function);
			free((char *)f->path);
			free(f);
		}
	}
	free(s->cache);
	for (size_t i = 0; i < s->njit; i++)
		free(s->jit[i].name);
	free(s->jit);
	free(s->jit_path);
	free(s->mods);
	free(s);
}

void frame_key(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->function && f->file)
		snprintf(buf, len, "%s|%s|%d", f->function, f->file, f->line);
	else if (f->function && (f->jit || !f->module))
		snprintf(buf, len, "%s|jit", f->function);
	else if (f->function)
		snprintf(buf, len, "%s|%s", f->function, base_name(f->module));
	else if (f->module)
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(f->module), f->offset);
	else
		snprintf(buf, len, "0x%" PRIx64, f->address);
}

void frame_human(const ag_frame_t *f, char *buf, size_t len)
{
	if (f->function && f->file)
		snprintf(buf, len, "%s (%s:%d)", f->function, f->file, f->line);
	else if (f->function && f->jit)
		snprintf(buf, len, "%s [JIT]", f->function);
	else if (f->function && f->module)
		snprintf(buf, len, "%s (%s+0x%" PRIx64 ")", f->function, base_name(f->module),
			 f->offset);
	else if (f->module)
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(f->module), f->offset);
	else
		snprintf(buf, len, "0x%" PRIx64, f->address);
}
