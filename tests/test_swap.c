/* test_swap.c: model-file mmap swap against a real loader (examples/swap_loader) on
 * generated GGUF-shaped files (issue 5): same bytes at every offset, no longer file-backed,
 * survives truncation, non-matching and shared-writable files left alone, the cap refusing
 * with ENOMEM, a W line per file; eager and lazy; and chunk-sized preads under strace. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define MiB (1024ull * 1024)

static char *dir;
static char logpat[600];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("swap"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

/* "GGUF" + version 3 + pseudo-random bytes; size need not be a page multiple. */
static const char *gen_model(const char *name, size_t size)
{
	static char path[700];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0, "cannot create %s", path);
	static unsigned char buf[1 << 20];
	uint64_t x = 0x9e3779b97f4a7c15ull ^ size;
	for (size_t done = 0; done < size;) {
		for (size_t i = 0; i < sizeof buf; i += 8) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(buf + i, &x, 8);
		}
		if (!done)
			memcpy(buf, "GGUF\3\0\0\0", 8);
		size_t n = size - done < sizeof buf ? size - done : sizeof buf;
		cr_assert_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
	return path;
}

/* Run the loader on path with extra arguments (NULL-terminated) and environment. */
static void load(th_run_t *r, const char *path, const char *const *args, const char *mode,
		 const char *extra_env, int preload)
{
	const char *argv[32] = { th_build("examples/swap_loader"), path };
	size_t n = 2;
	for (; args && *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	char modeenv[64];
	snprintf(modeenv, sizeof modeenv, "ALLOCGUARD_SWAP_MODE=%s", mode);
	const char *env[] = { logpat, modeenv, extra_env, NULL };
	cr_assert_eq(th_run(r, argv, env, preload, 60), 0, "cannot start swap_loader");
}

/* The W lines of the only log in dir: how many, and the first one's bytes and mode. */
static size_t w_lines(uint64_t *bytes, char *mode, char *path)
{
	char **v;
	size_t nlogs = th_list(dir, "ag.", &v);
	th_strv_free(v, nlogs);
	cr_assert_eq(nlogs, 1, "expected one log in %s, found %zu", dir, nlogs);
	th_swap_t w;
	size_t count = th_swaps(dir, "ag.", &w, 1);
	if (count) {
		*bytes = w.bytes;
		strcpy(mode, w.mode);
		strcpy(path, w.path);
	}
	return count;
}

static void expect_swapped(const char *path, const char *const *args, const char *mode,
			   uint64_t want_bytes)
{
	th_run_t r;
	load(&r, path, args, mode, NULL, 1);
	cr_assert(r.exited && r.code == 0, "loader: %s\nstdout:\n%s\nstderr:\n%s",
		  th_run_desc(&r), r.out, r.err);
	cr_expect_eq(th_kv(r.out, "mapped"), 1, "%s", r.out);
	cr_expect_eq(th_kv(r.out, "mismatches"), 0, "%s", r.out);
	cr_expect_eq(th_kv(r.out, "filebacked"), 0, "still file-backed:\n%s", r.out);
	cr_expect_eq(th_kv(r.out, "errno_after"), 0, "errno not preserved:\n%s", r.out);
	uint64_t bytes = 0;
	char m[64] = "", p[900] = "";
	cr_assert_eq(w_lines(&bytes, m, p), 1, "want one W line");
	cr_expect_eq(bytes, want_bytes);
	cr_expect_str_eq(m, mode);
	cr_expect_str_eq(p, path);
	for (; args && *args; args++) {
		if (!strcmp(*args, "--truncate"))
			cr_expect_eq(th_kv(r.out, "truncate_same"), 1, "%s", r.out);
		if (!strcmp(*args, "--ops"))
			cr_expect_eq(th_kv(r.out, "ops_ok"), 1, "%s", r.out);
		if (!strcmp(*args, "--fork"))
			cr_expect_eq(th_kv(r.out, "fork_ok"), 1, "%s", r.out);
		if (!strcmp(*args, "--write"))
			cr_expect_eq(th_kv(r.out, "write_private"), 1, "%s", r.out);
	}
	th_run_free(&r);
}

#define SIZE (24 * MiB + 1234)
#define PLEN (24 * MiB + 4096)

Test(swap, eager_shared_readonly_survives_truncation, .init = setup, .fini = teardown)
{
	const char *args[] = { "--populate", "--close", "--truncate", NULL };
	expect_swapped(gen_model("m.gguf", SIZE), args, "eager", PLEN);
}

Test(swap, lazy_shared_readonly_survives_truncation, .init = setup, .fini = teardown)
{
	const char *args[] = { "--populate", "--close", "--truncate", NULL };
	expect_swapped(gen_model("m.gguf", SIZE), args, "lazy", PLEN);
}

Test(swap, eager_private_rw_offset_odd_length, .init = setup, .fini = teardown)
{
	const char *args[] = { "--private-rw", "--write", "--offset", "1M", "--length", "9000001",
			       NULL };
	expect_swapped(gen_model("w.onnx.data", SIZE), args, "eager", 9003008);
}

Test(swap, lazy_private_rw_offset_odd_length, .init = setup, .fini = teardown)
{
	const char *args[] = { "--private-rw", "--write", "--offset", "1M", "--length", "9000001",
			       NULL };
	expect_swapped(gen_model("w.onnx.data", SIZE), args, "lazy", 9003008);
}

Test(swap, eager_fixed_and_noreplace, .init = setup, .fini = teardown)
{
	const char *fixed[] = { "--fixed", NULL };
	expect_swapped(gen_model("m.gguf", SIZE), fixed, "eager", PLEN);
	th_rmtree(dir);
	free(dir);
	setup();
	const char *nore[] = { "--noreplace", NULL };
	expect_swapped(gen_model("m.gguf", SIZE), nore, "eager", PLEN);
}

Test(swap, lazy_fixed_and_noreplace, .init = setup, .fini = teardown)
{
	const char *fixed[] = { "--fixed", NULL };
	expect_swapped(gen_model("m.gguf", SIZE), fixed, "lazy", PLEN);
	th_rmtree(dir);
	free(dir);
	setup();
	const char *nore[] = { "--noreplace", NULL };
	expect_swapped(gen_model("m.gguf", SIZE), nore, "lazy", PLEN);
}

Test(swap, eager_munmap_mremap_mprotect_fork, .init = setup, .fini = teardown)
{
	const char *args[] = { "--ops", "--fork", NULL };
	expect_swapped(gen_model("m.safetensors", SIZE), args, "eager", PLEN);
}

Test(swap, lazy_munmap_mremap_mprotect_fork, .init = setup, .fini = teardown)
{
	const char *args[] = { "--fork", "--no-verify", "--ops", NULL };
	expect_swapped(gen_model("m.safetensors", SIZE), args, "lazy", PLEN);
}

Test(swap, non_matching_and_small_files_left_alone, .init = setup, .fini = teardown)
{
	const char *files[] = { gen_model("m.bin", SIZE), NULL };
	char small[700];
	snprintf(small, sizeof small, "%s", gen_model("small.gguf", 4096 * 10));
	files[1] = small;
	for (int i = 0; i < 2; i++) {
		th_run_t r;
		load(&r, files[i], NULL, "eager", NULL, 1);
		cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
		cr_expect_eq(th_kv(r.out, "mismatches"), 0);
		cr_expect_eq(th_kv(r.out, "filebacked"), 1, "%s was swapped:\n%s", files[i], r.out);
		th_run_free(&r);
	}
	char m[64];
	uint64_t b;
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	for (size_t i = 0; i < n; i++) {
		char *log = th_slurp(v[i], NULL);
		cr_expect_eq(th_count_lines(log, "W "), 0, "W line in %s:\n%s", v[i], log);
		free(log);
	}
	th_strv_free(v, n);
	(void)m, (void)b;
}

Test(swap, shared_writable_passes_through_and_says_why, .init = setup, .fini = teardown)
{
	const char *path = gen_model("m.gguf", SIZE);
	const char *args[] = { "--shared-rw", NULL };
	th_run_t r;
	load(&r, path, args, "eager", NULL, 1);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	cr_expect_eq(th_kv(r.out, "filebacked"), 1, "%s", r.out);
	uint64_t bytes = 0;
	char m[64] = "", p[900] = "";
	cr_assert_eq(w_lines(&bytes, m, p), 1);
	cr_expect_str_eq(m, "passthrough-shared-writable");
	cr_expect_eq(bytes, SIZE);
	th_run_free(&r);
}

static void cap_refuses(const char *mode)
{
	const char *path = gen_model("m.gguf", SIZE);
	th_run_t r;
	load(&r, path, NULL, mode, "ALLOCGUARD_CAP=16M", 1);
	cr_assert(r.exited, "loader did not exit normally: %s\n%s", th_run_desc(&r), r.err);
	cr_expect_eq(r.code, 3, "mmap should fail: %s\n%s", r.out, r.err);
	cr_expect(strstr(r.out, "mapped=0 errno=12"), "want ENOMEM:\n%s", r.out);
	cr_expect(strstr(r.err, "allocguard: cap"), "no cap message:\n%s", r.err);
	/* the refusal names the file and how to turn swap off for it */
	const char *say = strstr(r.err, "allocguard: swap: ");
	cr_expect(say && strstr(say, path) && strstr(say, "refused at the cap") &&
		  strstr(say, "ALLOCGUARD_SWAP="), "no word on the refused file:\n%s", r.err);
	char m[64];
	uint64_t b;
	char p[900];
	cr_expect_eq(w_lines(&b, m, p), 0, "a refused mapping is not swapped");
	th_run_free(&r);
}

Test(swap, eager_over_cap_fails_with_enomem, .init = setup, .fini = teardown)
{
	cap_refuses("eager");
}

Test(swap, lazy_over_cap_fails_with_enomem, .init = setup, .fini = teardown)
{
	cap_refuses("lazy");
}

/* Every pread of the swapped file asks for exactly the chunk (96 MiB / 64 KiB of them). */
static void strace_chunks(const char *mode)
{
	if (!th_have_cmd("strace"))
		cr_skip_test("strace is not installed; cannot count the preads");
	const char *path = gen_model("big.gguf", 96 * MiB);
	char out[700], ldp[600], modeenv[64];
	snprintf(out, sizeof out, "%s/strace.out", dir);
	snprintf(ldp, sizeof ldp, "LD_PRELOAD=%s", th_preload());
	snprintf(modeenv, sizeof modeenv, "ALLOCGUARD_SWAP_MODE=%s", mode);
	const char *argv[] = { "strace", "-f", "-qq", "-s", "0", "-e", "trace=pread64",
			       "-P", path, "-o", out, "-E", ldp, "-E", logpat, "-E", modeenv,
			       th_build("examples/swap_loader"), path, "--no-verify", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 120), 0);
	cr_assert(r.exited && r.code == 0, "%s\n%s", th_run_desc(&r), r.err);
	char *trace = th_slurp(out, NULL);
	cr_assert(trace);
	size_t n = 0, odd = 0;
	for (char *line = trace; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char *call = strstr(line, "pread64(");
		if (!call)
			continue;
		unsigned long long size, pos;
		char *close_paren = strstr(call, ") =");
		cr_assert(close_paren, "odd strace line: %.200s", line);
		char *c2 = close_paren;
		while (c2 > call && c2[-1] != ',')
			c2--;
		char *c1 = c2 - 1;
		while (c1 > call && c1[-1] != ',')
			c1--;
		if (sscanf(c1, " %llu, %llu", &size, &pos) != 2)
			continue;
		n++;
		if (size != 65536)
			odd++;
	}
	cr_expect_eq(n, 96 * MiB / 65536, "want %llu preads, saw %zu", 96 * MiB / 65536, n);
	cr_expect_eq(odd, 0, "%zu preads were not of the 64 KiB chunk size", odd);
	free(trace);
	th_run_free(&r);
}

