/* shrun.h: for the tests that drive the CLI as a user's shell would: `cd DIR && COMMAND`
 * under sh (not preloaded itself; `allocguard run` preloads what it starts), the command
 * formatted printf-style; and small files written into a scratch directory.  Asserts, so
 * Criterion tests only (helpers.h stays framework-free). */
#ifndef ALLOCGUARD_TEST_SHRUN_H
#define ALLOCGUARD_TEST_SHRUN_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "helpers.h"

static inline th_run_t sh_in(const char *dir, int timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline th_run_t sh_in(const char *dir, int timeout_s, const char *fmt, ...)
{
	char script[6144], cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(script, sizeof script, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "cd '%s' || exit 9; %s", dir, script);
	const char *argv[] = { "sh", "-c", cmd, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, timeout_s), 0);
	cr_assert(!r.timed_out, "timed out: %s", script);
	return r;
}

static inline void write_in(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

#endif
