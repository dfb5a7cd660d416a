/* commands.c: the log-reading subcommands (leaks, growth, diff, report, export, plot):
 * their arguments, loading the logs, the damage warning, output files and the exit status.
 * The reports themselves are in leaks.c, growth.c, diff.c and report.c; `export` and
 * `plot` are commands_export.c's. */
#include "cli.h"
#include "exports.h"
#include "jsheap.h"
#include "logfmt.h"
#include "options.h"
#include "reap.h"
#include "reports.h"
#include "sites.h"
#include "suppress.h"
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


typedef struct {
	const char *name;
	report_opts_t o;
	const char *pos[CMD_MAX_LOGS];
	size_t npos, minpos, maxpos;
	int fail_on_ok, have_fail_on;
	uint64_t fail_on;
	supp_opts_t supp;            /* leaks */
} args_t;

int cmd_usage_error(const char *name, const char *what, const char *arg)
{
	fprintf(stderr, "allocguard: %s: %s%s%s (see allocguard %s --help)\n", name, what,
		arg ? " " : "", arg ? arg : "", name);
	return 2;
}

/* "NAME N" or "NAME=N" at argv[*i] (advancing *i past its value), a whole number from 1
 * to max, into *out.  *taken is 0 when argv[*i] is another option.  0, or an exit status
 * after saying what is wrong. */
static int number_option(const args_t *a, const char *name, uint64_t max, int argc,
			 char **argv, int *i, uint64_t *out, int *taken)
{
	const char *s = argv[*i];
	size_t n = strlen(name);
	*taken = strncmp(s, name, n) == 0 && (s[n] == '\0' || s[n] == '=');
	if (!*taken)
		return 0;
	const char *val = s[n] == '=' ? s + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!val) {
		char what[40];
		snprintf(what, sizeof what, "%s needs a number", name);
		return cmd_usage_error(a->name, what, NULL);
	}
	if (opt_parse_u64(val, out) || *out == 0 || *out > max) {
		fprintf(stderr, "allocguard: %s='%s': expected a whole number from 1 to %llu\n",
			name, val, (unsigned long long)max);
		return 2;
	}
	return 0;
}

/* --fail-on SIZE at argv[*i] (its value there after '=' or next): 0, or an exit status
 * after saying what is wrong. */
static int fail_on_option(args_t *a, int argc, char **argv, int *i)
{
	const char *s = argv[*i], *eq = strchr(s, '='), *val;
	if (eq)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return cmd_usage_error(a->name, "--fail-on needs a size", NULL);
	if (opt_parse_size(val, &a->fail_on)) {
		fprintf(stderr, "allocguard: --fail-on='%s': expected %s\n", val, OPT_SIZE_SYNTAX);
		return 2;
	}
	a->have_fail_on = 1;
	return 0;
}

/* A flag without a value: 1 when s is one (set in a), else 0. */
static int flag_option(args_t *a, const char *s)
{
	if (strcmp(s, "--json") == 0)
		a->o.json = 1;
	else if (strcmp(s, "--color") == 0)
		a->o.color = 1;
	else if (strcmp(s, "--no-color") == 0)
		a->o.color = 0;
	else if (strcmp(s, "--lost-only") == 0 && a->fail_on_ok)
		a->o.lost_only = 1;
	else if (strcmp(s, "--all-frames") == 0)
		a->o.view.fold.all = 1;
	else
		return 0;
	return 1;
}

/* An option with a number: --top, --paths, --frames.  As number_option. */
static int count_option(args_t *a, int argc, char **argv, int *i, int *taken)
{
	uint64_t n;
	int rc = number_option(a, "--top", 1000000, argc, argv, i, &n, taken);
	if (*taken) {
		a->o.top = (size_t)n;
		return rc;
	}
	rc = number_option(a, "--paths", 1000000, argc, argv, i, &n, taken);
	if (*taken) {
		a->o.view.paths = (size_t)n;
		return rc;
	}
	rc = number_option(a, "--frames", AG_LOG_MAX_FRAMES, argc, argv, i, &n, taken);
	if (*taken)
		a->o.view.fold.frames = (unsigned)n;
	return rc;
}

/* A log named on the command line: 0, or an exit status. */
static int positional(args_t *a, const char *s)
{
	if (a->npos == a->maxpos)
		return cmd_usage_error(a->name, "too many arguments:", s);
	a->pos[a->npos++] = s;
	return 0;
}

