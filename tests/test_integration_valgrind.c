/* test_integration_valgrind.c: the exit scan's verdicts against memcheck's on the same
 * programs (`valgrind --leak-check=full --run-libc-freeres=no`): our directly lost heap bytes
 * and blocks equal memcheck's "definitely lost", our indirectly lost its "indirectly lost".
 * Planted cases of each kind the scan must get right (examples/lostkinds.c, a library
 * constructor's leak before ours ran) also check both against the figures the program
 * planted; real programs (python3, sqlite3, git, perl, C++) are compared as they are.  Where the
 * two tools cannot agree (anonymous mappings: memcheck does not judge them; blocks freed
 * behind the hooks) the test says which is right.  Skips when valgrind is not installed.
 * STRESS=1 adds repeated and larger python3 runs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "leakpeers.h"

typedef th_peer_t figures_t;

static int memcheck(const char *const *argv, const char *const *env, figures_t *f)
{
	char why[2400];
	int code = 0;
	cr_assert_eq(th_memcheck(argv, env, f, &code, why, sizeof why), 0, "%s", why);
	return code;
}

typedef struct {
	figures_t heap;             /* def = directly lost, ind = indirectly lost */
	uint64_t map_lost_b, map_lost_n;
	uint64_t early_live_b, early_lost_b, early_lost_n;   /* the frameless pseudo-site */
	char *out;                  /* the program's stdout */
} guard_t;

/* Run argv under the guard; the one log must have its exit snapshot. */
static int guarded(const char *const *argv, const char *const *env_in, guard_t *g)
{
	memset(g, 0, sizeof *g);
	th_run_t r;
	th_log_t log;
	char why[300];
	cr_assert_eq(th_run_one_log("vg", argv, env_in, 120, &r, &log, why, sizeof why), 0,
		     "%s", why);
	cr_assert(r.exited, "%s under the guard: %s\n%s", argv[0], th_run_desc(&r), r.err);
	cr_assert_geq(th_log_find(&log, "exit"), 0, "%s: no exit snapshot", argv[0]);
	for (size_t i = 0; i < log.nstacks; i++) {
		const th_val_t *v = &log.val[i];
		if (log.stacks[i].kind == 'm') {
			g->map_lost_b += v->lost_bytes;
			g->map_lost_n += v->lost_count;
			continue;
		}
		if (log.stacks[i].kind != 'h')
			continue;
		g->heap.def_b += v->lost_bytes - v->indirect_bytes;
		g->heap.def_n += v->lost_count - v->indirect_count;
		g->heap.ind_b += v->indirect_bytes;
		g->heap.ind_n += v->indirect_count;
		if (log.stacks[i].nframes == 0) {
			g->early_live_b += v->live_bytes;
			g->early_lost_b += v->lost_bytes;
			g->early_lost_n += v->lost_count;
		}
	}
	g->out = strdup(r.out);
	int code = r.code;
	th_log_free(&log);
	th_run_free(&r);
	return code;
}

static void expect_same(const char *what, const figures_t *vg, const figures_t *ag)
{
	cr_expect(ag->def_b == vg->def_b && ag->def_n == vg->def_n,
		  "%s: directly lost: allocguard %llu bytes in %llu blocks, memcheck definitely "
		  "lost %llu in %llu", what, (unsigned long long)ag->def_b,
		  (unsigned long long)ag->def_n, (unsigned long long)vg->def_b,
		  (unsigned long long)vg->def_n);
	cr_expect(ag->ind_b == vg->ind_b && ag->ind_n == vg->ind_n,
		  "%s: indirectly lost: allocguard %llu bytes in %llu blocks, memcheck %llu in %llu",
		  what, (unsigned long long)ag->ind_b, (unsigned long long)ag->ind_n,
		  (unsigned long long)vg->ind_b, (unsigned long long)vg->ind_n);
}

static void need_valgrind(void)
{
	if (!th_have_cmd("valgrind"))
		cr_skip_test("valgrind is not installed");
}

/* Both tools on argv; returns the guard's figures (caller frees g->out). */
static void compare_argv(const char *what, const char *const *argv, const char *const *env,
			 guard_t *g)
{
	figures_t vg;
	int vcode = memcheck(argv, env, &vg);
	int gcode = guarded(argv, env, g);
	cr_assert_eq(gcode, vcode, "%s: exit status %d under the guard, %d under valgrind", what,
		     gcode, vcode);
	expect_same(what, &vg, &g->heap);
}

