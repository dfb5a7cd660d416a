/* test_analyzer_dwline.c: the line tables read by analyzer/dwline.c answer every address
 * exactly as libdw's dwarf_getsrc_die and dwarf_getsrcfiles do (file names, lines, rows at
 * equal addresses, the end of the table), on objects built here with each DWARF version and
 * compiler available, on the analyzer itself, and on libc's separate debug file when it is
 * installed.  The scan and the sorted search (after many queries) are both exercised. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwline.h"
#include "helpers.h"

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Compares every CU of path; returns how many CUs dwline read. */
static size_t compare_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s", path);
	Dwarf *dbg = dwarf_begin(fd, DWARF_C_READ);
	cr_assert_not_null(dbg, "%s has no DWARF", path);
	size_t read = 0;
	Dwarf_Off off = 0, next;
	size_t hsz;
	while (dwarf_nextcu(dbg, off, &next, &hsz, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		int have = dwarf_offdie(dbg, off + hsz, &cu) != NULL;
		off = next;
		if (!have)
			continue;
		Dwarf_Lines *lines;
		Dwarf_Files *files;
		size_t nl, nf;
		int lok = dwarf_getsrclines(&cu, &lines, &nl) == 0;
		dwline_t *scan = dwline_open(&cu), *sorted = dwline_open(&cu);
		if (!scan) {
			cr_assert_not(lok, "%s: dwline refused a table libdw reads (CU %s)", path,
				      dwarf_diename(&cu));
			dwline_free(sorted);
			continue;
		}
		cr_assert(lok, "%s: dwline read a table libdw refuses", path);
		read++;
		cr_assert_eq(dwarf_getsrcfiles(&cu, &files, &nf), 0);
		cr_assert_eq(dwline_nfiles(scan), nf, "%s: file count", path);
		for (size_t i = 0; i < nf + 2; i++) {
			const char *want = dwarf_filesrc(files, i, NULL, NULL);
			cr_assert(same(want, dwline_file(scan, i)), "%s: file %zu: %s vs %s", path, i,
				  want, dwline_file(scan, i));
		}
		size_t asked = 0;
		for (size_t i = 0; i < nl; i++) {
			Dwarf_Addr a;
			dwarf_lineaddr(dwarf_onesrcline(lines, i), &a);
			for (int d = -1; d <= 1; d++) {
				Dwarf_Line *w = dwarf_getsrc_die(&cu, a + d);
				const char *wf = w ? dwarf_linesrc(w, NULL, NULL) : NULL, *gf = NULL;
				int wl = 0, gl = 0;
				if (w)
					dwarf_lineno(w, &wl);
				/* the first CU queries stay on the scan; the rest pass the sort threshold */
				dwline_t *use = asked++ < 40 ? scan : sorted;
				int got = dwline_find(use, a + d, &gf, &gl) == 0;
				cr_assert_eq(got, w != NULL, "%s: row at %#lx: found %d, libdw %d", path,
					     (unsigned long)(a + d), got, w != NULL);
				cr_assert(!got || (same(gf, wf) && gl == wl), "%s: %#lx: %s:%d vs %s:%d",
					  path, (unsigned long)(a + d), gf, gl, wf, wl);
			}
		}
		dwline_free(scan);
		dwline_free(sorted);
	}
	dwarf_end(dbg);
	close(fd);
	return read;
}

/* A program with inline functions, a header, a second file and a cold path. */
static const char src_main[] =
"#include <stdio.h>\n"
"#include <stdlib.h>\n"
"#include \"part.h\"\n"
"static inline int sq(int x) { return x * x; }\n"
"__attribute__((cold, noinline)) static void fail(const char *m) { fprintf(stderr, \"%s\\n\", m); exit(3); }\n"
"int main(int argc, char **argv) {\n"
"  int t = 0;\n"
"  for (int i = 0; i < argc * 100; i++)\n"
"    t += sq(i) + twice(i);\n"
"  if (t == 12345) fail(argv[0]);\n"
"  printf(\"%d\\n\", t);\n"
"  return 0;\n"
"}\n";
static const char src_part_h[] =
"static inline int twice(int x) {\n"
"  return 2 * x;\n"
"}\n"
"int other(int);\n";
static const char src_part[] =
"#include \"part.h\"\n"
"int other(int y) { return twice(y) + 1; }\n";

static void put(const char *dir, const char *name, const char *text)
{
	char p[400];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static size_t build_and_compare(const char *cc, const char *dwarf, const char *opt)
{
	if (!th_have_cmd(cc))
		return 0;
	char *dir = th_tmpdir("dwline");
	put(dir, "main.c", src_main);
	put(dir, "part.h", src_part_h);
	put(dir, "part.c", src_part);
	char out[400], m[400], p[400];
	snprintf(out, sizeof out, "%s/prog", dir);
	snprintf(m, sizeof m, "%s/main.c", dir);
	snprintf(p, sizeof p, "%s/part.c", dir);
	const char *argv[] = { cc, dwarf, opt, "-o", out, m, p, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 120), 0);
	cr_assert_eq(r.code, 0, "%s %s failed: %s", cc, dwarf, r.err);
	th_run_free(&r);
	size_t n = compare_file(out);
	cr_assert_geq(n, 2, "%s %s %s: both CUs read", cc, dwarf, opt);
	th_rmtree(dir);
	return n;
}

Test(dwline, same_answers_as_libdw_for_every_dwarf_version, .timeout = 300)
{
	const char *versions[] = { "-gdwarf-2", "-gdwarf-4", "-gdwarf-5" };
	for (size_t i = 0; i < 3; i++) {
		build_and_compare("cc", versions[i], "-O2");
		build_and_compare("cc", versions[i], "-O0");
		build_and_compare("clang", versions[i], "-O2");
	}
}

Test(dwline, same_answers_as_libdw_on_the_analyzer_and_libc, .timeout = 300)
{
	cr_assert_gt(compare_file(th_root("build/allocguard")), 10);
	/* libc6-dbg's separate file: DWARF 5 with compressed sections libdw inflates */
	FILE *p = popen("readelf -n /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null | "
			"awk '/Build ID/ { print $3 }'", "r");
	char id[200] = "";
	if (p) {
		if (!fgets(id, sizeof id, p))
			id[0] = '\0';
		pclose(p);
	}
	id[strcspn(id, "\n")] = '\0';
	if (strlen(id) < 3)
		return;
	char dbg[400];
	snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
	if (access(dbg, R_OK) == 0)
		cr_assert_gt(compare_file(dbg), 100);
}
