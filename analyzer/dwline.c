/* dwline.c: a CU's line table read from .debug_line (see dwline.h).  The decoding follows
 * the DWARF line program as libdw runs it, refusing wherever libdw would reject the table or
 * where its result would depend on details this file does not reproduce. */
#include "dwline.h"

#include <dwarf.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	uint64_t addr;
	int line;
	uint32_t file;
	uint32_t end;          /* DW_LNE_end_sequence row */
} row_t;

struct dwline {
	row_t *rows;           /* in the order the program makes them */
	size_t nrows;
	uint64_t maxaddr;      /* libdw marks the last row (by address) as an end */
	char **files;          /* index as dwarf_getsrcfiles; NULL entries for no name */
	size_t nfiles;
	uint32_t *sorted;      /* row indexes in libdw's order, once asked often */
	size_t queries;
};

#define DWLINE_SORT_AFTER 48

typedef struct {
	const unsigned char *p, *end;
	int bad;
} rd_t;

static uint64_t uleb(rd_t *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		unsigned char b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
}

static int64_t sleb(rd_t *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned char b;
	do {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

static uint64_t fixed(rd_t *r, unsigned n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)   /* little-endian: the only byte order met here */
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static const char *cstr(rd_t *r)
{
	const unsigned char *z = r->p < r->end ? memchr(r->p, 0, (size_t)(r->end - r->p)) : NULL;
	if (!z) {
		r->bad = 1;
		return NULL;
	}
	const char *s = (const char *)r->p;
	r->p = z + 1;
	return s;
}

typedef struct {
	const unsigned char *d;
	size_t n;
} sec_t;

/* A string at off of a string section; NULL when out of it or not terminated. */
static const char *sec_str(const sec_t *s, uint64_t off)
{
	if (!s->d || off >= s->n || !memchr(s->d + off, 0, s->n - off))
		return NULL;
	return (const char *)s->d + off;
}

typedef struct {
	sec_t line, line_str, str;
} secs_t;

static int find_secs(Dwarf *dbg, secs_t *out)
{
	Elf *elf = dbg ? dwarf_getelf(dbg) : NULL;
	size_t shstrndx;
	memset(out, 0, sizeof *out);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -1;
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh) || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return -1;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		sec_t *s = !name ? NULL : strcmp(name, ".debug_line") == 0 ? &out->line
			: strcmp(name, ".debug_line_str") == 0 ? &out->line_str
			: strcmp(name, ".debug_str") == 0 ? &out->str : NULL;
		if (!s)
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) || sh.sh_type == SHT_NOBITS)
			return -1;   /* libdw inflates what it reads; not this one: leave it to libdw */
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return -1;
		s->d = d->d_buf;
		s->n = d->d_size;
	}
	return out->line.d ? 0 : -1;
}

void dwline_free(dwline_t *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	free(l->rows);
	free(l->sorted);
	free(l);
}

static int add_file(dwline_t *l, size_t *cap, const char *dir, const char *name)
{
	if (l->nfiles == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char **nf = realloc(l->files, nc * sizeof *nf);
		if (!nf)
			return -1;
		l->files = nf;
		*cap = nc;
	}
	char *s;
	if (!name) {
		s = NULL;
	} else if (name[0] == '/' || !dir) {
		s = strdup(name);
	} else {
		size_t a = strlen(dir), b = strlen(name);
		if ((s = malloc(a + b + 2))) {
			memcpy(s, dir, a);
			s[a] = '/';
			memcpy(s + a + 1, name, b + 1);
		}
	}
	if (name && !s)
		return -1;
	l->files[l->nfiles++] = s;
	return 0;
}

/* One value of a DWARF 5 entry format; a string (*str) or a number (*num). */
static int entry_value(rd_t *r, uint64_t form, unsigned offsz, const secs_t *sx,
		       const char **str, uint64_t *num)
{
	*str = NULL;
	*num = 0;
	switch (form) {
	case DW_FORM_string: *str = cstr(r); return r->bad ? -1 : 0;
	case DW_FORM_line_strp: *str = sec_str(&sx->line_str, fixed(r, offsz)); break;
	case DW_FORM_strp: *str = sec_str(&sx->str, fixed(r, offsz)); break;
	case DW_FORM_udata: *num = uleb(r); return r->bad ? -1 : 0;
	case DW_FORM_data1: *num = fixed(r, 1); return r->bad ? -1 : 0;
	case DW_FORM_data2: *num = fixed(r, 2); return r->bad ? -1 : 0;
	case DW_FORM_data4: *num = fixed(r, 4); return r->bad ? -1 : 0;
	case DW_FORM_data8: *num = fixed(r, 8); return r->bad ? -1 : 0;
	case DW_FORM_data16: fixed(r, 8); fixed(r, 8); return r->bad ? -1 : 0;
	case DW_FORM_block: {
		uint64_t n = uleb(r);
		if (r->bad || n > (uint64_t)(r->end - r->p))
			return -1;
		r->p += n;
		return 0;
	}
	default:
		return -1;   /* strx and the rest: libdw's business */
	}
	return r->bad || !*str ? -1 : 0;
}