/* examples/lostkinds CASE [ARG]: both tools must also equal what the program planted. */
static void planted(const char *kase, const char *arg, guard_t *g)
{
	const char *argv[] = { th_build("examples/lostkinds"), kase, arg, NULL };
	char what[700];
	snprintf(what, sizeof what, "lostkinds %s%s%s", kase, arg ? " " : "", arg ? arg : "");
	compare_argv(what, argv, NULL, g);
	long long lb = th_kv(g->out, "lost_bytes"), lc = th_kv(g->out, "lost_count");
	long long ib = th_kv(g->out, "indirect_bytes"), ic = th_kv(g->out, "indirect_count");
	cr_assert(lb >= 0 && ib >= 0, "%s: no expect line in\n%s", what, g->out);
	cr_expect_eq(g->heap.def_b + g->heap.ind_b, (uint64_t)lb, "%s: lost %llu bytes, planted %lld",
		     what, (unsigned long long)(g->heap.def_b + g->heap.ind_b), lb);
	cr_expect_eq(g->heap.def_n + g->heap.ind_n, (uint64_t)lc, "%s: lost %llu blocks, planted %lld",
		     what, (unsigned long long)(g->heap.def_n + g->heap.ind_n), lc);
	cr_expect_eq(g->heap.ind_b, (uint64_t)ib, "%s: indirect %llu bytes, planted %lld", what,
		     (unsigned long long)g->heap.ind_b, ib);
	cr_expect_eq(g->heap.ind_n, (uint64_t)ic, "%s: indirect %llu blocks, planted %lld", what,
		     (unsigned long long)g->heap.ind_n, ic);
	cr_expect_eq(g->map_lost_b, (uint64_t)th_kv(g->out, "map_lost_bytes"),
		     "%s: lost mapped bytes %llu", what, (unsigned long long)g->map_lost_b);
}

static void planted_ok(const char *kase, const char *arg)
{
	need_valgrind();
	guard_t g;
	planted(kase, arg, &g);
	free(g.out);
}

Test(integration_valgrind, planted_leaks_match_memcheck, .timeout = 240)
{
	need_valgrind();
	const char *argv[] = { th_build("examples/leaks"), NULL };
	guard_t g;
	compare_argv("examples/leaks", argv, NULL, &g);
	free(g.out);
}

Test(integration_valgrind, reachability_cases_match_memcheck, .timeout = 240)
{
	need_valgrind();
	const char *argv[] = { th_build("examples/reach"), NULL };
	guard_t g;
	compare_argv("examples/reach", argv, NULL, &g);
	free(g.out);
}

/* glibc's main_arena points at the top chunk's header, which lies inside the last block's
 * requested bytes when n mod 16 is 1..8: that pointer is glibc's, not the program's. */
Test(integration_valgrind, block_before_the_top_chunk_is_lost, .timeout = 240)
{
	planted_ok("top", "24");
	planted_ok("top", "100");
}

Test(integration_valgrind, block_before_a_thread_arenas_top_is_lost, .timeout = 240)
{
	planted_ok("top_thread", "40");
}

Test(integration_valgrind, pointer_only_in_a_callee_saved_register_is_a_root, .timeout = 240)
{
#if !defined(__x86_64__)
	cr_skip_test("the register case is written for x86-64");
#endif
	planted_ok("reg", NULL);
}

Test(integration_valgrind, exit_from_a_fiber_on_a_malloced_stack, .timeout = 240)
{
	planted_ok("fiber", NULL);
}

Test(integration_valgrind, lost_chains_split_direct_and_indirect, .timeout = 240)
{
	planted_ok("chain", NULL);
}

/* Unreadable memory holds no pointers (memcheck's rule); the scan must neither fault nor
 * stop at the protected page. */
Test(integration_valgrind, protected_page_inside_a_block, .timeout = 240)
{
	planted_ok("mprotect", NULL);
}

/* memcheck does not judge mmap'd memory at all, so only the heap figures are compared; the
 * planted mapping every pointer to was dropped is lost (nothing can ever unmap it), the one
 * a global holds is not; a page committed inside a reservation lives as long as a pointer
 * to the reservation does. */
Test(integration_valgrind, dropped_anonymous_mapping_is_lost, .timeout = 240)
{
	need_valgrind();
	guard_t g;
	planted("mapping", NULL, &g);
	cr_expect_eq(g.map_lost_b, 128 * 1024 + 64 * 1024);
	cr_expect_eq(g.map_lost_n, 2);
	free(g.out);
}

/* Where the two differ: memcheck does not judge mappings, so it scans every mapped byte as a
 * root and calls a block reachable when its only pointer lies in a mapping nothing points
 * to.  No chain of pointers from the program reaches that block any more: it is lost, and
 * indirectly (its mapping is the direct loss), which is what the guard says. */