Test(swap, strace_eager_reads_exact_chunks, .init = setup, .fini = teardown, .timeout = 120)
{
	strace_chunks("eager");
}

Test(swap, strace_lazy_reads_exact_chunks, .init = setup, .fini = teardown, .timeout = 120)
{
	strace_chunks("lazy");
}

/* examples/lazy_edges in one mode: bare (the reference), then lazily swapped; both must
 * see what a file mapping shows (issue 9: lazy swap gave silent zeros). */
/* Runs of the edge cases: one in make test, many under STRESS=1 (make stress). */
static int edge_runs(void)
{
	const char *s = getenv("STRESS");
	return s && *s && strcmp(s, "0") ? 20 : 1;
}

static void lazy_edge(const char *mode)
{
	for (int i = 1; i < edge_runs(); i++) {   /* the stress form: the same, many times */
		char path[700];
		snprintf(path, sizeof path, "%s/edge.gguf", dir);
		const char *argv[] = { th_build("examples/lazy_edges"), path, mode, NULL };
		const char *env[] = { "ALLOCGUARD_SWAP_MODE=lazy", logpat, NULL };
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
		cr_assert(r.exited && r.code == 0, "lazy_edges %s, run %d: %s\n%s\n%s", mode, i,
			  th_run_desc(&r), r.out, r.err);
		th_run_free(&r);
	}
	char path[700];
	snprintf(path, sizeof path, "%s/edge.gguf", dir);
	const char *argv[] = { th_build("examples/lazy_edges"), path, mode, NULL };
	const char *env[] = { logpat, "ALLOCGUARD_SWAP_MODE=lazy", NULL };
	for (int preload = 0; preload <= 1; preload++) {
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, env, preload, 60), 0);
		cr_expect(r.exited && r.code == 0, "lazy_edges %s %s: %s\nstdout:\n%s\nstderr:\n%s",
			  mode, preload ? "lazily swapped" : "bare", th_run_desc(&r), r.out, r.err);
		th_run_free(&r);
	}
	th_swap_t w;
	cr_assert_geq(th_swaps(dir, "ag.", &w, 1), 1, "the file was not swapped: no W line");
	cr_expect_str_eq(w.mode, "lazy");
}

