/* test_swap_onnx.c: onnxruntime-node loading a tiny ONNX model whose weights live in an
 * external model.onnx.data (onnxruntime maps each initializer PROT_READ|PROT_WRITE,
 * MAP_PRIVATE): the same output bare and under the guard, eager and lazy, the data file in
 * the log as swapped; a cap below the model's size fails the load as an ordinary error.
 * Skips when examples/onnx_setup.sh has not been run (it needs the npm registry). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char *dir;
static char logpat[600], ortdir[600];

static void new_dir(void)
{
	dir = strdup(th_tmpdir("swaponnx"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	snprintf(ortdir, sizeof ortdir, "%s", th_build("ort"));
	char probe[700];
	snprintf(probe, sizeof probe, "%s/node_modules/onnxruntime-node/package.json", ortdir);
	if (!th_have_cmd("node") || access(probe, R_OK) != 0 ||
	    access(th_build("ort/tiny/model.onnx.data"), R_OK) != 0 ||
	    access(th_build("ort/big/model.onnx.data"), R_OK) != 0)
		cr_skip_test("onnxruntime-node is not installed: run sh examples/onnx_setup.sh");
	new_dir();
}

static void teardown(void)
{
	if (dir)
		th_rmtree(dir);
	free(dir);
	dir = NULL;
}

static void infer(th_run_t *r, const char *model, const char *mode, const char *cap, int preload)
{
	char ort[700], modeenv[64];
	snprintf(ort, sizeof ort, "ORT_DIR=%s", ortdir);
	snprintf(modeenv, sizeof modeenv, "ALLOCGUARD_SWAP_MODE=%s", mode);
	const char *argv[] = { "node", th_root("examples/onnx_run.js"), model, NULL };
	const char *env[] = { ort, logpat, modeenv, cap, NULL };
	cr_assert_eq(th_run(r, argv, env, preload, 120), 0, "cannot start node");
}

/* The result line of a run's stdout, in a static buffer. */
static const char *result(const th_run_t *r)
{
	const char *line = th_line_from(r->out, "load=ok ");
	cr_assert(line, "no result: %s\nstdout:\n%s\nstderr:\n%s", th_run_desc(r), r->out, r->err);
	return line;
}

/* Whether a log of this run has a W line for path in mode covering at least min bytes
 * (onnxruntime maps each initializer on its own: the 4 MiB weight is one of them). */
static int swapped_in_log(const char *path, const char *mode, unsigned long long min)
{
	th_swap_t w[64];
	size_t n = th_swaps(dir, "ag.", w, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		if (!strcmp(w[i].mode, mode) && !strcmp(w[i].path, path) && w[i].bytes >= min)
			return 1;
	return 0;
}

Test(swap_onnx, same_output_bare_eager_lazy, .init = setup, .fini = teardown, .timeout = 300)
{
	char model[700], data[700];
	snprintf(model, sizeof model, "%s", th_build("ort/tiny/model.onnx"));
	snprintf(data, sizeof data, "%s", th_build("ort/tiny/model.onnx.data"));
	th_run_t bare;
	infer(&bare, model, "eager", NULL, 0);
	cr_assert(bare.exited && bare.code == 0, "bare: %s\n%s", th_run_desc(&bare), bare.err);
	char want[4096];
	snprintf(want, sizeof want, "%s", result(&bare));
	th_run_free(&bare);
	const char *modes[] = { "eager", "lazy" };
	for (int i = 0; i < 2; i++) {
		th_run_t r;
		infer(&r, model, modes[i], NULL, 1);
		cr_expect(r.exited && r.code == 0, "%s: %s\n%s", modes[i], th_run_desc(&r), r.err);
		cr_expect_str_eq(result(&r), want, "%s mode changed the output", modes[i]);
		cr_expect(swapped_in_log(data, modes[i], 4u << 20), "no W line with %s %s of 4 MiB",
			  modes[i], data);
		th_run_free(&r);
		th_rmtree(dir);
		free(dir);
		new_dir();
	}
}

Test(swap_onnx, cap_below_model_fails_load_without_signal, .init = setup, .fini = teardown,
     .timeout = 300)
{
	/* big/model.onnx.data is 64 MiB; node with onnxruntime needs about 14 MiB before it
	 * maps it (below about 13 MiB node or onnxruntime itself aborts on std::bad_alloc). */
	th_run_t r;
	infer(&r, th_build("ort/big/model.onnx"), "eager", "ALLOCGUARD_CAP=40M", 1);
	cr_expect_not(r.signaled, "killed by signal %d:\n%s", r.sig, r.err);
	cr_expect(r.exited && r.code >= 1 && r.code <= 127, "%s", th_run_desc(&r));
	cr_expect(strstr(r.out, "load=failed"), "the load did not fail cleanly:\n%s\n%s", r.out,
		  r.err);
	cr_expect(strstr(r.err, "swapped mmap"), "no cap message for the model:\n%s", r.err);
	th_run_free(&r);
}
