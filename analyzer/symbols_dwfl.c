/* symbols_dwfl.c: the log's modules reported to libdwfl (see symbols_int.h): each at its
 * recorded bias after checking the file's build-id against the log's (falling back to
 * /usr/lib/debug/.build-id, else to module+offset, said once per module), in layers of
 * modules that do not overlap; and an address named from them.  libdwfl's reporting stays
 * in this file. */
#include "symbols_int.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *debuginfo_path_default = NULL;
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path_default,
};

int sym_open_regular(const char *path)
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
	int fd = sym_open_regular(path);
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
	int fd = sym_open_regular(file);
	if (fd < 0)
		return errno;
	/* dwfl owns fd from here, whether or not it accepts the module */
	Dwfl_Module *mod = dwfl_report_elf(s->dwfl[s->mods[m - s->log->modules].layer], m->path,
					   file, fd, m->bias, true);
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

void modules_report(symbols_t *s)
{
	const ag_log_t *log = s->log;
	elf_version(EV_CURRENT);
	/* modules are sorted by lo: a layer is free for one when its last module ended */
	uint64_t layer_end[MAX_LAYERS] = { 0 };
	for (size_t i = 0; i < log->nmodules; i++) {
		int k = 0;
		while (k < MAX_LAYERS && s->dwfl[k] && layer_end[k] > log->modules[i].lo)
			k++;
		if (k == MAX_LAYERS) {
			s->mods[i].why = "overlaps too many other modules";
			continue;
		}
		if (!s->dwfl[k]) {
			if (!(s->dwfl[k] = dwfl_begin(&offline_callbacks))) {
				s->mods[i].why = "no memory for its symbols";
				continue;
			}
			dwfl_report_begin(s->dwfl[k]);
		}
		s->mods[i].layer = k;
		layer_end[k] = log->modules[i].hi;
		report_module(s, i);
	}
	for (int k = 0; k < MAX_LAYERS && s->dwfl[k]; k++)
		dwfl_report_end(s->dwfl[k], NULL, NULL);
}

void module_resolve(symbols_t *s, size_t mi, uint64_t addr, ag_frame_t *f)
{
	say_once(s, mi);
	if (!s->mods[mi].usable)
		return;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl[s->mods[mi].layer], addr);
	if (!mod)
		return;
	const char *name = symtab_name(&s->mods[mi].syms, mod, addr);
	if (name && *name)
		f->function = frame_demangled(name);
	Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
	int lineno = 0;
	const char *src = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
	frame_set_source(f, src, lineno);
	inline_expand(s, mod, addr, f);
}

void modules_free(symbols_t *s)
{
	for (int k = 0; k < MAX_LAYERS; k++)
		if (s->dwfl[k])
			dwfl_end(s->dwfl[k]);
	for (size_t i = 0; s->mods && i < s->log->nmodules; i++)
		free(s->mods[i].syms.v);
	free(s->mods);
}
