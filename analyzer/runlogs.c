/* runlogs.c: finding and loading the logs of the process tree `run` started (see
 * runlogs.h).  A log belongs to the run when it was written during it (new or changed
 * since the start), its process started after the run did, and it carries the run's tag
 * (inherited through the environment) or its pid is the started one or its parent at start
 * belongs to the tree (for programs that clear their environment).  Older logs in the same
 * directory, and logs of unrelated processes writing there meanwhile, are never judged. */
#include "runlogs.h"
#include "fmt.h"
#include "jsheap.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	fmt_t f;
	fmt_init(&f, out, len);
	fmt_pattern(&f, pat, (uint64_t)pid, b);
	if (f.truncated)
		return ENAMETOOLONG;
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

struct runlogs {
	char *pattern;
	file_set_t before;
};

runlogs_t *runlogs_before(const char *pattern)
{
	runlogs_t *rl = calloc(1, sizeof *rl);
	if (!rl || !(rl->pattern = strdup(pattern))) {
		free(rl);
		return NULL;
	}
	list_logs(pattern, &rl->before);
	return rl;
}

void runlogs_free(runlogs_t *rl)
{
	if (!rl)
		return;
	free_set(&rl->before);
	free(rl->pattern);
	free(rl);
}

static int in_set(const pid_t *set, size_t n, uint64_t pid)
{
	for (size_t i = 0; i < n; i++)
		if ((uint64_t)set[i] == pid)
			return 1;
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const ag_log_t *x = *(ag_log_t *const *)a, *y = *(ag_log_t *const *)b;
	return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

int runlogs_collect(runlogs_t *rl, pid_t main_pid, const char *tag,
		    const struct timespec *start, const char *cmd, run_tree_t *out, FILE *err)
{
	memset(out, 0, sizeof *out);
	out->main_pid = main_pid;
	file_set_t after;
	list_logs(rl->pattern, &after);
	char expanded[PATH_MAX];
	char *one[1];
	char **paths = after.path;
	size_t npaths = after.n;
	if (!after.n && expand_for(rl->pattern, main_pid, cmd, expanded, sizeof expanded) == 0) {
		one[0] = expanded;   /* the directory could not be scanned: the main log only */
		paths = one;
		npaths = 1;
	}
	/* Processes started at least this late belong to the run (file and clock granularity
	 * of a second). */
	uint64_t earliest = ((uint64_t)start->tv_sec - 1) * 1000000000ull;
	ag_log_t **cand = calloc(npaths + 1, sizeof *cand);
	size_t ncand = 0;
	for (size_t k = 0; cand && k < npaths; k++) {
		if (paths == after.path && !is_new(&rl->before, after.path[k], &after.st[k], start))
			continue;
		char msg[512];
		ag_log_t *log;
		if (log_load(paths[k], &log, msg, sizeof msg)) {
			fprintf(err, "allocguard: %s\n", msg);
			continue;
		}
		if (!log->have_proc || log->start_ns < earliest || jsheap_apply(log, err)) {
			log_free(log);
			continue;
		}
		cand[ncand++] = log;
	}
	/* The tree: the started pid, then every process whose parent is in it, until no
	 * more join (a child's log may come before its parent's in the directory). */
	pid_t *tree = calloc(ncand + 1, sizeof *tree);
	size_t ntree = 0;
	if (tree)
		tree[ntree++] = main_pid;
	out->logs = calloc(ncand + 1, sizeof *out->logs);
	for (int grew = 1; grew && tree && out->logs;) {
		grew = 0;
		for (size_t k = 0; k < ncand; k++) {
			ag_log_t *log = cand[k];
			const char *t = log ? log_option(log, "tag") : NULL;
			int tagged = t && tag && tag[0] && strcmp(t, tag) == 0;
			if (!log || (!tagged && !in_set(tree, ntree, log->pid) &&
				     !in_set(tree, ntree, log->ppid)))
				continue;
			if (!in_set(tree, ntree, log->pid))
				tree[ntree++] = (pid_t)log->pid;
			out->logs[out->n++] = log;
			cand[k] = NULL;
			grew = 1;
		}
	}
	for (size_t k = 0; k < ncand; k++)
		log_free(cand[k]);
	free(cand);
	free(tree);
	free_set(&after);
	if (out->n > 1)
		qsort(out->logs, out->n, sizeof *out->logs, by_start);
	return out->logs ? 0 : ENOMEM;
}

void run_tree_free(run_tree_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		log_free(t->logs[i]);
	free(t->logs);
	memset(t, 0, sizeof *t);
}
