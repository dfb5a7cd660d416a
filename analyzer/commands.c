/* commands.c: the log-reading subcommands (leaks, growth, diff, report, export, plot):
 * their arguments, loading the logs, the damage warning, output files and the exit status.
 * The reports themselves are in leaks.c, growth.c, diff.c and report.c, the exports in
 * export_*.c and plot.c. */
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

/* leaks, growth and report take several logs (a run's children: allocguard leaks *.log) */
#define MAX_LOGS 4096

typedef struct {
	const char *name;
	report_opts_t o;
	const char *pos[MAX_LOGS];
	size_t npos, minpos, maxpos;
	int fail_on_ok, have_fail_on;
	uint64_t fail_on;
	fold_opts_t fold;
	size_t paths;                /* --paths N; 0 = default */
	supp_opts_t supp;            /* leaks */
} args_t;

static int usage_error(const char *name, const char *what, const char *arg)
{
	fprintf(stderr, "allocguard: %s: %s%s%s (see allocguard %s --help)\n", name, what,
		arg ? " " : "", arg ? arg : "", name);
	return 2;
}

/* --top N or --fail-on SIZE at argv[*i] (its value there after '=' or next): 0, or an
 * exit status after saying what is wrong. */
static int top_or_fail_on(args_t *a, int is_top, int argc, char **argv, int *i)
{
	const char *s = argv[*i], *eq = strchr(s, '='), *val;
	if (eq)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return usage_error(a->name, is_top ? "--top needs a number" : "--fail-on needs a size",
				   NULL);
	if (is_top) {
		uint64_t n;
		if (opt_parse_u64(val, &n) || n == 0 || n > 1000000) {
			fprintf(stderr, "allocguard: --top='%s': expected a whole number from 1 to "
				"1000000\n", val);
			return 2;
		}
		a->o.top = (size_t)n;
		return 0;
	}
	if (opt_parse_size(val, &a->fail_on)) {
		fprintf(stderr, "allocguard: --fail-on='%s': expected %s\n", val, OPT_SIZE_SYNTAX);
		return 2;
	}
	a->have_fail_on = 1;
	return 0;
}

/* 0 to go on, -1 after --help, else an exit status. */
static int parse(args_t *a, int argc, char **argv)
{
	a->o.color = -1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char *val = NULL;
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			help_print(stdout, a->name);
			return -1;
		}
		if (strcmp(s, "--json") == 0) {
			a->o.json = 1;
			continue;
		}
		if (strcmp(s, "--color") == 0) {
			a->o.color = 1;
			continue;
		}
		if (strcmp(s, "--no-color") == 0) {
			a->o.color = 0;
			continue;
		}
		if (strcmp(s, "--lost-only") == 0 && a->fail_on_ok) {
			a->o.lost_only = 1;
			continue;
		}
		if (strcmp(s, "--all-frames") == 0) {
			a->fold.all = 1;
			continue;
		}
		if (strncmp(s, "--paths", 7) == 0 && (s[7] == '\0' || s[7] == '=')) {
			uint64_t n;
			val = s[7] == '=' ? s + 8 : i + 1 < argc ? argv[++i] : NULL;
			if (!val)
				return usage_error(a->name, "--paths needs a number", NULL);
			if (opt_parse_u64(val, &n) || n == 0 || n > 1000000) {
				fprintf(stderr, "allocguard: --paths='%s': expected a whole number from "
					"1 to 1000000\n", val);
				return 2;
			}
			a->paths = (size_t)n;
			continue;
		}
		if (strncmp(s, "--frames", 8) == 0 && (s[8] == '\0' || s[8] == '=')) {
			uint64_t n;
			val = s[8] == '=' ? s + 9 : i + 1 < argc ? argv[++i] : NULL;
			if (!val)
				return usage_error(a->name, "--frames needs a number", NULL);
			if (opt_parse_u64(val, &n) || n == 0 || n > AG_LOG_MAX_FRAMES) {
				fprintf(stderr, "allocguard: --frames='%s': expected a whole number from "
					"1 to %d\n", val, AG_LOG_MAX_FRAMES);
				return 2;
			}
			a->fold.frames = (unsigned)n;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			for (i++; i < argc; i++) {
				if (a->npos == a->maxpos)
					return usage_error(a->name, "too many arguments:", argv[i]);
				a->pos[a->npos++] = argv[i];
			}
			break;
		}
		int is_top = strncmp(s, "--top", 5) == 0 && (s[5] == '\0' || s[5] == '=');
		int is_fail = strncmp(s, "--fail-on", 9) == 0 && (s[9] == '\0' || s[9] == '=');
		if (is_top || (is_fail && a->fail_on_ok)) {
			int rc = top_or_fail_on(a, is_top, argc, argv, &i);
			if (rc)
				return rc;
			continue;
		}
		int taken = a->fail_on_ok ? supp_arg(&a->supp, argc, argv, &i, true) : 0;
		if (taken == 2)
			return 2;
		if (taken)
			continue;
		if (s[0] == '-' && s[1])
			return usage_error(a->name, "unknown option", s);
		if (a->npos == a->maxpos)
			return usage_error(a->name, "too many arguments:", s);
		a->pos[a->npos++] = s;
	}
	if (a->npos < a->minpos)
		return usage_error(a->name, a->minpos == 2 ? "needs two logs" : "needs a log", NULL);
	if (a->o.color < 0)
		a->o.color = a->o.json ? 0 : table_color_for(stdout);
	sites_set_fold(&a->fold);
	sites_set_paths(a->paths);
	return 0;
}