/* Truncated under the mapping: pages past the new end raise SIGBUS, as they do bare. */
Test(swap, lazy_past_eof_of_truncated_file_is_sigbus, .init = setup, .fini = teardown)
{
	lazy_edge("truncate");
}

/* A hole in the middle, with no descriptor to spare: the right part keeps its bytes. */
Test(swap, lazy_right_of_a_hole_keeps_file_bytes, .init = setup, .fini = teardown)
{
	lazy_edge("split");
}

/* A fresh memory cgroup below this process's own, limited to limit bytes: its directory
 * in out, or NULL (and why in why) when cgroups cannot be used here. */
static const char *limited_cgroup(uint64_t limit, char *out, size_t cap, char *why, size_t wcap)
{
	char *cg = th_slurp("/proc/self/cgroup", NULL);
	if (!cg)
		return snprintf(why, wcap, "no /proc/self/cgroup"), NULL;
	char parent[600] = "", limit_file[32] = "";
	for (char *l = strtok(cg, "\n"); l; l = strtok(NULL, "\n")) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, "memory") || strstr(c1 + 1, "memory,") || strstr(c1 + 1, ",memory")) {
			snprintf(parent, sizeof parent, "/sys/fs/cgroup/memory%s", c2 + 1);
			strcpy(limit_file, "memory.limit_in_bytes");
		} else if (!c1[1] && !parent[0]) {
			snprintf(parent, sizeof parent, "/sys/fs/cgroup%s", c2 + 1);
			strcpy(limit_file, "memory.max");
		}
	}
	free(cg);
	if (!parent[0])
		return snprintf(why, wcap, "no memory cgroup"), NULL;
	if (!strcmp(limit_file, "memory.max")) {   /* v2: the controller must be on for children */
		char sub[700];
		snprintf(sub, sizeof sub, "%s/cgroup.subtree_control", parent);
		FILE *f = fopen(sub, "w");
		if (f) {
			fputs("+memory", f);
			fclose(f);
		}
	}
	snprintf(out, cap, "%s/agtest-%d-%ld", parent, (int)getpid(), random() % 100000);
	if (mkdir(out, 0755) != 0)
		return snprintf(why, wcap, "cannot create %s: %s", out, strerror(errno)), NULL;
	char lf[880];   /* the directory (under 800) and the limit file's name */
	snprintf(lf, sizeof lf, "%s/%s", out, limit_file);
	FILE *f = fopen(lf, "w");
	int ok = f && fprintf(f, "%llu", (unsigned long long)limit) > 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok) {
		rmdir(out);
		return snprintf(why, wcap, "cannot set %s", lf), NULL;
	}
	return out;
}

