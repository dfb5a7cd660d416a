/* dwline.h: a CU's DWARF line table (.debug_line, versions 2-5) read straight from the
 * section, for the few addresses a report asks of it.  libdw's dwarf_getsrclines builds and
 * sorts every row of a CU on first use (half of a CPython analysis); this keeps the rows as
 * decoded and answers each address as libdw's sorted search would: the same file names
 * (joined with their directory the way libdw joins them), the same row at equal addresses,
 * nothing past the last row.  Anything it does not handle (split units, string forms that
 * need other sections, DW_LNE_define_file, values libdw refuses) is refused, and the caller
 * uses libdw instead. */
#ifndef ALLOCGUARD_DWLINE_H
#define ALLOCGUARD_DWLINE_H

#include <elfutils/libdw.h>
#include <stdint.h>

typedef struct dwline dwline_t;

/* The line table of the CU whose DIE is cu; NULL when it cannot be read here (or the CU
 * has none: libdw then says so itself). */
dwline_t *dwline_open(Dwarf_Die *cu);
/* The file and line for addr (an address of the ELF file, bias removed): 0, or -1 when
 * libdw would find no row. *file is NULL when the row's file index is out of range. */
int dwline_find(dwline_t *l, uint64_t addr, const char **file, int *line);
/* File idx of the table as dwarf_getsrcfiles numbers them; NULL when out of range. */
const char *dwline_file(const dwline_t *l, uint64_t idx);
size_t dwline_nfiles(const dwline_t *l);
void dwline_free(dwline_t *l);

#endif