static int load(const char *path, ag_log_t **log)
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
		if (load(a->pos[i], &log)) {
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
	args_t a = { .name = name, .minpos = 1, .maxpos = MAX_LOGS,
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
		return usage_error("diff", "expected LOG, LOG@N (N a snapshot number) or LOG@LABEL, got",
				   bad);
	}
	ag_log_t *la = NULL, *lb = NULL;
	size_t ka = 0, kb = 0;
	rc = load(pa, &la);
	/* two snapshots of one log: read and symbolize it once */
	int same = !rc && strcmp(pa, pb) == 0;
	if (!rc && !same)
		rc = load(pb, &lb);
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

/* Output to -o FILE (written whole, then renamed over FILE so a reader never sees half a
 * profile) or to stdout. */
typedef struct {
	const char *path;
	char *tmp;
	FILE *f;
} output_t;

static int output_open(output_t *o, const char *path)
{
	o->path = path;
	o->tmp = NULL;
	o->f = stdout;
	if (!path || strcmp(path, "-") == 0)
		return 0;
	size_t n = strlen(path) + 16;
	o->tmp = malloc(n);
	if (!o->tmp)
		return ENOMEM;
	snprintf(o->tmp, n, "%s.XXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
		int e = errno;
		fprintf(stderr, "allocguard: cannot write %s: %s\n", path, strerror(e));
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		return e ? e : EIO;
	}
	/* an export is as private as the log it came from */
	fchmod(fd, 0600);
	return 0;
}

/* ok: the content is complete.  Returns 0, or an errno value. */
static int output_close(output_t *o, int ok)
{
	if (!o->tmp)
		return fflush(stdout) ? errno : 0;
	int rc = fclose(o->f) ? errno : 0;
	if (ok && !rc && rename(o->tmp, o->path))
		rc = errno;
	if (!ok || rc) {
		unlink(o->tmp);
		if (ok)
			fprintf(stderr, "allocguard: cannot write %s: %s\n", o->path, strerror(rc));
	}
	free(o->tmp);
	return rc;
}

/* The value of "--name VALUE" or "--name=VALUE" at argv[*i], advancing *i; NULL when
 * argv[*i] is not that option.  *missing is set when the value is absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);
	const char *s = argv[*i];
	if (strncmp(s, name, n) != 0 || (s[n] != '\0' && s[n] != '='))
		return NULL;
	if (s[n] == '=')
		return s + n + 1;
	if (*i + 1 < argc)
		return argv[++*i];
	*missing = 1;
	return NULL;
}

typedef enum { FMT_PPROF, FMT_COLLAPSED, FMT_MASSIF, FMT_JSON, FMT_SVG, FMT_HTML } format_t;

static int export_run(const char *name, const char *path, const char *out_path, format_t fmt,
		      const char *snapshot, export_sample_t sample)
{
	ag_log_t *log;
	if (load(path, &log))
		return 2;
	char msg[600];
	size_t snap = 0;
	if (export_pick_snapshot(log, snapshot, &snap, msg, sizeof msg)) {
		fprintf(stderr, "allocguard: %s: %s\n", name, msg);
		log_free(log);
		return 2;
	}
	symbols_t *sym = symbols_open(log, stderr);
	output_t o;
	int rc = sym ? output_open(&o, out_path) : ENOMEM, said = rc && rc != ENOMEM;
	if (!rc) {
		switch (fmt) {
		case FMT_PPROF: rc = export_pprof(log, sym, snap, sample, o.f); break;
		case FMT_COLLAPSED: rc = export_collapsed(log, sym, snap, sample, o.f); break;
		case FMT_MASSIF: rc = export_massif(log, sym, o.f); break;
		case FMT_JSON: rc = export_json(log, sym, o.f); break;
		case FMT_SVG: rc = plot_svg(log, sym, o.f); break;
		case FMT_HTML: rc = plot_html(&log, &sym, 1, o.f); break;
		}
		/* output_close names the file when writing it fails */
		int wrc = output_close(&o, rc == 0);
		if (!rc && wrc)
			rc = wrc, said = 1;
	}
	if (rc && !said)
		fprintf(stderr, "allocguard: %s: %s\n", name, strerror(rc));
	symbols_close(sym);
	log_free(log);
	return rc ? 2 : 0;
}