/* DWARF 5 directory or file entries: n entries of the given format, paths into names[]
 * (directory indexes into idx[] when idx is not NULL). */
static int read_entries(rd_t *r, unsigned offsz, const secs_t *sx, const char ***names,
			uint64_t **idx, size_t *n)
{
	uint64_t desc[64], form[64];
	size_t nf = r->p < r->end ? *r->p++ : (r->bad = 1, 0);
	int path = -1, dir = -1;
	if (r->bad || nf > 64)
		return -1;
	for (size_t i = 0; i < nf; i++) {
		desc[i] = uleb(r);
		form[i] = uleb(r);
		if (desc[i] == DW_LNCT_path)
			path = (int)i;
		else if (desc[i] == DW_LNCT_directory_index)
			dir = (int)i;
	}
	uint64_t cnt = uleb(r);
	if (r->bad || (nf && path < 0) || (idx && nf && dir < 0) || (!nf && cnt) ||
	    (nf && cnt > (uint64_t)(r->end - r->p) / nf))
		return -1;
	*names = calloc(cnt ? cnt : 1, sizeof **names);
	if (idx)
		*idx = calloc(cnt ? cnt : 1, sizeof **idx);
	if (!*names || (idx && !*idx))
		return -1;
	for (uint64_t k = 0; k < cnt; k++) {
		for (size_t i = 0; i < nf; i++) {
			const char *s;
			uint64_t v;
			if (entry_value(r, form[i], offsz, sx, &s, &v))
				return -1;
			if ((int)i == path)
				(*names)[k] = s;
			else if ((int)i == dir && idx)
				(*idx)[k] = v;
		}
		if (!(*names)[k])
			return -1;
	}
	*n = (size_t)cnt;
	return 0;
}

static int push_row(dwline_t *l, size_t *cap, uint64_t addr, int64_t line, uint32_t file,
		    int end)
{
	if (line < INT32_MIN || line > INT32_MAX)
		return -1;   /* libdw calls the table invalid */
	if (l->nrows == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		row_t *nr = realloc(l->rows, nc * sizeof *nr);
		if (!nr)
			return -1;
		l->rows = nr;
		*cap = nc;
	}
	l->rows[l->nrows++] = (row_t){ addr, (int)line, file, (uint32_t)end };
	if (addr > l->maxaddr)
		l->maxaddr = addr;
	return 0;
}

