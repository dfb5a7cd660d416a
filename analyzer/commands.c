/* commands.c: the log-reading subcommands (leaks, growth, diff, report): their arguments,
 * loading the logs, the damage warning and the exit status.  The reports themselves are in
 * leaks.c, growth.c, diff.c and report.c. */
#include "cli.h"
#include "logfmt.h"
#include "options.h"
#include "reports.h"
#include "sites.h"
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
} args_t;

static int usage_error(const char *name, const char *what, const char *arg)
{
	fprintf(stderr, "allocguard: %s: %s%s%s (see allocguard %s --help)\n", name, what,
		arg ? " " : "", arg ? arg : "", name);
	return 2;
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
		if (strcmp(s, "--all-frames") == 0) {
			a->fold.all = 1;
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
			const char *eq = strchr(s, '=');
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return usage_error(a->name, is_top ? "--top needs a number"
							: "--fail-on needs a size", NULL);
			if (is_top) {
				uint64_t n;
				if (opt_parse_u64(val, &n) || n == 0 || n > 1000000) {
					fprintf(stderr, "allocguard: --top='%s': expected a whole number from "
						"1 to 1000000\n", val);
					return 2;
				}
				a->o.top = (size_t)n;
			} else {
				if (opt_parse_size(val, &a->fail_on)) {
					fprintf(stderr, "allocguard: --fail-on='%s': expected SIZE: bytes with "
						"optional K, M, G, T suffix (powers of 1024), or N%% of "
						"memory\n", val);
					return 2;
				}
				a->have_fail_on = 1;
			}
			continue;
		}
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
	return 0;
}

static int load(const char *path, ag_log_t **log)
{
	char msg[600];
	if (log_load(path, log, msg, sizeof msg)) {
		fprintf(stderr, "allocguard: %s\n", msg);
		return 2;
	}
	log_warn_damage(*log, stderr);
	return 0;
}

/* Human views show one row per site as folded: merge the model's stacks accordingly.  JSON
 * keeps every stack with every frame. */
static symbols_t *open_symbols(const args_t *a, ag_log_t *log)
{
	symbols_t *sym = symbols_open(log, stderr);
	if (sym && !a->o.json && sites_merge(log, sym)) {
		symbols_close(sym);
		return NULL;
	}
	return sym;
}

typedef int (*single_fn)(const ag_log_t *, symbols_t *, const report_opts_t *, FILE *);

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

static int single(const char *name, int argc, char **argv, single_fn fn)
{
	args_t a = { .name = name, .minpos = 1, .maxpos = MAX_LOGS };
	int rc = parse(&a, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	int status = 0;
	for (size_t i = 0; i < a.npos; i++) {
		ag_log_t *log;
		if (load(a.pos[i], &log)) {
			status = 2;
			continue;
		}
		symbols_t *sym = open_symbols(&a, log);
		between(&a, i);
		rc = sym ? fn(log, sym, &a.o, stdout) : ENOMEM;
		symbols_close(sym);
		log_free(log);
		if (rc) {
			fprintf(stderr, "allocguard: %s: %s\n", name, strerror(rc));
			status = 2;
		}
	}
	after_all(&a);
	return status;
}

int cmd_growth(int argc, char **argv)
{
	return single("growth", argc, argv, growth_print);
}

int cmd_report(int argc, char **argv)
{
	return single("report", argc, argv, report_print);
}

int cmd_leaks(int argc, char **argv)
{
	args_t a = { .name = "leaks", .minpos = 1, .maxpos = MAX_LOGS, .fail_on_ok = 1 };
	int rc = parse(&a, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	uint64_t lost_all = 0;
	int status = 0;
	for (size_t i = 0; i < a.npos; i++) {
		ag_log_t *log;
		if (load(a.pos[i], &log)) {
			status = 2;
			continue;
		}
		symbols_t *sym = open_symbols(&a, log);
		uint64_t lost = 0;
		between(&a, i);
		rc = sym ? leaks_print(log, sym, &a.o, stdout, &lost) : ENOMEM;
		symbols_close(sym);
		log_free(log);
		if (rc) {
			fprintf(stderr, "allocguard: leaks: %s\n", strerror(rc));
			status = 2;
		}
		lost_all += lost;
	}
	after_all(&a);
	fflush(stdout);
	if (!status && a.have_fail_on && lost_all > a.fail_on) {
		fprintf(stderr, "allocguard: %llu bytes lost, more than --fail-on %llu\n",
			(unsigned long long)lost_all, (unsigned long long)a.fail_on);
		return 1;
	}
	return status;
}

static int pick(const ag_log_t *log, long long seq, size_t *snap)
{
	if (seq < 0) {
		*snap = log->nsnaps - 1;
		return 0;
	}
	*snap = log_snap_by_seq(log, (uint64_t)seq);
	if (*snap == (size_t)-1) {
		fprintf(stderr, "allocguard: %s has no snapshot %lld (it has 0 to %zu)\n", log->path,
			seq, log->nsnaps - 1);
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
	char *pa = NULL, *pb = NULL;
	long long sa, sb;
	if (diff_parse_spec(a.pos[0], &pa, &sa) || diff_parse_spec(a.pos[1], &pb, &sb)) {
		free(pa);
		free(pb);
		return usage_error("diff", "expected LOG or LOG@N (N a snapshot number), got",
				   pa ? a.pos[1] : a.pos[0]);
	}
	ag_log_t *la = NULL, *lb = NULL;
	size_t ka = 0, kb = 0;
	rc = load(pa, &la);
	if (!rc)
		rc = load(pb, &lb);
	if (!rc)
		rc = pick(la, sa, &ka);
	if (!rc)
		rc = pick(lb, sb, &kb);
	if (!rc) {
		symbols_t *ya = open_symbols(&a, la), *yb = open_symbols(&a, lb);
		int e = ya && yb ? diff_print(la, ka, ya, lb, kb, yb, &a.o, stdout) : ENOMEM;
		symbols_close(ya);
		symbols_close(yb);
		if (e) {
			fprintf(stderr, "allocguard: diff: %s\n", strerror(e));
			rc = 2;
		}
	}
	log_free(la);
	log_free(lb);
	free(pa);
	free(pb);
	return rc;
}
