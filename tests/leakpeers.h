/* leakpeers.h: the verdicts of the exit scan's peers on a program, for the tests that
 * compare with them: memcheck (valgrind --leak-check=full --run-libc-freeres=no) and
 * LeakSanitizer (the program built with clang -fsanitize=leak). */
#ifndef ALLOCGUARD_LEAKPEERS_H
#define ALLOCGUARD_LEAKPEERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t def_b, def_n, ind_b, ind_n;   /* LSan: all it reports is in def */
} th_peer_t;

/* memcheck's "definitely lost" and "indirectly lost" for argv; the program's exit status in
 * *code.  0, or -1 with the reason in why. */
int th_memcheck(const char *const *argv, const char *const *env, th_peer_t *f, int *code,
		char *why, size_t wlen);
/* Build src (a C file under the repository) with clang -fsanitize=leak into out, as the
 * examples are built.  0, or -1 with the reason in why. */
int th_lsan_build(const char *src, const char *out, char *why, size_t wlen);
/* LSan's summary for argv ("N byte(s) leaked in M allocation(s)"; none = 0).  0, or -1. */
int th_lsan_run(const char *const *argv, th_peer_t *f, char *why, size_t wlen);

#endif