static int run_program(dwline_t *l, rd_t *r, unsigned addrsz, unsigned min_len, int is_stmt_dflt,
		       int line_base, unsigned line_range, unsigned opcode_base,
		       const unsigned char *std_len)
{
	size_t cap = 0;
	uint64_t addr = 0;
	int64_t line = 1;
	uint32_t file = 1, column = 0, isa = 0;
	int is_stmt = is_stmt_dflt;
	(void)is_stmt;
#define ADVANCE(adv) (addr += (uint32_t)(min_len * (uint32_t)(adv)))
#define ROW(end) do { if (column > 0xffff || isa > 0xff || \
			  push_row(l, &cap, addr, line, file, end)) return -1; } while (0)
	while (r->p < r->end) {
		unsigned op = *r->p++;
		if (op >= opcode_base) {
			if (!line_range)
				return -1;
			line += line_base + (int)((op - opcode_base) % line_range);
			ADVANCE((op - opcode_base) / line_range);
			ROW(0);
			continue;
		}
		if (op == 0) {
			if (r->end - r->p < 2)
				return -1;
			unsigned len = *r->p++;
			if ((size_t)(r->end - r->p) < len || len == 0)
				return -1;
			unsigned sub = *r->p++;
			switch (sub) {
			case DW_LNE_end_sequence:
				if (len != 1)
					return -1;
				ROW(1);
				addr = 0;
				line = 1;
				file = 1;
				column = 0;
				isa = 0;
				is_stmt = is_stmt_dflt;
				break;
			case DW_LNE_set_address:
				if (len != addrsz + 1)
					return -1;
				addr = fixed(r, addrsz);
				break;
			case DW_LNE_set_discriminator:
				if (std_len[sub] != 1)
					return -1;
				uleb(r);
				break;
			case DW_LNE_define_file:
				return -1;   /* files libdw adds while running: rare, its own way */
			default:
				if (sub >= 0x80)
					return -1;   /* vendor extensions: libdw versions differ */
				r->p += len - 1;
				break;
			}
		} else if (op <= DW_LNS_set_isa) {
			static const unsigned char want[] = { 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1 };
			if (std_len[op] != want[op])
				return -1;
			switch (op) {
			case DW_LNS_copy: ROW(0); break;
			case DW_LNS_advance_pc: ADVANCE((uint32_t)uleb(r)); break;
			case DW_LNS_advance_line: line += (int32_t)sleb(r); break;
			case DW_LNS_set_file: file = (uint32_t)uleb(r); break;
			case DW_LNS_set_column: column = (uint32_t)uleb(r); break;
			case DW_LNS_negate_stmt: is_stmt = 1 - is_stmt; break;
			case DW_LNS_set_basic_block: break;
			case DW_LNS_const_add_pc:
				if (!line_range)
					return -1;
				ADVANCE((255 - opcode_base) / line_range);
				break;
			case DW_LNS_fixed_advance_pc:
				addr += fixed(r, 2);
				break;
			case DW_LNS_set_prologue_end:
			case DW_LNS_set_epilogue_begin:
				break;
			case DW_LNS_set_isa: isa = (uint32_t)uleb(r); break;
			}
		} else {
			for (unsigned n = std_len[op]; n > 0; n--)
				uleb(r);
		}
		if (r->bad)
			return -1;
	}
#undef ADVANCE
#undef ROW
	return 0;
}

dwline_t *dwline_open(Dwarf_Die *cu)
{
	Dwarf_Half version;
	uint8_t unit_type, addrsz = 0, offsz = 0;
	Dwarf_Die cudie;
	if (!cu || !cu->cu || dwarf_cu_info(cu->cu, &version, &unit_type, NULL, NULL, NULL, NULL,
					    NULL) != 0 || unit_type != DW_UT_compile ||
	    dwarf_tag(cu) != DW_TAG_compile_unit ||
	    !dwarf_diecu(cu, &cudie, &addrsz, &offsz) || (addrsz != 4 && addrsz != 8))
		return NULL;
	Dwarf_Attribute a;
	Dwarf_Word off;
	if (!dwarf_attr(cu, DW_AT_stmt_list, &a) || dwarf_formudata(&a, &off) != 0)
		return NULL;
	const char *comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
	secs_t sx;
	if (find_secs(dwarf_cu_getdwarf(cu->cu), &sx) || off >= sx.line.n)
		return NULL;

	rd_t r = { sx.line.d + off, sx.line.d + sx.line.n, 0 };
	uint64_t unit_len = fixed(&r, 4);
	unsigned lofs = 4;
	if (unit_len == 0xffffffff) {
		unit_len = fixed(&r, 8);
		lofs = 8;
	}
	if (r.bad || unit_len > (uint64_t)(r.end - r.p))
		return NULL;
	r.end = r.p + unit_len;
	unsigned ver = (unsigned)fixed(&r, 2);
	if (r.bad || ver < 2 || ver > 5)
		return NULL;
	if (ver >= 5) {
		unsigned las = (unsigned)fixed(&r, 1), seg = (unsigned)fixed(&r, 1);
		if (r.bad || las != addrsz || seg != 0)
			return NULL;
	}
	uint64_t hdr_len = fixed(&r, lofs);
	if (r.bad || hdr_len > (uint64_t)(r.end - r.p))
		return NULL;
	const unsigned char *prog = r.p + hdr_len;
	rd_t h = { r.p, prog, 0 };
	unsigned min_len = (unsigned)fixed(&h, 1), max_ops = ver >= 4 ? (unsigned)fixed(&h, 1) : 1;
	unsigned dflt = (unsigned)fixed(&h, 1);
	int line_base = (int8_t)fixed(&h, 1);
	unsigned line_range = (unsigned)fixed(&h, 1), opcode_base = (unsigned)fixed(&h, 1);
	if (h.bad || max_ops != 1 || dflt > 1 || opcode_base < 10 ||
	    (size_t)(h.end - h.p) < opcode_base - 1)
		return NULL;
	unsigned char lens[256] = { 0 };   /* lens[op]: operands of standard opcode op */
	memcpy(lens + 1, h.p, opcode_base - 1);
	h.p += opcode_base - 1;

	dwline_t *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	size_t fcap = 0;
	int ok = 0;
	if (ver < 5) {
		const char *dirs[4096];
		size_t nd = 1;
		dirs[0] = comp_dir;
		while (!h.bad && h.p < h.end && *h.p) {
			if (nd == sizeof dirs / sizeof dirs[0])
				goto out;
			dirs[nd++] = cstr(&h);
		}
		if (h.bad || h.p >= h.end)
			goto out;
		h.p++;
		if (add_file(l, &fcap, NULL, "???"))
			goto out;
		while (!h.bad && h.p < h.end && *h.p) {
			const char *name = cstr(&h);
			uint64_t di = uleb(&h);
			uleb(&h);
			uleb(&h);
			if (h.bad || di >= nd || add_file(l, &fcap, dirs[di], name))
				goto out;
		}
		if (h.bad || h.p >= h.end)
			goto out;
		h.p++;
	} else {
		const char **dnames = NULL, **fnames = NULL;
		uint64_t *fdir = NULL;
		size_t nd = 0, nf = 0;
		int bad = read_entries(&h, offsz, &sx, &dnames, NULL, &nd) ||
			  read_entries(&h, offsz, &sx, &fnames, &fdir, &nf);
		if (!bad && !nf)
			bad = add_file(l, &fcap, NULL, "???");
		for (size_t k = 0; !bad && k < nf; k++)
			bad = fdir[k] >= nd || add_file(l, &fcap, dnames[fdir[k]], fnames[k]);
		free(dnames);
		free(fnames);
		free(fdir);
		if (bad)
			goto out;
	}
	if (h.p != prog)
		goto out;   /* libdw's consistency check */
	rd_t pr = { prog, r.end, 0 };
	ok = run_program(l, &pr, addrsz, min_len, (int)dflt, line_base, line_range, opcode_base,
			 lens) == 0;
out:
	if (!ok) {
		dwline_free(l);
		return NULL;
	}
	return l;
}