static void remove_cgroup(const char *cg)
{
	for (int i = 0; i < 50 && rmdir(cg) != 0 && errno == EBUSY; i++)
		usleep(100000);   /* the exited child may take a moment to leave it */
}

/* A 2 GiB sparse model under a 512 MiB memory cgroup: bare mmap works (file pages are
 * reclaimable); the swap must not make it an OOM kill, in either mode (issue 9). */
static void larger_than_memory(const char *mode)
{
	char cg[800], why[900];
	if (!limited_cgroup(512 * MiB, cg, sizeof cg, why, sizeof why))
		cr_skip_test("cannot make a 512 MiB memory cgroup here: %s", why);
	char path[700], procs[900], script[1100];
	snprintf(path, sizeof path, "%s/big.gguf", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0 && write(fd, "GGUF\3\0\0\0", 8) == 8 && ftruncate(fd, 2048 * MiB) == 0);
	close(fd);
	snprintf(procs, sizeof procs, "%s/cgroup.procs", cg);
	snprintf(script, sizeof script, "echo $$ > %s && exec \"$@\"", procs);
	const char *argv[] = { "sh", "-c", script, "sh", th_build("examples/swap_loader"), path,
			       "--touch-only", NULL };
	char modeenv[64];
	snprintf(modeenv, sizeof modeenv, "ALLOCGUARD_SWAP_MODE=%s", mode);
	const char *env[] = { logpat, modeenv, NULL };
	th_run_t bare, r;
	cr_assert_eq(th_run(&bare, argv, env, 0, 120), 0);
	int bare_ok = bare.exited && bare.code == 0;
	th_run_free(&bare);
	if (!bare_ok) {
		remove_cgroup(cg);
		cr_skip_test("the 2 GiB sparse file cannot be mapped bare under 512 MiB here");
	}
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	remove_cgroup(cg);
	cr_expect(r.exited && r.code == 0, "%s swap of a 2 GiB file under a 512 MiB cgroup: %s\n%s\n%s",
		  mode, th_run_desc(&r), r.out, r.err);
	th_swap_t w;
	cr_assert_geq(th_swaps(dir, "ag.", &w, 1), 1, "no W line");
	cr_expect_str_eq(w.mode, "passthrough-memory");
	cr_expect(strstr(r.err, "does not fit in the memory left"), "not said on stderr: %s", r.err);
	th_run_free(&r);
}

Test(swap, eager_file_larger_than_cgroup_memory_passes_through, .init = setup, .fini = teardown,
     .timeout = 240)
{
	larger_than_memory("eager");
}

Test(swap, lazy_file_larger_than_cgroup_memory_passes_through, .init = setup, .fini = teardown,
     .timeout = 240)
{
	larger_than_memory("lazy");
}
