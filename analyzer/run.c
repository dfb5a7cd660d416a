/* run.c: `allocguard run [OPTIONS] -- CMD ARGS`: validates the options against the one
 * options table, sets the environment (the library installed beside this executable
 * preloaded, an absolute log pattern, the run's tag, node's flags via node.c), runs the
 * command with signals forwarded and passes its exit status through.  Finding the run's
 * logs and summarising them is runlogs.c's and summary.c's; what the preload does with
 * the settings is its own business. */
#include "cli.h"
#include "node.h"
#include "options.h"
#include "reap.h"
#include "runlogs.h"
#include "suppress.h"
#include "table.h"

#include <errno.h>
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

/* What `run` was asked, besides the preload's settings (which go to the environment). */
typedef struct {
	ag_config_t c;
	uint64_t fail_on;
	int have_fail_on, quiet, verbose, keep_logs;
	supp_opts_t supp;
	char **cmd;                  /* the command and its arguments */
} run_args_t;

/* --NAME VALUE or --NAME=VALUE at argv[*i]: a setting of the options table, or
 * --fail-on-leak.  0, or EINVAL after saying what is wrong. */
static int take_flag(run_args_t *r, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	if (strncmp(a, "--", 2) != 0) {
		say("run: unknown option '%s' (see allocguard run --help)", a);
		return EINVAL;
	}
	char name[64];
	const char *eq = strchr(a, '='), *value;
	size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
	if (nlen >= sizeof name) {
		say("run: unknown option '%s' (see allocguard run --help)", a);
		return EINVAL;
	}
	memcpy(name, a + 2, nlen);
	name[nlen] = '\0';
	if (strcmp(name, "fail-on-leak") != 0 && !opt_find_flag(name)) {
		say("run: unknown option '--%s' (see allocguard run --help)", name);
		return EINVAL;
	}
	if (eq) {
		value = eq + 1;
	} else if (*i + 1 < argc) {
		value = argv[++*i];
	} else {
		say("run: --%s needs a value (see allocguard run --help)", name);
		return EINVAL;
	}
	if (strcmp(name, "fail-on-leak") != 0)
		return set_flag(&r->c, name, value);
	if (opt_parse_size(value, &r->fail_on)) {
		say("--fail-on-leak='%s': expected %s", value, OPT_SIZE_SYNTAX);
		return EINVAL;
	}
	r->have_fail_on = 1;
	return 0;
}

/* 0 to go on, -1 after --help or --options-table, else an exit status. */
static int parse_args(run_args_t *r, int argc, char **argv)
{
	char err[512];
	int i;
	memset(r, 0, sizeof *r);
	if (opt_load_env(&r->c, err, sizeof err)) {
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
			return -1;
		}
		if (strcmp(a, "--options-table") == 0) {
			help_options_table(stdout);
			return -1;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			r->quiet = 1;
			continue;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			r->verbose = 1;
			continue;
		}
		if (strcmp(a, "--keep-logs") == 0) {
			r->keep_logs = 1;
			continue;
		}
		int taken = supp_arg(&r->supp, argc, argv, &i, false);
		if (taken == 2)
			return 2;
		if (taken)
			continue;
		if (take_flag(r, argc, argv, &i))
			return 2;
	}
	if (opt_check(&r->c, err, sizeof err)) {
		say("%s", err);
		return 2;
	}
	if (r->have_fail_on && r->c.leak_check == AG_YN_NO) {
		say("--fail-on-leak needs the leak check, and it is off (--leak-check no or "
		    "ALLOCGUARD_LEAK_CHECK=no): no verdict to gate on");
		return 2;
	}
	if (i >= argc) {
		say("run: no command given (usage: allocguard run [OPTIONS] -- COMMAND [ARGS...])");
		return 2;
	}
	r->cmd = argv + i;
	return 0;
}

/* A log that cannot be created is a run nobody judges: refuse before the command starts.
 * A directory made of %p or %e is only known once the process runs. */