static const dwline_t *sort_rows;

static int row_order(const void *a, const void *b)
{
	const row_t *x = &sort_rows->rows[*(const uint32_t *)a];
	const row_t *y = &sort_rows->rows[*(const uint32_t *)b];
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->end != y->end)
		return x->end ? -1 : 1;   /* an end precedes a row at the same address */
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* The rows in libdw's order, sorted on first use; 0 when they cannot be (the scan then). */
static int sorted_rows(dwline_t *l)
{
	if (!l->sorted) {
		if (l->nrows > UINT32_MAX || !(l->sorted = malloc(l->nrows * sizeof *l->sorted)))
			return 0;
		for (size_t i = 0; i < l->nrows; i++)
			l->sorted[i] = (uint32_t)i;
		sort_rows = l;
		qsort(l->sorted, l->nrows, sizeof *l->sorted, row_order);
	}
	return 1;
}

static const row_t *find_sorted(const dwline_t *l, uint64_t addr)
{
	size_t lo = 0, hi = l->nrows;   /* first row above addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->rows[l->sorted[mid]].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || lo == l->nrows)
		return NULL;   /* before every row, or at the last one (an end, as libdw marks it) */
	const row_t *x = &l->rows[l->sorted[lo - 1]];
	return x->end ? NULL : x;
}

int dwline_find(dwline_t *l, uint64_t addr, const char **file, int *line)
{
	const row_t *best = NULL;
	if (!l->nrows)
		return -1;
	if (++l->queries > DWLINE_SORT_AFTER && sorted_rows(l)) {
		best = find_sorted(l, addr);
	} else {
		/* the row libdw's sorted search lands on: the highest address not above addr,
		 * and there the last row in program order, unless it is an end */
		uint64_t at = 0;
		int any = 0;
		for (size_t i = 0; i < l->nrows; i++) {
			const row_t *x = &l->rows[i];
			if (x->addr > addr)
				continue;
			if (!any || x->addr > at) {
				any = 1;
				at = x->addr;
				best = x->end ? NULL : x;
			} else if (x->addr == at && !x->end) {
				best = x;
			}
		}
		if (!any || at == l->maxaddr)
			return -1;
	}
	if (!best)
		return -1;
	*file = best->file < l->nfiles ? l->files[best->file] : NULL;
	*line = best->line;
	return 0;
}

const char *dwline_file(const dwline_t *l, uint64_t idx)
{
	return idx < l->nfiles ? l->files[idx] : NULL;
}

size_t dwline_nfiles(const dwline_t *l)
{
	return l->nfiles;
}
