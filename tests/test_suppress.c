/* test_suppress.c: analyzer/suppress.c: LeakSanitizer's pattern language (wildcards,
 * anchors, substrings) and the file syntax (comments, blank lines, one clear error). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "suppress.h"

Test(suppress, patterns_match_as_leak_sanitizer_templates)
{
	struct {
		const char *pattern, *text;
		bool hit;
	} cases[] = {
		{ "xmalloc", "xmalloc", true },
		{ "malloc", "xmalloc_wrapper", true },         /* unanchored: anywhere */
		{ "^malloc", "xmalloc", false },
		{ "^xmalloc$", "xmalloc", true },
		{ "^xmalloc$", "xmalloc2", false },
		{ "alloc$", "xmalloc", true },
		{ "alloc$", "allocator", false },
		{ "vendor_*_init", "vendor_cache_init", true },
		{ "vendor_*_init", "vendor_init", false },
		{ "^/usr/bin/bash$", "/usr/bin/bash", true },
		{ "^/usr/bin/bash$", "/home/me/usr/bin/bash", false },
		{ "^/usr/bin/bash$", "/usr/bin/bashful", false },
		{ "^*/libfoo.so*", "/opt/x/libfoo.so.1", true },
		{ "*", "", true },
		{ "a*b*c", "xxaybbzcq", true },
		{ "a*b*c", "xxacb", false },
		{ "^/usr/bin/[$", "/usr/bin/[", true },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		cr_assert_eq(supp_wild(cases[i].pattern, cases[i].text), cases[i].hit,
			     "'%s' on '%s'", cases[i].pattern, cases[i].text);
	cr_assert(!supp_wild("x", NULL));
}

static char *file_with(const char *dir, const char *text)
{
	static char path[1024];
	snprintf(path, sizeof path, "%s/s.supp", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

Test(suppress, files_keep_comments_out_and_name_the_bad_line)
{
	char *dir = strdup(th_tmpdir("supp"));
	supp_t s = { 0 };
	char err[600];
	const char *p = file_with(dir, "# a comment\n\n   leak:foo  \r\nleak:^/bin/x$\n\t# more\n");
	cr_assert_eq(supp_load(&s, p, err, sizeof err), 0, "%s", err);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.rules[0].pattern, "foo");
	cr_assert_eq(s.rules[0].line, 3);
	cr_assert_str_eq(s.rules[1].pattern, "^/bin/x$");
	cr_assert_eq(s.rules[1].line, 4);
	supp_free(&s);
	p = file_with(dir, "leak:ok\nfoo\n");
	cr_assert_eq(supp_load(&s, p, err, sizeof err), EINVAL);
	cr_assert(strstr(err, "s.supp:2: expected 'leak:PATTERN'"), "%s", err);
	supp_free(&s);
	p = file_with(dir, "leakage:x\n");
	cr_assert_eq(supp_load(&s, p, err, sizeof err), EINVAL);
	supp_free(&s);
	th_rmtree(dir);
	free(dir);
}

Test(suppress, the_shipped_defaults_parse_and_name_only_whole_paths)
{
	supp_t s = { 0 };
	char err[600];
	cr_assert_eq(supp_load(&s, th_root("share/allocguard/default.supp"), err, sizeof err), 0,
		     "%s", err);
	cr_assert_gt(s.n, 100);
	bool bash = false;
	for (size_t i = 0; i < s.n; i++) {
		const char *p = s.rules[i].pattern;
		size_t n = strlen(p);
		cr_assert(p[0] == '^' && p[n - 1] == '$', "a default must be a whole path: %s", p);
		bash |= supp_wild(p, "/usr/bin/bash");
		cr_assert(!supp_wild(p, "/usr/bin/python3.11"), "%s", p);
		cr_assert(!supp_wild(p, "/usr/local/bin/myprog"), "%s", p);
	}
	cr_assert(bash);
	supp_free(&s);
}
