/* test_export_common.c: helpers of the export and plot tests (see test_export.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "test_export.h"

char *xt_log(const char *dir, const char *prefix, const char *const *opts,
	     const char *const *prog)
{
	char out[600];
	snprintf(out, sizeof out, "--out=%s/%s.%%p.log", dir, prefix);
	const char *argv[48] = { th_build("allocguard"), "run", "-q", out };
	size_t n = 4;
	while (opts && *opts && n < 20)
		argv[n++] = *opts++;
	argv[n++] = "--";
	while (prog && *prog && n < 46)
		argv[n++] = *prog++;
	argv[n] = NULL;
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 120), 0);
	cr_assert(r.exited && r.code == 0, "%s: %s\n%s", argv[n - 1], th_run_desc(&r), r.err);
	th_run_free(&r);
	char **files;
	size_t nf = th_list(dir, prefix, &files);
	cr_assert_eq(nf, 1, "expected one log %s.* in %s, found %zu", prefix, dir, nf);
	char *p = strdup(files[0]);
	th_strv_free(files, nf);
	return p;
}

char *xt_cap_log(const char *dir)
{
	const char *opts[] = { "--cap=48M", "--interval=20ms", NULL };
	const char *prog[] = { th_build("examples/cap_hit"), "malloc", "1M", "1G", "2", NULL };
	/* The preload sometimes writes a warn snapshot whose peak lags its current value
	 * (reported to the lead; not the exports' to fix): such a log is unusable, so run
	 * again, saying so, rather than test the exports on nothing. */
	for (int attempt = 1;; attempt++) {
		char *log = xt_log(dir, "cap", opts, prog);
		const char *argv[] = { th_build("allocguard"), "report", log, NULL };
		th_run_t r;
		cr_assert_eq(th_run(&r, argv, NULL, 0, 60), 0);
		int ok = r.exited && r.code == 0;
		if (!ok)
			cr_log_info("capped run %d gave an unusable log: %s", attempt, r.err);
		th_run_free(&r);
		if (ok || attempt == 6)
			return log;
		unlink(log);
		free(log);
	}
}

char *xt_out(const char *const *argv, int *code)
{
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, NULL, 0, 120), 0, "cannot start %s", argv[0]);
	cr_assert(!r.timed_out, "%s timed out", argv[0]);
	*code = r.exited ? r.code : 128 + r.sig;
	if (*code)
		cr_log_info("%s exited %d: %.2000s", argv[0], *code, r.err);
	char *out = r.out;
	r.out = NULL;
	th_run_free(&r);
	return out;
}

char *xt_ag(const char *const *args)
{
	const char *argv[24] = { th_build("allocguard") };
	size_t n = 1;
	while (*args && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;
	int code;
	char *out = xt_out(argv, &code);
	cr_assert_eq(code, 0, "allocguard %s exited %d", argv[1], code);
	return out;
}

int xt_browser_budget(const char *dir, const char *page, const char *out, char **dom,
		      unsigned budget_ms)
{
	const char *argv[] = { "sh", th_root("tests/browser.sh"), dir, page, out, NULL };
	char budget[40];
	snprintf(budget, sizeof budget, "AG_BROWSER_BUDGET=%u", budget_ms ? budget_ms : 4000);
	const char *env[] = { budget, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 0, 240), 0);
	int code = r.exited ? r.code : 1;
	if (code && code != 77)
		cr_log_error("browser.sh %s: %s\n%s", page, th_run_desc(&r), r.err);
	th_run_free(&r);
	if (code)
		return code;
	char path[700];
	snprintf(path, sizeof path, "%s.dom", out);
	*dom = th_slurp(path, NULL);
	return *dom ? 0 : 1;
}

int xt_browser(const char *dir, const char *page, const char *out, char **dom)
{
	return xt_browser_budget(dir, page, out, dom, 0);
}

/* The start of the element with id="id", or NULL. */
static const char *element(const char *svg, const char *id)
{
	char key[200];
	snprintf(key, sizeof key, "id=\"%s\"", id);
	const char *p = strstr(svg, key);
	if (!p)
		return NULL;
	while (p > svg && *p != '<')
		p--;
	return p;
}

const char *xt_attr(const char *svg, const char *id, const char *attr)
{
	static char buf[1 << 16];
	const char *e = element(svg, id);
	if (!e)
		return NULL;
	const char *end = strchr(e, '>');
	char key[100];
	snprintf(key, sizeof key, " %s=\"", attr);
	const char *a = strstr(e, key);
	if (!a || (end && a > end))
		return NULL;
	a += strlen(key);
	const char *q = strchr(a, '"');
	size_t n = q ? (size_t)(q - a) : 0;
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, a, n);
	buf[n] = '\0';
	return buf;
}

size_t xt_points(const char *svg, const char *id, double *t, double *v, size_t max)
{
	const char *a = xt_attr(svg, id, "data-points");
	if (!a)
		return 0;
	size_t n = 0;
	char *p = (char *)a;
	while (*p && n < max) {
		char *e;
		t[n] = strtod(p, &e);
		if (e == p || *e != ':')
			break;
		p = e + 1;
		v[n] = strtod(p, &e);
		if (e == p)
			break;
		n++;
		p = e;
		while (*p == ' ')
			p++;
	}
	return n;
}

size_t xt_tree_logs(const char *dir, int ticks, char ***logs)
{
	char script[1200], out[600];
	snprintf(script, sizeof script, "%s %d & %s %d; wait", th_build("examples/leak_loop"), ticks,
		 th_build("examples/grower"), ticks);
	snprintf(out, sizeof out, "--out=%s/t.%%p.log", dir);
	const char *argv[] = { th_build("allocguard"), "run", "-q", "--interval=50ms", out, "--",
			       "sh", "-c", script, NULL };
	int code;
	free(xt_out(argv, &code));
	cr_assert_eq(code, 0);
	size_t n = th_list(dir, "t.", logs);
	cr_assert_geq(n, 2, "%zu logs", n);
	return n;
}

void xt_plot_many(const char *out, char *const *logs, size_t n)
{
	const char *args[16] = { "plot", "-o", out };
	size_t k = 3;
	for (size_t i = 0; i < n && k < 15; i++)
		args[k++] = logs[i];
	args[k] = NULL;
	free(xt_ag(args));
}
