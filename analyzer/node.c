/* node.c: NODE_OPTIONS for the child and node's side files (see node.h).
 *
 * --perf-basic-prof makes node write /tmp/perf-PID.map, naming its JIT code;
 * --interpreted-frames-native-stack gives interpreted functions their own trampoline copy
 * in that map (without it, memory allocated under the interpreter has no JS name).  Node
 * accepts both in NODE_OPTIONS.  The map is node's, in /tmp and growing with the run; we
 * keep only the entries the log's stacks fall in, beside the log, so later reports still
 * name JS functions and /tmp is left as it was.  --perf-basic-prof also makes V8 write
 * isolate-ADDR-PID-v8.log into node's working directory (the flags that would stop it are
 * not allowed in NODE_OPTIONS): we remove those of the logged processes from ours. */
#include "node.h"
#include "fmt.h"
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char *const perf_flags[] = {
	"--perf-basic-prof", "--perf-prof", "--perf-basic-prof-only-functions", NULL,
};

static int has_flag(const char *opts, const char *flag)
{
	size_t n = strlen(flag);
	for (const char *p = opts; p && (p = strstr(p, flag)); p += n)
		if ((p == opts || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '='))
			return 1;
	return 0;
}

int node_prepare(void)
{
	const char *old = getenv("NODE_OPTIONS");
	int ours = 1;
	for (int i = 0; perf_flags[i]; i++)
		if (has_flag(old, perf_flags[i]))
			ours = 0;
	size_t len = (old ? strlen(old) : 0) + 96;
	char *v = malloc(len);
	if (!v)
		return 0;
	snprintf(v, len, "%s", old ? old : "");
	if (ours)
		snprintf(v + strlen(v), len - strlen(v), "%s--perf-basic-prof", *v ? " " : "");
	if (!has_flag(old, "--interpreted-frames-native-stack"))
		snprintf(v + strlen(v), len - strlen(v), "%s--interpreted-frames-native-stack",
			 *v ? " " : "");
	int rc = setenv("NODE_OPTIONS", v, 1);
	free(v);
	return rc == 0 && ours;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Is any of the sorted addresses in [lo, hi)? */
static int any_in(const uint64_t *a, size_t n, uint64_t lo, uint64_t hi)
{
	size_t l = 0, h = n;
	while (l < h) {
		size_t m = l + (h - l) / 2;
		if (a[m] < lo)
			l = m + 1;
		else
			h = m;
	}
	return l < n && a[l] < hi;
}

/* The map's entries that some frame of the log falls in, into out; 0 or an errno. */
static int copy_used(const ag_log_t *log, FILE *in, int out_fd)
{
	size_t n = 0;
	for (size_t i = 0; i < log->nstacks; i++)
		n += log->stacks[i].nframes;
	uint64_t *a = malloc((n ? n : 1) * sizeof *a);
	char *line = malloc(8192);
	FILE *out = fdopen(out_fd, "w");
	int rc = a && line && out ? 0 : ENOMEM;
	n = 0;
	for (size_t i = 0; a && i < log->nstacks; i++)
		for (uint32_t k = 0; k < log->stacks[i].nframes; k++)
			a[n++] = log->stacks[i].frames[k];
	if (!rc)
		qsort(a, n, sizeof *a, u64_cmp);
	while (!rc && fgets(line, 8192, in)) {
		char *end;
		uint64_t lo = strtoull(line, &end, 16), size = strtoull(end, &end, 16);
		if (size && any_in(a, n, lo, lo + size))
			fputs(line, out);
	}
	if (out) {
		if (fclose(out) && !rc)
			rc = errno;
	} else {
		close(out_fd);
	}
	free(a);
	free(line);
	return rc;
}

static void append_j(const char *logpath, const char *mappath)
{
	char line[PATH_MAX * 3 + 8];
	fmt_t f;
	fmt_init(&f, line, sizeof line - 1);
	fmt_str(&f, "J ");
	fmt_escaped(&f, mappath);
	fmt_chr(&f, '\n');
	int fd = open(logpath, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	/* A compressed log gets the line as one more gzip member; or, when its stream was
	 * never finished (the process was killed: it ends in a sync flush's 00 00 ff ff), as
	 * a stored deflate block that continues it. */
	unsigned char magic[2], tail[4], gz[sizeof line + 64];
	const char *out = line;
	size_t n = f.len;
	off_t end = lseek(fd, 0, SEEK_END);
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b && end >= 4 &&
	    pread(fd, tail, 4, end - 4) == 4 && !memcmp(tail, "\0\0\xff\xff", 4)) {
		gz[0] = 0;   /* BFINAL 0, stored */
		gz[1] = (unsigned char)f.len;
		gz[2] = (unsigned char)(f.len >> 8);
		gz[3] = (unsigned char)~gz[1];
		gz[4] = (unsigned char)~gz[2];
		memcpy(gz + 5, line, f.len);
		out = (const char *)gz;
		n = f.len + 5;
	} else if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		z_stream zs = { 0 };
		if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
			zs.next_in = (Bytef *)line;
			zs.avail_in = (uInt)f.len;
			zs.next_out = gz;
			zs.avail_out = sizeof gz;
			n = deflate(&zs, Z_FINISH) == Z_STREAM_END ? sizeof gz - zs.avail_out : 0;
			deflateEnd(&zs);
		} else {
			n = 0;
		}
		out = (const char *)gz;
	}
	if (!n || write(fd, out, n) != (ssize_t)n)
		fprintf(stderr, "allocguard: %s: could not name its JS symbol map\n", logpath);
	close(fd);
}

/* One process of the run: when it left a perf map, keep the entries its stacks use beside
 * its log (if the log is still there) and remove node's side files. */
static void keep_one(const ag_log_t *log)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "/tmp/perf-%" PRIu64 ".map", log->pid);
	if (access(tmp, F_OK) != 0)
		return;   /* not node, or no map */
	/* node's own command line may ask for the map or V8's log (--prof): then they stay */
	int asked = 0;
	for (size_t i = 1; i < log->argc; i++) {
		const char *a = log->argv[i];
		asked |= strncmp(a, "--perf", 6) == 0 || strncmp(a, "--prof", 6) == 0 ||
			 strncmp(a, "--log", 5) == 0;
	}
	if (!asked) {
		char pat[96];
		glob_t g;
		snprintf(pat, sizeof pat, "isolate-0x*-%" PRIu64 "-v8.log", log->pid);
		if (glob(pat, GLOB_NOSORT, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	FILE *in = access(log->path, F_OK) == 0 ? fopen(tmp, "r") : NULL;
	int kept = !in;   /* a log `run` removed needs no map */
	if (in) {
		size_t len = strlen(log->path) + 8;
		char *mine = malloc(len);
		int fd = -1;
		if (mine) {
			snprintf(mine, len, "%s.jsmap", log->path);
			fd = open(mine, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		}
		if (fd >= 0 && copy_used(log, in, fd) == 0) {
			append_j(log->path, mine);
			kept = 1;
		}
		fclose(in);
		free(mine);
	}
	if (kept && !asked)
		unlink(tmp);
}

void node_side_files(ag_log_t *const *logs, size_t nlogs, int ours)
{
	if (!ours)
		return;   /* the user asked for the maps: theirs to keep */
	for (size_t i = 0; i < nlogs; i++)
		keep_one(logs[i]);
}