int cmd_export(int argc, char **argv)
{
	const char *format = NULL, *snapshot = NULL, *out = NULL, *sample = NULL, *path = NULL;
	for (int i = 1; i < argc; i++) {
		int missing = 0;
		const char *v;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			help_print(stdout, "export");
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "--format", &missing)))
			format = v;
		else if ((v = opt_value(argc, argv, &i, "--snapshot", &missing)))
			snapshot = v;
		else if ((v = opt_value(argc, argv, &i, "--sample-index", &missing)))
			sample = v;
		else if ((v = opt_value(argc, argv, &i, "-o", &missing)) ||
			 (v = opt_value(argc, argv, &i, "--output", &missing)))
			out = v;
		else if (missing)
			;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("export", "unknown option", argv[i]);
		else if (path)
			return usage_error("export", "takes one log; extra argument", argv[i]);
		else
			path = argv[i];
		if (missing)
			return usage_error("export", "a value is missing after", argv[i]);
	}
	static const struct {
		const char *name;
		format_t fmt;
	} formats[] = { { "pprof", FMT_PPROF }, { "collapsed", FMT_COLLAPSED },
			{ "massif", FMT_MASSIF }, { "json", FMT_JSON } };
	int fmt = -1;
	for (size_t k = 0; format && k < sizeof formats / sizeof formats[0]; k++)
		if (strcmp(format, formats[k].name) == 0)
			fmt = (int)formats[k].fmt;
	if (fmt < 0) {
		fprintf(stderr, "allocguard: export: --format='%s': expected pprof, collapsed, "
			"massif or json\n", format ? format : "");
		return 2;
	}
	export_sample_t si = EXPORT_INUSE_SPACE;
	if (sample && export_sample_parse(sample, &si)) {
		fprintf(stderr, "allocguard: export: --sample-index='%s': expected alloc_objects, "
			"alloc_space, inuse_objects or inuse_space\n", sample);
		return 2;
	}
	if (!path)
		return usage_error("export", "needs a log", NULL);
	if (snapshot && (fmt == FMT_MASSIF || fmt == FMT_JSON))
		return usage_error("export", "--snapshot applies to pprof and collapsed; massif and "
				   "json hold every snapshot:", snapshot);
	if (fmt == FMT_PPROF && !out && isatty(STDOUT_FILENO))
		return usage_error("export", "pprof is binary: give -o FILE or redirect stdout", NULL);
	return export_run("export", path, out, (format_t)fmt, snapshot, si);
}

/* Several logs of one process tree: one plot or page for them all. */
static int plot_many(const char *const *paths, size_t n, const char *out_path, format_t fmt)
{
	ag_log_t **logs = calloc(n, sizeof *logs);
	symbols_t **syms = calloc(n, sizeof *syms);
	int rc = logs && syms ? 0 : ENOMEM, status = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (load(paths[i], &logs[i])) {
			status = 2;
			break;
		}
		if (fmt == FMT_HTML && !(syms[i] = symbols_open(logs[i], stderr)))
			rc = ENOMEM;
	}
	output_t o;
	int said = 0;
	if (!rc && !status && !(rc = output_open(&o, out_path))) {
		rc = fmt == FMT_SVG ? plot_tree_svg(logs, n, o.f) : plot_html(logs, syms, n, o.f);
		int wrc = output_close(&o, rc == 0);
		if (!rc && wrc)
			rc = wrc, said = 1;
	} else if (rc && rc != ENOMEM) {
		said = 1;
	}
	if (rc && !said)
		fprintf(stderr, "allocguard: plot: %s\n", strerror(rc));
	for (size_t i = 0; logs && syms && i < n; i++) {
		symbols_close(syms[i]);
		log_free(logs[i]);
	}
	free(logs);
	free(syms);
	return rc ? 2 : status;
}

int cmd_plot(int argc, char **argv)
{
	const char *out = NULL;
	static const char *paths[MAX_LOGS];
	size_t npaths = 0;
	for (int i = 1; i < argc; i++) {
		int missing = 0;
		const char *v;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			help_print(stdout, "plot");
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "-o", &missing)) ||
		    (v = opt_value(argc, argv, &i, "--output", &missing)))
			out = v;
		else if (missing)
			return usage_error("plot", "a value is missing after", argv[i]);
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("plot", "unknown option", argv[i]);
		else if (npaths == MAX_LOGS)
			return usage_error("plot", "too many logs; from", argv[i]);
		else
			paths[npaths++] = argv[i];
	}
	if (!npaths)
		return usage_error("plot", "needs a log", NULL);
	size_t n = out ? strlen(out) : 0;
	format_t fmt;
	if (n > 4 && strcmp(out + n - 4, ".svg") == 0)
		fmt = FMT_SVG;
	else if ((n > 5 && strcmp(out + n - 5, ".html") == 0) ||
		 (n > 4 && strcmp(out + n - 4, ".htm") == 0))
		fmt = FMT_HTML;
	else
		return usage_error("plot", "needs -o FILE.svg or -o FILE.html, got",
				   out ? out : "none");
	if (npaths > 1)
		return plot_many(paths, npaths, out, fmt);
	return export_run("plot", paths[0], out, fmt, NULL, EXPORT_INUSE_SPACE);
}
