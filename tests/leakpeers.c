/* leakpeers.c: memcheck's and LeakSanitizer's verdicts (see leakpeers.h). */
#include "leakpeers.h"
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first two numbers after p ("1,337 bytes in 1 blocks"): 0, or -1 when absent. */
static int two_numbers(const char *p, uint64_t *a, uint64_t *b)
{
	uint64_t v[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		while (*p && *p != '\n' && (*p < '0' || *p > '9'))
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		while ((*p >= '0' && *p <= '9') || *p == ',') {
			if (*p != ',')
				v[k] = v[k] * 10 + (uint64_t)(*p - '0');
			p++;
		}
	}
	*a = v[0];
	*b = v[1];
	return 0;
}

/* "==123==    definitely lost: 31,612 bytes in 28 blocks" -> bytes, blocks */
static int memcheck_figure(const char *err, const char *what, uint64_t *bytes, uint64_t *blocks)
{
	const char *p = strstr(err, what);
	if (!p && strstr(err, "All heap blocks were freed")) {
		*bytes = *blocks = 0;
		return 0;
	}
	return p ? two_numbers(p + strlen(what), bytes, blocks) : -1;
}

int th_memcheck(const char *const *argv, const char *const *env, th_peer_t *f, int *code,
		char *why, size_t wlen)
{
	const char *vg[32] = { "valgrind", "--leak-check=full", "--run-libc-freeres=no",
			       "--errors-for-leak-kinds=none", "--error-exitcode=0" };
	size_t n = 5;
	for (size_t i = 0; argv[i] && n < 31; i++)
		vg[n++] = argv[i];
	vg[n] = NULL;
	th_run_t v;
	memset(f, 0, sizeof *f);
	int rc = -1;
	if (th_run(&v, vg, env, 0, 240) != 0 || !v.exited) {
		snprintf(why, wlen, "valgrind %s: %s", argv[0], th_run_desc(&v));
	} else if (memcheck_figure(v.err, "definitely lost:", &f->def_b, &f->def_n) ||
		   memcheck_figure(v.err, "indirectly lost:", &f->ind_b, &f->ind_n)) {
		snprintf(why, wlen, "no leak summary in valgrind's output:\n%.2000s", v.err);
	} else {
		*code = v.code;
		rc = 0;
	}
	th_run_free(&v);
	return rc;
}

int th_lsan_build(const char *src, const char *out, char *why, size_t wlen)
{
	const char *cc[] = { "clang", "-fsanitize=leak", "-O0", "-g", "-fno-omit-frame-pointer",
			     "-D_GNU_SOURCE", "-pthread", "-o", out, th_root(src), "-ldl", NULL };
	th_run_t r;
	int rc = th_run(&r, cc, NULL, 0, 120) == 0 && r.exited && r.code == 0 ? 0 : -1;
	if (rc)
		snprintf(why, wlen, "clang -fsanitize=leak %s: %s\n%.2000s", src, th_run_desc(&r),
			 r.err ? r.err : "");
	th_run_free(&r);
	return rc;
}

int th_lsan_run(const char *const *argv, th_peer_t *f, char *why, size_t wlen)
{
	th_run_t r;
	memset(f, 0, sizeof *f);
	int rc = -1;
	if (th_run(&r, argv, NULL, 0, 120) != 0 || !r.exited) {
		snprintf(why, wlen, "%s under LSan: %s", argv[0], th_run_desc(&r));
	} else {
		const char *s = strstr(r.err, "SUMMARY: LeakSanitizer:");
		rc = s ? two_numbers(s, &f->def_b, &f->def_n) : strstr(r.err, "LeakSanitizer") ? -1 : 0;
		if (rc)
			snprintf(why, wlen, "LSan's output has no summary:\n%.2000s", r.err);
	}
	th_run_free(&r);
	return rc;
}
