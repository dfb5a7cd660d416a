/* commands_export.c: `allocguard export` and `allocguard plot`: their arguments, the
 * format, and the output file written whole then renamed over its name.  The exports
 * themselves are export_*.c's, the plots plot.c's and page.c's. */
#include "cli.h"
#include "exports.h"
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	if (cmd_load(path, &log))
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
			return cmd_usage_error("export", "unknown option", argv[i]);
		else if (path)
			return cmd_usage_error("export", "takes one log; extra argument", argv[i]);
		else
			path = argv[i];
		if (missing)
			return cmd_usage_error("export", "a value is missing after", argv[i]);
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
		return cmd_usage_error("export", "needs a log", NULL);
	if (snapshot && (fmt == FMT_MASSIF || fmt == FMT_JSON))
		return cmd_usage_error("export", "--snapshot applies to pprof and collapsed; massif and "
				   "json hold every snapshot:", snapshot);
	if (fmt == FMT_PPROF && !out && isatty(STDOUT_FILENO))
		return cmd_usage_error("export", "pprof is binary: give -o FILE or redirect stdout", NULL);
	return export_run("export", path, out, (format_t)fmt, snapshot, si);
}

/* Several logs of one process tree: one plot or page for them all. */
static int plot_many(const char *const *paths, size_t n, const char *out_path, format_t fmt)
{
	ag_log_t **logs = calloc(n, sizeof *logs);
	symbols_t **syms = calloc(n, sizeof *syms);
	int rc = logs && syms ? 0 : ENOMEM, status = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (cmd_load(paths[i], &logs[i])) {
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
	static const char *paths[CMD_MAX_LOGS];
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
			return cmd_usage_error("plot", "a value is missing after", argv[i]);
		else if (argv[i][0] == '-' && argv[i][1])
			return cmd_usage_error("plot", "unknown option", argv[i]);
		else if (npaths == CMD_MAX_LOGS)
			return cmd_usage_error("plot", "too many logs; from", argv[i]);
		else
			paths[npaths++] = argv[i];
	}
	if (!npaths)
		return cmd_usage_error("plot", "needs a log", NULL);
	size_t n = out ? strlen(out) : 0;
	format_t fmt;
	if (n > 4 && strcmp(out + n - 4, ".svg") == 0)
		fmt = FMT_SVG;
	else if ((n > 5 && strcmp(out + n - 5, ".html") == 0) ||
		 (n > 4 && strcmp(out + n - 4, ".htm") == 0))
		fmt = FMT_HTML;
	else
		return cmd_usage_error("plot", "needs -o FILE.svg or -o FILE.html, got",
				   out ? out : "none");
	if (npaths > 1)
		return plot_many(paths, npaths, out, fmt);
	return export_run("plot", paths[0], out, fmt, NULL, EXPORT_INUSE_SPACE);
}
