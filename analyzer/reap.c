/* reap.c: waiting for the exit scans of the run's tree (see reap.h).  A scanner child names
 * itself "ag-scan PID" (PID: the program whose scan it runs); run waits only for those,
 * never for other orphans the command left behind (daemons). */
#include "reap.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SCAN_ENV "ALLOCGUARD_SCAN_CHILD"
#define SCAN_NAME "ag-scan "
#define LOG_WAIT_S 360   /* past the scanner's own watchdog */

bool reap_start(void)
{
	setenv(SCAN_ENV, "yes", 0);   /* --scan-child or the variable, when given, decide */
	const char *v = getenv(SCAN_ENV);
	if (!v || strcmp(v, "yes") != 0)
		return false;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
		return true;
	setenv(SCAN_ENV, "no", 1);
	return false;
}

/* Whether pid is our child and a scanner; *program is whose scan it runs. */
static bool is_scanner(const char *pid, pid_t self, long *program)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* PID (COMM) STATE PPID ...: the name ends at the last ')' */
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	if (!open || !close || close < open)
		return false;
	char state;
	long ppid;
	if (sscanf(close + 1, " %c %ld", &state, &ppid) != 2 || ppid != self)
		return false;
	*close = '\0';
	if (strncmp(open + 1, SCAN_NAME, strlen(SCAN_NAME)) != 0)
		return false;
	*program = strtol(open + 1 + strlen(SCAN_NAME), NULL, 10);
	return true;
}

/* Wait for one scanner; say so when it did not finish (false). */
static bool wait_one(pid_t pid, long program)
{
	int st;
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return true;   /* not ours after all */
	if (WIFSIGNALED(st))
		fprintf(stderr, "allocguard: the exit scan of pid %ld did not finish (killed by "
			"signal %d): its log has no exit snapshot, so no leak verdict\n", program,
			WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		fprintf(stderr, "allocguard: the exit scan of pid %ld did not finish (exit status "
			"%d): its log has no exit snapshot, so no leak verdict\n", program,
			WEXITSTATUS(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

size_t reap_scanners(void)
{
	size_t unfinished = 0;
	pid_t self = getpid();
	for (bool found = true; found;) {   /* again: one may have been reparented meanwhile */
		found = false;
		DIR *d = opendir("/proc");
		if (!d)
			break;
		struct dirent *e;
		while ((e = readdir(d))) {
			long program;
			if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
			    !is_scanner(e->d_name, self, &program))
				continue;
			unfinished += !wait_one((pid_t)atol(e->d_name), program);
			found = true;
		}
		closedir(d);
	}
	return unfinished;
}

/* Whether process pid is a scanner holding the file st open (its only files are its log
 * and stderr). */
static bool writes(const char *pid, const struct stat *st)
{
	char path[300], comm[32];
	snprintf(path, sizeof path, "/proc/%s/comm", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool named = fgets(comm, sizeof comm, f) && strncmp(comm, SCAN_NAME, strlen(SCAN_NAME)) == 0;
	fclose(f);
	if (!named)
		return false;
	snprintf(path, sizeof path, "/proc/%s/fd", pid);
	DIR *d = opendir(path);
	struct dirent *e;
	bool found = false;
	while (d && !found && (e = readdir(d))) {
		struct stat fst;
		snprintf(path, sizeof path, "/proc/%s/fd/%s", pid, e->d_name);
		found = e->d_name[0] != '.' && stat(path, &fst) == 0 && fst.st_dev == st->st_dev &&
			fst.st_ino == st->st_ino;
	}
	if (d)
		closedir(d);
	return found;
}

static long scanner_of(const struct stat *st)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long pid = 0;
	while (d && !pid && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && writes(e->d_name, st))
			pid = atol(e->d_name);
	if (d)
		closedir(d);
	return pid;
}

void reap_wait_log(const char *path)
{
	struct stat st;
	long pid;
	if (stat(path, &st) != 0 || !(pid = scanner_of(&st)))
		return;
	fprintf(stderr, "allocguard: %s: waiting for its exit scan to finish (pid %ld)\n", path,
		pid);
	for (int i = 0; i < LOG_WAIT_S * 20 && scanner_of(&st); i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}
