/* test_readme.c: the README is the user's document: its options table is the one
 * `allocguard run --options-table` generates from preload/options.def (so a new or changed
 * option cannot be left out), it stays under 400 lines, and it speaks of the project as it
 * is, never of its history (issue numbers, commit ids, "stops").  docs/design.md's Inside
 * table names every source file of preload/ and analyzer/. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static char *readme(void)
{
	char *s = th_slurp_raw(th_root("README.md"), NULL);
	cr_assert_not_null(s, "cannot read README.md");
	return s;
}

/* The table that starts at the line beginning with head, up to the first line that does
 * not start with '|'; malloc'd. */
static char *table_at(const char *s, const char *head)
{
	const char *p = s;
	while (p && strncmp(p, head, strlen(head)) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return NULL;
	const char *end = p;
	while (*end == '|') {
		const char *nl = strchr(end, '\n');
		end = nl ? nl + 1 : end + strlen(end);
	}
	return strndup(p, (size_t)(end - p));
}

Test(readme, options_table_is_the_generated_one)
{
	const char *argv[] = { th_build("allocguard"), "run", "--options-table", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
	cr_assert(r.exited && r.code == 0, "run --options-table: %s", th_run_desc(&r));
	char *s = readme();
	char *mine = table_at(s, "| `run` option |");
	cr_assert_not_null(mine, "README.md has no options table (a line starting "
			   "\"| `run` option |\")");
	char *gen = table_at(r.out, "| `run` option |");
	cr_assert_not_null(gen, "run --options-table printed no table:\n%s", r.out);
	cr_assert_str_eq(mine, gen, "README.md's options table differs from "
			 "`make options-table`; paste its output into the README:\n%s", gen);
	free(mine);
	free(gen);
	free(s);
	th_run_free(&r);
}

/* Whether s at p starts a word w followed by a space and a number ("issue 13"). */
static int word_then_number(const char *s, const char *p, const char *w)
{
	size_t n = strlen(w);
	if (p > s && isalnum((unsigned char)p[-1]))
		return 0;
	return strncasecmp(p, w, n) == 0 && p[n] == ' ' && isdigit((unsigned char)p[n + 1]);
}

/* A run of 7 to 40 lowercase hex digits holding both a digit and a letter: a commit id. */
static int commit_id_at(const char *s, const char *p)
{
	if (p > s && isalnum((unsigned char)p[-1]))
		return 0;
	size_t n = 0;
	int digit = 0, letter = 0;
	for (; isxdigit((unsigned char)p[n]) && !isupper((unsigned char)p[n]); n++) {
		digit |= isdigit((unsigned char)p[n]) != 0;
		letter |= isalpha((unsigned char)p[n]) != 0;
	}
	return n >= 7 && n <= 40 && !isalnum((unsigned char)p[n]) && digit && letter;
}

Test(readme, is_short_and_speaks_of_the_project_as_it_is)
{
	char *s = readme();
	size_t lines = th_nlines(s);
	cr_assert(lines <= 400, "README.md has %zu lines (at most 400: details go to docs/)",
		  lines);
	int in_code = 0;
	for (const char *line = s; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (strncmp(line, "```", 3) == 0)
			in_code = !in_code;
		for (const char *p = line; !in_code && p < line + len; p++) {
			cr_assert(!word_then_number(s, p, "issue") && !word_then_number(s, p, "#"),
				  "README.md names an issue: %.*s", (int)len, line);
			cr_assert(!commit_id_at(s, p), "README.md names a commit: %.*s", (int)len,
				  line);
			cr_assert(strncasecmp(p, "previous stop", 13) != 0 &&
				  strncmp(p, "Not met", 7) != 0,
				  "README.md speaks of its own history: %.*s", (int)len, line);
		}
		line = nl ? nl + 1 : line + len;
	}
	free(s);
}

Test(readme, design_names_every_source_file)
{
	char *design = th_slurp_raw(th_root("docs/design.md"), NULL);
	cr_assert_not_null(design, "cannot read docs/design.md");
	const char *dirs[] = { "preload", "analyzer" };
	for (size_t d = 0; d < 2; d++) {
		DIR *dir = opendir(th_root(dirs[d]));
		cr_assert_not_null(dir, "%s", dirs[d]);
		for (struct dirent *e; (e = readdir(dir));) {
			size_t n = strlen(e->d_name);
			if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0)
				continue;
			char tick[300], slash[300];
			snprintf(tick, sizeof tick, "`%s`", e->d_name);
			snprintf(slash, sizeof slash, "/%s`", e->d_name);
			cr_assert(strstr(design, tick) || strstr(design, slash),
				  "docs/design.md's Inside table does not name %s/%s", dirs[d],
				  e->d_name);
		}
		closedir(dir);
	}
	free(design);
}