static int check_log_dir(const char *pattern)
{
	char dir[PATH_MAX + OPT_STR_MAX + 2];
	snprintf(dir, sizeof dir, "%s", pattern);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	if (strchr(dir, '%'))
		return 0;
	struct stat st;
	const char *d = dir[0] ? dir : "/";
	int bad = stat(d, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
	if (bad) {
		say("--out %s: the directory %s %s; the command was not started", pattern, d,
		    bad == ENOENT ? "does not exist" : strerror(bad));
		return 2;
	}
	if (access(d, W_OK | X_OK) != 0) {
		say("--out %s: the directory %s is not writable (%s); the command was not started",
		    pattern, d, strerror(errno));
		return 2;
	}
	return 0;
}

/* The environment the command inherits: the library preloaded, the log pattern made
 * absolute (into pattern) so we find the logs whatever the command does, and the run's
 * tag.  0, or an exit status after saying why. */
static int prepare_env(ag_config_t *c, char *pattern, size_t len)
{
	int rc;
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

	if (c->log[0] == '/') {
		snprintf(pattern, len, "%s", c->log);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd)) {
			say("cannot read the current directory: %s", strerror(errno));
			return 2;
		}
		snprintf(pattern, len, "%s/%s", cwd, c->log);
	}
	if (strlen(pattern) >= OPT_STR_MAX) {
		say("log pattern %s is too long", pattern);
		return 2;
	}
	if ((rc = check_log_dir(pattern)))
		return rc;
	setenv("ALLOCGUARD_LOG", pattern, 1);
	/* Every process that keeps the environment writes this tag into its log: how the
	 * run's own logs are told from others' (the parent pids link the rest). */
	if (!c->tag[0]) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		snprintf(c->tag, sizeof c->tag, "run.%d.%lld%09ld", (int)getpid(),
			 (long long)now.tv_sec, now.tv_nsec);
		setenv("ALLOCGUARD_TAG", c->tag, 1);
	}
	return 0;
}

/* Start cmd with the forwarded signals passed on and wait for it: its pid, or -1 after
 * saying why it could not start.  *status is its wait status. */
static pid_t run_child(char **cmd, int *status)
{
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
		say("cannot start %s: %s", cmd[0], strerror(errno));
		return -1;
	}
	if (pid == 0) {
		for (size_t k = 0; k < NFORWARDED; k++)
			signal(forwarded[k], SIG_DFL);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		execvp(cmd[0], cmd);
		int e = errno;
		say("cannot run %s: %s", cmd[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	/* A reader that goes away (`run ... 2>&1 | head -1`) must not kill us before the
	 * clean-up after the child (node's side files): our writes then just fail. */
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	*status = 0;
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			say("waiting for %s: %s", cmd[0], strerror(errno));
			*status = 2 << 8;
			break;
		}
	}
	child_pid = 0;
	return pid;
}

/* --fail-on-leak, once the command exited 0: a run nobody judged never passes, nor one
 * where some process's exit scan did not finish. */
static int gate(const run_verdict_t *v, uint64_t fail_on, size_t unfinished_scans)
{
	if (!v->judged || unfinished_scans) {   /* a process's scan that died judged nothing */
		say("--fail-on-leak: %s: not judged, exit status 2",
		    unfinished_scans ? "an exit scan did not finish" : v->why);
		return 2;
	}
	if (v->lost <= fail_on)
		return 0;
	char a[40], b[40];
	size_str(v->lost, a, sizeof a);
	size_str(fail_on, b, sizeof b);
	say("%s lost at exit, more than --fail-on-leak %s: exit status 1", a, b);
	return 1;
}

int cmd_run(int argc, char **argv)
{
	run_args_t r;
	int rc = parse_args(&r, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	char pattern[PATH_MAX + OPT_STR_MAX + 2];
	supp_t supp = { 0 };
	if ((rc = prepare_env(&r.c, pattern, sizeof pattern)) ||
	    (rc = supp_load_all(&supp, &r.supp, r.c.suppressions))) {
		supp_free(&supp);
		return rc;
	}
	int node_maps = node_prepare();
	bool scanners = reap_start();

	runlogs_t *rl = runlogs_before(pattern);
	if (!rl) {
		supp_free(&supp);
		return 2;
	}
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	start.tv_sec -= 1;   /* file times are coarser than the clock */
	int status;
	pid_t pid = run_child(r.cmd, &status);
	if (pid < 0) {
		supp_free(&supp);
		return 2;
	}
	/* the exit scans still running, before the logs are read */
	size_t unfinished = scanners ? reap_scanners() : 0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status)
		 : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 2;

	run_end_t end = { .pid = pid, .tag = r.c.tag, .start = start, .cmd = r.cmd[0],
			  .exec_may_have_failed = code == 126 || code == 127,
			  .quiet = r.quiet, .node_maps = node_maps, .supp = &supp,
			  .unfinished_scans = unfinished,
			  .summary = { .status = status, .verbose = r.verbose,
				       .keep_logs = r.keep_logs } };
	run_verdict_t v;
	run_finish(rl, &end, &v);
	supp_free(&supp);
	return r.have_fail_on && code == 0 ? gate(&v, r.fail_on, unfinished) : code;
}
