/* test_swap_node.c: node-llama-cpp loading a tiny random-weight GGUF (issue 5's must-show):
 * the same greedy completion bare and under the guard, eager and lazy, the GGUF in the log
 * as swapped; a cap below the model's size fails the load as an ordinary error.  Skips when
 * examples/node_llama_setup.sh has not been run (it needs the npm registry). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char *dir;
static char logpat[600], nlcdir[600];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	snprintf(nlcdir, sizeof nlcdir, "%s", th_build("nlc"));
	char probe[700];
	snprintf(probe, sizeof probe, "%s/node_modules/node-llama-cpp/package.json", nlcdir);
	if (!th_have_cmd("node") || access(probe, R_OK) != 0 ||
	    access(th_build("nlc/tiny.gguf"), R_OK) != 0 || access(th_build("nlc/big.gguf"), R_OK) != 0)
		cr_skip_test("node-llama-cpp is not installed: run sh examples/node_llama_setup.sh");
	dir = strdup(th_tmpdir("swapnode"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	if (dir)
		th_rmtree(dir);
	free(dir);
	dir = NULL;
}

static void generate(th_run_t *r, const char *model, const char *mode, const char *cap,
		     int preload)
{
	char nlc[700], modeenv[64];
	snprintf(nlc, sizeof nlc, "NLC_DIR=%s", nlcdir);
	snprintf(modeenv, sizeof modeenv, "ALLOCGUARD_SWAP_MODE=%s", mode);
	const char *argv[] = { "node", th_root("examples/node_llama.js"), model, NULL };
	const char *env[] = { nlc, logpat, modeenv, cap, NULL };
	cr_assert_eq(th_run(r, argv, env, preload, 120), 0, "cannot start node");
}

/* The completion line of a run's stdout, in a static buffer. */
static const char *completion(const th_run_t *r)
{
	const char *line = th_line_from(r->out, "load=ok completion=");
	cr_assert(line, "no completion: %s\nstdout:\n%s\nstderr:\n%s", th_run_desc(r), r->out,
		  r->err);
	return line;
}

/* Whether a log of this run (node spawns helpers: any log) has a W line for model in mode. */
static int swapped_in_log(const char *model, const char *mode)
{
	th_swap_t w[64];
	size_t n = th_swaps(dir, "ag.", w, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		if (!strcmp(w[i].mode, mode) && !strcmp(w[i].path, model))
			return 1;
	return 0;
}

Test(swap_node, same_completion_bare_eager_lazy, .init = setup, .fini = teardown,
     .timeout = 300)
{
	const char *model = th_build("nlc/tiny.gguf");
	char modelbuf[700];
	snprintf(modelbuf, sizeof modelbuf, "%s", model);
	th_run_t bare;
	generate(&bare, modelbuf, "eager", NULL, 0);
	char want[4096];
	snprintf(want, sizeof want, "%s", completion(&bare));
	th_run_free(&bare);
	const char *modes[] = { "eager", "lazy" };
	for (int i = 0; i < 2; i++) {
		th_run_t r;
		generate(&r, modelbuf, modes[i], NULL, 1);
		cr_expect(r.exited && r.code == 0, "%s: %s\n%s", modes[i], th_run_desc(&r), r.err);
		cr_expect_str_eq(completion(&r), want, "%s mode changed the completion", modes[i]);
		cr_expect(swapped_in_log(modelbuf, modes[i]), "no W line with %s %s", modes[i],
			  modelbuf);
		th_run_free(&r);
		th_rmtree(dir);
		free(dir);
		dir = strdup(th_tmpdir("swapnode"));
		snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	}
}

Test(swap_node, cap_below_model_fails_load_without_signal, .init = setup, .fini = teardown,
     .timeout = 300)
{
	/* big.gguf is 146 MiB; node itself needs about 60 MiB before it loads the model. */
	th_run_t r;
	generate(&r, th_build("nlc/big.gguf"), "eager", "ALLOCGUARD_CAP=100M", 1);
	cr_expect_not(r.signaled, "killed by signal %d:\n%s", r.sig, r.err);
	cr_expect(r.exited && r.code >= 1 && r.code <= 127, "%s", th_run_desc(&r));
	cr_expect(strstr(r.out, "load=failed"), "the load did not fail cleanly:\n%s\n%s", r.out,
		  r.err);
	cr_expect(strstr(r.err, "swapped mmap"), "no cap message for the model:\n%s", r.err);
	th_run_free(&r);
}
