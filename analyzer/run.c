/* run.c: `allocguard run [OPTIONS] -- CMD ARGS`: validates the options against the one
 * options table, preloads the library installed beside this executable, runs the command
 * with signals forwarded, passes its exit status through and summarizes the logs the run
 * wrote.  What the preload does with the settings is its own business. */
#include "cli.h"
#include "node.h"
#include "options.h"
#include "reports.h"
#include "table.h"

#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])

/* A signal sent to us by a process goes on to the command; one the terminal sent to the
 * whole foreground group already reached it. */
static void forward(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (child_pid > 0 && (si->si_code == SI_USER || si->si_code == SI_QUEUE ||
			      si->si_code == SI_TKILL))
		kill((pid_t)child_pid, sig);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "allocguard: %s\n", buf);
}

/* liballocguard.so beside this executable, or in ../lib (make install). */
static int find_library(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return errno ? errno : ENOENT;
	exe[n] = '\0';
	char *dir = dirname(exe);
	const char *tries[] = { "%s/liballocguard.so", "%s/../lib/liballocguard.so" };
	for (size_t i = 0; i < 2; i++) {
		char p[PATH_MAX + 64];
		snprintf(p, sizeof p, tries[i], dir);
		if (access(p, R_OK) == 0 && realpath(p, out) && strlen(out) < len)
			return 0;
	}
	snprintf(out, len, "%s/liballocguard.so or %s/../lib/liballocguard.so", dir, dir);
	return ENOENT;
}

/* Does name match pat, where "%p" and "%e" stand for any run of characters and "%%" for
 * "%"?  (%p and %e are not glob syntax, hence this small matcher.) */
static int pattern_match(const char *pat, const char *name)
{
	if (pat[0] == '%' && (pat[1] == 'p' || pat[1] == 'e')) {
		for (const char *n = name;; n++) {
			if (pattern_match(pat + 2, n))
				return 1;
			if (!*n)
				return 0;
		}
	}
	if (!*pat)
		return !*name;
	if (pat[0] == '%' && pat[1] == '%')
		return *name == '%' && pattern_match(pat + 2, name + 1);
	return *pat == *name && pattern_match(pat + 1, name + 1);
}

typedef struct {
	char **path;
	struct stat *st;
	size_t n;
} file_set_t;

/* Files in the pattern's directory matching it, with the collision-suffixed names too
 * (<path>.1, <path>.2...).  A pattern with %p or %e in its directory part is not scanned. */
static void list_logs(const char *pat, file_set_t *fs)
{
	memset(fs, 0, sizeof *fs);
	const char *slash = strrchr(pat, '/');
	if (!slash || memchr(pat, '%', (size_t)(slash - pat)))
		return;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - pat), pat);
	if (!dir[0])
		strcpy(dir, "/");
	DIR *d = opendir(dir);
	if (!d)
		return;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char base[NAME_MAX + 1];
		snprintf(base, sizeof base, "%s", e->d_name);
		int ok = pattern_match(slash + 1, base);
		char *dot = strrchr(base, '.');
		if (!ok && dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
			*dot = '\0';   /* <path>.N */
			ok = pattern_match(slash + 1, base);
		}
		if (!ok)
			continue;
		char full[PATH_MAX + NAME_MAX + 2];
		snprintf(full, sizeof full, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
		struct stat st;
		if (lstat(full, &st) || !S_ISREG(st.st_mode))
			continue;
		if (fs->n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **np = realloc(fs->path, nc * sizeof *np);
			if (np)
				fs->path = np;
			struct stat *ns = realloc(fs->st, nc * sizeof *ns);
			if (ns)
				fs->st = ns;
			if (!np || !ns)
				break;
			cap = nc;
		}
		if (!(fs->path[fs->n] = strdup(full)))
			break;
		fs->st[fs->n++] = st;
	}
	closedir(d);
}

/* The main log's path when the directory could not be scanned (a %p or %e in it):
 * %p is the pid, %e the command's base name. */
static int expand_for(const char *pat, pid_t pid, const char *cmd, char *out, size_t len)
{
	const char *b = strrchr(cmd, '/');
	b = b ? b + 1 : cmd;
	size_t j = 0;
	for (size_t k = 0; pat[k] && j + 32 < len; k++) {
		if (pat[k] == '%' && pat[k + 1] == 'p') {
			j += (size_t)snprintf(out + j, len - j, "%d", (int)pid);
			k++;
		} else if (pat[k] == '%' && pat[k + 1] == 'e') {
			j += (size_t)snprintf(out + j, len - j, "%s", b);
			k++;
		} else if (pat[k] == '%' && pat[k + 1] == '%') {
			out[j++] = '%';
			k++;
		} else {
			out[j++] = pat[k];
		}
		if (j >= len)
			return ENAMETOOLONG;
	}
	out[j < len ? j : len - 1] = '\0';
	return access(out, R_OK) == 0 ? 0 : ENOENT;
}

static void free_set(file_set_t *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->path[i]);
	free(fs->path);
	free(fs->st);
}

/* Written during the run: new since `before`, or changed since. */
static int is_new(const file_set_t *before, const char *path, const struct stat *st,
		  const struct timespec *start)
{
	for (size_t i = 0; i < before->n; i++) {
		if (strcmp(before->path[i], path) != 0)
			continue;
		const struct stat *o = &before->st[i];
		if (o->st_ino != st->st_ino || o->st_dev != st->st_dev)
			return 1;
		return st->st_size != o->st_size || st->st_mtim.tv_sec > start->tv_sec ||
		       (st->st_mtim.tv_sec == start->tv_sec && st->st_mtim.tv_nsec >= start->tv_nsec);
	}
	return 1;
}

