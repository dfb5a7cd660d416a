/* test_export.h: what the export and plot tests share (test_export_common.c): a log made
 * by running an example under `allocguard run`, running a tool and keeping its output, and
 * rendering a page in headless Chromium (tests/browser.sh). */
#ifndef ALLOCGUARD_TEST_EXPORT_H
#define ALLOCGUARD_TEST_EXPORT_H

#include <stddef.h>

/* Run `allocguard run --out DIR/PREFIX.%p.log OPTS... -- PROG ARGS...` (argv lists end in
 * NULL) and return the one log's path (caller frees).  Asserts on failure. */
char *xt_log(const char *dir, const char *prefix, const char *const *opts,
	     const char *const *prog);
/* A run of examples/cap_hit climbing twice into a 48 MiB cap (warn, critical and cap
 * events), in DIR/cap.PID.log (caller frees). */
char *xt_cap_log(const char *dir);
/* A process tree (sh running examples/leak_loop TICKS and examples/grower TICKS at once)
 * under `allocguard run --interval=50ms`: its logs DIR/t.PID.log into *logs (th_strv_free);
 * returns how many (asserts at least two). */
size_t xt_tree_logs(const char *dir, int ticks, char ***logs);
/* `allocguard plot -o OUT LOG...` for n logs. */
void xt_plot_many(const char *out, char *const *logs, size_t n);
/* Run argv without the preload; its stdout (caller frees), and the exit code in *code. */
char *xt_out(const char *const *argv, int *code);
/* `allocguard ARGS...`: asserts exit 0 and returns stdout. */
char *xt_ag(const char *const *args);
/* tests/browser.sh DIR PAGE OUT: 0 rendered, 77 no browser, else failed.  On 0, *dom is
 * the DOM text (caller frees). */
int xt_browser(const char *dir, const char *page, const char *out, char **dom);
/* The same with a virtual time budget of budget_ms for the page's scripts (0: 4000). */
int xt_browser_budget(const char *dir, const char *page, const char *out, char **dom,
		      unsigned budget_ms);
/* The numbers of a data-points="t:v t:v" attribute of the element with id, into t and v
 * (up to max); returns how many, or 0 when there is no such element. */
size_t xt_points(const char *svg, const char *id, double *t, double *v, size_t max);
/* Attribute attr of the element with id (static buffer), or NULL. */
const char *xt_attr(const char *svg, const char *id, const char *attr);

#endif