Test(integration_valgrind, block_held_only_by_a_lost_mapping_is_indirectly_lost, .timeout = 240)
{
	need_valgrind();
	const char *argv[] = { th_build("examples/lostkinds"), "maphold", NULL };
	figures_t vg;
	cr_assert_eq(memcheck(argv, NULL, &vg), 0);
	cr_expect(vg.def_b == 0 && vg.ind_b == 0, "memcheck now judges mappings? definitely "
		  "%llu, indirectly %llu", (unsigned long long)vg.def_b,
		  (unsigned long long)vg.ind_b);
	guard_t g;
	cr_assert_eq(guarded(argv, NULL, &g), 0);
	cr_expect_eq(g.map_lost_b, 64 * 1024);
	cr_expect_eq(g.heap.def_b, 0);
	cr_expect_eq(g.heap.ind_b, 500);
	cr_expect_eq(g.heap.ind_n, 1);
	free(g.out);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void cc(const char *const *argv)
{
	th_run_t c;
	cr_assert_eq(th_run(&c, argv, NULL, 0, 120), 0);
	cr_assert(c.exited && c.code == 0, "cc: %s\n%s", th_run_desc(&c), c.err);
	th_run_free(&c);
}

/* A library kept a block in its own global, then was dlclose'd: its data went with it. */
Test(integration_valgrind, leak_of_a_dlclosed_library_is_lost, .timeout = 240)
{
	need_valgrind();
	if (!th_have_cmd("cc"))
		cr_skip_test("no cc");
	char *dir = strdup(th_tmpdir("vglib"));
	char src[600], lib[600];
	snprintf(src, sizeof src, "%s/keep.c", dir);
	snprintf(lib, sizeof lib, "%s/libkeep.so", dir);
	write_file(src, "#include <stdlib.h>\n#include <string.h>\nstatic void *kept;\n"
		   "void lib_keep(size_t n) { kept = malloc(n); memset(kept, 0x5a, n); }\n");
	const char *c1[] = { "cc", "-shared", "-fPIC", "-g", "-O0", "-o", lib, src, NULL };
	cc(c1);
	planted_ok("dlclose", lib);
	th_rmtree(dir);
	free(dir);
}

/* A library constructor that ran before ours allocated one block it keeps and one it
 * drops: both appear on the pseudo-site "(before allocguard started)" and are judged like
 * any other (memcheck sees them from the first instruction). */
Test(integration_valgrind, block_from_before_our_constructor_is_judged, .timeout = 240)
{
	need_valgrind();
	if (!th_have_cmd("cc"))
		cr_skip_test("no cc");
	char *dir = strdup(th_tmpdir("vgearly"));
	char lsrc[600], msrc[600], lib[600], exe[600], ldir[620], rpath[640];
	snprintf(lsrc, sizeof lsrc, "%s/early.c", dir);
	snprintf(msrc, sizeof msrc, "%s/main.c", dir);
	snprintf(lib, sizeof lib, "%s/libearly.so", dir);
	snprintf(exe, sizeof exe, "%s/early", dir);
	snprintf(ldir, sizeof ldir, "-L%s", dir);
	snprintf(rpath, sizeof rpath, "-Wl,-rpath,%s", dir);
	write_file(lsrc, "#include <stdlib.h>\n#include <string.h>\nvoid *early_kept;\n"
		   "__attribute__((constructor)) static void early(void)\n{\n"
		   "\tearly_kept = malloc(3000);\n\tmemset(early_kept, 1, 3000);\n"
		   "\tvoid *volatile p = malloc(4000);\n\tmemset(p, 2, 4000);\n\tp = 0;\n}\n");
	write_file(msrc, "#include <string.h>\nextern void *early_kept;\nstatic volatile int sink;\n"
		   "int main(void)\n{\n\tvolatile char pad[65536];\n"
		   "\tmemset((char *)pad, 0, sizeof pad);\n\tsink = pad[1];\n"
		   "\treturn early_kept == 0;\n}\n");
	const char *c1[] = { "cc", "-shared", "-fPIC", "-g", "-O0", "-o", lib, lsrc, NULL };
	cc(c1);
	const char *c2[] = { "cc", "-g", "-O0", "-o", exe, msrc, ldir, "-learly", rpath, NULL };
	cc(c2);
	const char *argv[] = { exe, NULL };
	guard_t g;
	compare_argv("early", argv, NULL, &g);
	cr_expect_eq(g.heap.def_b, 4000);
	cr_expect_eq(g.heap.def_n, 1);
	cr_expect_eq(g.early_lost_b, 4000, "the early lost block is not on the pseudo-site");
	cr_expect_eq(g.early_lost_n, 1);
	cr_expect_geq(g.early_live_b, 7000);
	free(g.out);
	th_rmtree(dir);
	free(dir);
}

/* Blocks freed with libc's free behind the hooks (what a RTLD_DEEPBIND library does)
 * leave stale entries whose memory is unmapped: reading them must not fault, and the log
 * must keep its exit snapshot.  Here memcheck is right and we are not (it saw the frees;
 * making them visible is the hooks' business): only the heap's absence of a crash and the
 * log are asserted. */
Test(integration_valgrind, stale_entries_of_unmapped_blocks_never_fault, .timeout = 120)
{
	const char *argv[] = { th_build("examples/lostkinds"), "stale", NULL };
	guard_t g;
	cr_expect_eq(guarded(argv, NULL, &g), 0);
	free(g.out);
}

/* ---- real programs ---- */

static const char *python(void)
{
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Large strings (glibc mmapped chunks) interleaved with many small objects (pymalloc
 * arenas, mmapped by Python): both kinds end up side by side in one /proc/self/maps line. */
static const char *const py_scripts[] = {
	"import json\n"
	"data = [{'k%d' % i: [i, str(i) * 50, {'x': i}]} for i in range(20000)]\n"
	"big = ['y' * 300000 for _ in range(5)]\n"
	"s = json.dumps(data)\n"
	"back = json.loads(s)\n"
	"print(len(back), len(s))\n",
	"import json, collections\n"
	"c = collections.Counter()\n"
	"for i in range(3000):\n"
	"    d = json.loads(json.dumps({'a': list(range(i % 50)), 'b': 'z' * (i % 700)}))\n"
	"    c[len(d['a'])] += 1\n"
	"blobs = [bytes(200000 + i) for i in range(4)]\n"
	"print(sum(c.values()), len(blobs))\n",
};

static void python_run(size_t k)
{
	need_valgrind();
	const char *argv[] = { python(), "-c", py_scripts[k], NULL };
	guard_t g;
	compare_argv("python3 json", argv, NULL, &g);
	free(g.out);
}

Test(integration_valgrind, python3_json_matches_memcheck, .timeout = 300)
{
	python_run(0);
}

Test(integration_valgrind, python3_repeated_runs_match_memcheck, .timeout = 900)
{
	if (!getenv("STRESS"))
		cr_skip_test("STRESS=1 runs python3 three times per script");
	for (int i = 0; i < 3; i++)
		for (size_t k = 0; k < sizeof py_scripts / sizeof *py_scripts; k++)
			python_run(k);
}

Test(integration_valgrind, sqlite3_matches_memcheck, .timeout = 240)
{
	need_valgrind();
	if (!th_have_cmd("sqlite3"))
		cr_skip_test("no sqlite3");
	const char *argv[] = { "sqlite3", ":memory:",
			       "create table t(a, b); insert into t values (1, 'x'), (2, 'y');"
			       "create index i on t(b); select count(*), group_concat(b) from t;",
			       NULL };
	guard_t g;
	compare_argv("sqlite3", argv, NULL, &g);
	free(g.out);
}

Test(integration_valgrind, git_matches_memcheck, .timeout = 240)
{
	need_valgrind();
	if (!th_have_cmd("git"))
		cr_skip_test("no git");
	const char *argv[] = { "git", "--no-pager", "-C", th_root("."), "log", "--oneline", "-5",
			       NULL };
	const char *env[] = { "GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent", NULL };
	guard_t g;
	compare_argv("git log", argv, env, &g);
	free(g.out);
}

/* perl leaves real direct and indirect losses at exit (its interpreter is not torn down):
 * a non-zero comparison on both figures. */
Test(integration_valgrind, perl_direct_and_indirect_match_memcheck, .timeout = 240)
{
	need_valgrind();
	if (!th_have_cmd("perl"))
		cr_skip_test("no perl");
	const char *argv[] = { "perl", "-e",
			       "my %h = map { $_ => [$_] } 1..1000; print scalar(keys %h), qq(\n);",
			       NULL };
	guard_t g;
	compare_argv("perl", argv, NULL, &g);
	cr_expect_gt(g.heap.def_n, 0, "perl lost nothing directly: the comparison proves little");
	cr_expect_gt(g.heap.ind_n, 0, "perl lost nothing indirectly");
	free(g.out);
}

/* A C++ program: its planted leaks match memcheck, and libstdc++'s emergency pool, made
 * before our constructor ran, is on the early pseudo-site, reachable. */
Test(integration_valgrind, cxx_program_matches_memcheck, .timeout = 240)
{
	need_valgrind();
	const char *argv[] = { th_build("examples/cxx_news"), NULL };
	guard_t g;
	compare_argv("cxx_news", argv, NULL, &g);
	cr_expect_geq(g.early_live_b, 72704, "libstdc++'s pool is not on the early site");
	cr_expect_eq(g.early_lost_b, 0);
	free(g.out);
}