static int set_flag(ag_config_t *c, const char *flag, const char *value)
{
	char err[512], who[80];
	const opt_desc_t *d = opt_find_flag(flag);
	snprintf(who, sizeof who, "--%s", flag);
	if (opt_set(c, d, value, who, err, sizeof err)) {
		say("%s", err);
		return EINVAL;
	}
	if (setenv(d->env, value, 1)) {
		say("cannot set %s: %s", d->env, strerror(errno));
		return errno;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	ag_config_t c;
	char err[512];
	uint64_t fail_on = 0;
	int have_fail_on = 0, quiet = 0, i;

	if (opt_load_env(&c, err, sizeof err)) {
		say("%s", err);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help_print(stdout, "run");
			return 0;
		}
		if (strcmp(a, "--options-table") == 0) {
			help_options_table(stdout);
			return 0;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			quiet = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			say("run: unknown option '%s' (see allocguard run --help)", a);
			return 2;
		}
		char name[64];
		const char *eq = strchr(a, '='), *value;
		size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nlen >= sizeof name) {
			say("run: unknown option '%s' (see allocguard run --help)", a);
			return 2;
		}
		memcpy(name, a + 2, nlen);
		name[nlen] = '\0';
		int known = strcmp(name, "fail-on-leak") == 0 || opt_find_flag(name);
		if (!known) {
			say("run: unknown option '--%s' (see allocguard run --help)", name);
			return 2;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			say("run: --%s needs a value (see allocguard run --help)", name);
			return 2;
		}
		if (strcmp(name, "fail-on-leak") == 0) {
			if (opt_parse_size(value, &fail_on)) {
				say("--fail-on-leak='%s': expected SIZE: bytes with optional K, M, G, T "
				    "suffix (powers of 1024), or N%% of memory", value);
				return 2;
			}
			have_fail_on = 1;
			continue;
		}
		if (set_flag(&c, name, value))
			return 2;
	}
	if (opt_check(&c, err, sizeof err)) {
		say("%s", err);
		return 2;
	}
	if (i >= argc) {
		say("run: no command given (usage: allocguard run [OPTIONS] -- COMMAND [ARGS...])");
		return 2;
	}

	char lib[PATH_MAX];
	if (find_library(lib, sizeof lib)) {
		say("cannot find the preload library (looked for %s)", lib);
		return 2;
	}
	const char *old = getenv("LD_PRELOAD");
	char *pre = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
	if (!pre)
		return 2;
	sprintf(pre, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
	setenv("LD_PRELOAD", pre, 1);
	free(pre);

	/* An absolute log pattern, so we can find the logs whatever the command does. */
	char pattern[PATH_MAX + OPT_STR_MAX + 2];
	if (c.log[0] == '/') {
		snprintf(pattern, sizeof pattern, "%s", c.log);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd)) {
			say("cannot read the current directory: %s", strerror(errno));
			return 2;
		}
		snprintf(pattern, sizeof pattern, "%s/%s", cwd, c.log);
	}
	if (strlen(pattern) >= OPT_STR_MAX) {
		say("log pattern %s is too long", pattern);
		return 2;
	}
	setenv("ALLOCGUARD_LOG", pattern, 1);
	int node_maps = node_prepare();

	file_set_t before;
	list_logs(pattern, &before);
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	start.tv_sec -= 1;   /* file times are coarser than the clock */

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigset_t block, saved;
	sigemptyset(&block);
	for (size_t k = 0; k < NFORWARDED; k++) {
		sigaction(forwarded[k], &sa, NULL);
		sigaddset(&block, forwarded[k]);
	}
	sigprocmask(SIG_BLOCK, &block, &saved);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		say("cannot start %s: %s", argv[i], strerror(errno));
		return 2;
	}
	if (pid == 0) {
		for (size_t k = 0; k < NFORWARDED; k++)
			signal(forwarded[k], SIG_DFL);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		execvp(argv[i], argv + i);
		int e = errno;
		say("cannot run %s: %s", argv[i], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			say("waiting for %s: %s", argv[i], strerror(errno));
			status = 2 << 8;
			break;
		}
	}
	child_pid = 0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status)
		 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 2;

	file_set_t after;
	list_logs(pattern, &after);
	char **logs = calloc(after.n + 1, sizeof *logs);
	size_t nlogs = 0;
	for (size_t k = 0; logs && k < after.n; k++)
		if (is_new(&before, after.path[k], &after.st[k], &start))
			logs[nlogs++] = after.path[k];
	char expanded[PATH_MAX];
	if (!nlogs && logs && expand_for(pattern, pid, argv[i], expanded, sizeof expanded) == 0)
		logs[nlogs++] = expanded;
	node_side_files(logs, nlogs, node_maps);
	uint64_t lost = 0;
	int exec_failed = nlogs == 0 && (code == 126 || code == 127);
	if ((!quiet || have_fail_on) && !exec_failed) {
		FILE *sink = quiet ? fopen("/dev/null", "w") : stderr;
		run_summary(sink ? sink : stderr, logs, nlogs, pid, &lost);
		if (sink && sink != stderr)
			fclose(sink);
	}
	if (have_fail_on && code == 0 && lost > fail_on) {
		char a[40], b[40];
		size_str(lost, a, sizeof a);
		size_str(fail_on, b, sizeof b);
		say("%s lost at exit, more than --fail-on-leak %s: exit status 1", a, b);
		code = 1;
	}
	free(logs);
	free_set(&before);
	free_set(&after);
	return code;
}