/* One option at argv[*i] (advancing *i past its value): 0, or an exit status. */
static int option(args_t *a, int argc, char **argv, int *i)
{
	const char *s = argv[*i];
	int taken, rc;
	if (flag_option(a, s))
		return 0;
	if ((rc = count_option(a, argc, argv, i, &taken)) || taken)
		return rc;
	if (a->fail_on_ok && strncmp(s, "--fail-on", 9) == 0 && (s[9] == '\0' || s[9] == '='))
		return fail_on_option(a, argc, argv, i);
	taken = a->fail_on_ok ? supp_arg(&a->supp, argc, argv, i, true) : 0;
	if (taken)
		return taken == 2 ? 2 : 0;
	if (s[0] == '-' && s[1])
		return cmd_usage_error(a->name, "unknown option", s);
	return positional(a, s);
}

/* 0 to go on, -1 after --help, else an exit status. */
static int parse(args_t *a, int argc, char **argv)
{
	a->o.color = -1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		int rc = 0;
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			help_print(stdout, a->name);
			return -1;
		}
		if (strcmp(s, "--") == 0) {
			for (i++; !rc && i < argc; i++)
				rc = positional(a, argv[i]);
			if (rc)
				return rc;
			break;
		}
		if ((rc = option(a, argc, argv, &i)))
			return rc;
	}
	if (a->npos < a->minpos)
		return cmd_usage_error(a->name, a->minpos == 2 ? "needs two logs" : "needs a log",
				       NULL);
	if (a->o.color < 0)
		a->o.color = a->o.json ? 0 : table_color_for(stdout);
	return 0;
}

int cmd_load(const char *path, ag_log_t **log)
{
	char msg[600];
	reap_wait_log(path);   /* an exit scan still writing it */
	if (log_load(path, log, msg, sizeof msg)) {
		fprintf(stderr, "allocguard: %s\n", msg);
		return 2;
	}
	log_warn_damage(*log, stderr);
	if (jsheap_apply(*log, stderr)) {
		fprintf(stderr, "allocguard: %s: out of memory\n", path);
		log_free(*log);
		*log = NULL;
		return 2;
	}
	return 0;
}

static symbols_t *open_symbols(const args_t *a, ag_log_t *log)
{
	return symbols_open(log, stderr);
}

/* Several logs: one report after another; in JSON, an array of the per-log documents. */
static void between(const args_t *a, size_t i)
{
	if (a->npos < 2)
		return;
	if (a->o.json)
		fputs(i == 0 ? "[\n" : ",\n", stdout);
	else if (i)
		fputc('\n', stdout);
}

static void after_all(const args_t *a)
{
	if (a->npos >= 2 && a->o.json)
		fputs("]\n", stdout);
}

/* The reports that read one log at a time, any number of logs. */
typedef enum { PER_LOG_LEAKS, PER_LOG_GROWTH, PER_LOG_REPORT } per_log_t;

/* What the logs' reports add up to; the exit status is decided from it after them all. */
typedef struct {
	int failed;          /* a log could not be read or reported */
	uint64_t lost;       /* bytes lost at exit over every log (leaks) */
	size_t unjudged;     /* logs whose exit scan did not judge (leaks) */
} outcome_t;

static int print_one(per_log_t which, const ag_log_t *log, symbols_t *sym,
		     const report_opts_t *o, uint64_t *lost)
{
	switch (which) {
	case PER_LOG_LEAKS: return leaks_print(log, sym, o, stdout, lost);
	case PER_LOG_GROWTH: return growth_print(log, sym, o, stdout);
	case PER_LOG_REPORT: return report_print(log, sym, o, stdout);
	}
	return EINVAL;
}

static outcome_t each_log(const args_t *a, per_log_t which)
{
	outcome_t r = { 0 };
	for (size_t i = 0; i < a->npos; i++) {
		ag_log_t *log;
		if (cmd_load(a->pos[i], &log)) {
			r.failed = 1;
			continue;
		}
		symbols_t *sym = open_symbols(a, log);
		uint64_t lost = 0;
		between(a, i);
		int rc = sym ? print_one(which, log, sym, &a->o, &lost) : ENOMEM;
		symbols_close(sym);
		int at_exit = 0;
		log_final_snap(log, &at_exit);
		r.unjudged += which == PER_LOG_LEAKS && at_exit && !log_judged(log);
		log_free(log);
		if (rc) {
			fprintf(stderr, "allocguard: %s: %s\n", a->name, strerror(rc));
			r.failed = 1;
		}
		r.lost = ag_sat_add(r.lost, lost);
	}
	after_all(a);
	return r;
}

static int exit_status(const args_t *a, const outcome_t *r)
{
	if (r->failed)
		return 2;
	if (a->have_fail_on && r->unjudged) {
		fflush(stdout);
		fprintf(stderr, "allocguard: --fail-on: %zu log%s without a leak verdict (the exit "
			"scan did not judge): the gate cannot pass\n", r->unjudged,
			r->unjudged == 1 ? "" : "s");
		return 2;
	}
	if (a->have_fail_on && r->lost > a->fail_on) {
		fflush(stdout);
		fprintf(stderr, "allocguard: %llu bytes lost, more than --fail-on %llu\n",
			(unsigned long long)r->lost, (unsigned long long)a->fail_on);
		return 1;
	}
	return 0;
}

static int per_log_command(const char *name, int argc, char **argv, per_log_t which)
{
	args_t a = { .name = name, .minpos = 1, .maxpos = CMD_MAX_LOGS,
		     .fail_on_ok = which == PER_LOG_LEAKS };
	int rc = parse(&a, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	supp_t supp = { 0 };
	if (which == PER_LOG_LEAKS) {
		if (supp_load_all(&supp, &a.supp, getenv(opt_find_flag("suppressions")->env))) {
			supp_free(&supp);
			return 2;
		}
		a.o.supp = &supp;
		a.o.print_supp = a.supp.print;
	}
	outcome_t r = each_log(&a, which);
	supp_free(&supp);
	return exit_status(&a, &r);
}

int cmd_leaks(int argc, char **argv)
{
	return per_log_command("leaks", argc, argv, PER_LOG_LEAKS);
}

int cmd_growth(int argc, char **argv)
{
	return per_log_command("growth", argc, argv, PER_LOG_GROWTH);
}

int cmd_report(int argc, char **argv)
{
	return per_log_command("report", argc, argv, PER_LOG_REPORT);
}

static int pick(const ag_log_t *log, const char *which, size_t *snap)
{
	*snap = log_snap_by_name(log, which);
	if (*snap == (size_t)-1) {
		fprintf(stderr, "allocguard: %s has no snapshot %s%s (it has 0 to %zu)\n", log->path,
			which && *which >= '0' && *which <= '9' ? "" : "labeled ", which ? which : "",
			log->nsnaps ? log->nsnaps - 1 : 0);
		return 2;
	}
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	args_t a = { .name = "diff", .minpos = 2, .maxpos = 2 };
	int rc = parse(&a, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	char *pa = NULL, *pb = NULL, *sa = NULL, *sb = NULL;
	if (diff_parse_spec(a.pos[0], &pa, &sa) || diff_parse_spec(a.pos[1], &pb, &sb)) {
		const char *bad = pa ? a.pos[1] : a.pos[0];
		free(pa);
		free(pb);
		free(sa);
		free(sb);
		return cmd_usage_error("diff", "expected LOG, LOG@N (N a snapshot number) or LOG@LABEL, got",
				   bad);
	}
	ag_log_t *la = NULL, *lb = NULL;
	size_t ka = 0, kb = 0;
	rc = cmd_load(pa, &la);
	/* two snapshots of one log: read and symbolize it once */
	int same = !rc && strcmp(pa, pb) == 0;
	if (!rc && !same)
		rc = cmd_load(pb, &lb);
	else if (same)
		lb = la;
	if (!rc)
		rc = pick(la, sa, &ka);
	if (!rc)
		rc = pick(lb, sb, &kb);
	if (!rc) {
		symbols_t *ya = open_symbols(&a, la), *yb = same ? ya : open_symbols(&a, lb);
		int e = ya && yb ? diff_print(la, ka, ya, lb, kb, yb, &a.o, stdout) : ENOMEM;
		symbols_close(ya);
		if (!same)
			symbols_close(yb);
		if (e) {
			fprintf(stderr, "allocguard: diff: %s\n", strerror(e));
			rc = 2;
		}
	}
	log_free(la);
	if (lb != la)
		log_free(lb);
	free(pa);
	free(pb);
	free(sa);
	free(sb);
	return rc;
}

