/* helpers.c: spawn-and-capture with a timeout, scratch files, and the test-local log reader
 * (see helpers.h).  The reader is deliberately small and strict: it checks the durability
 * rule of preload/logfmt.h on its own, without the analyzer's code. */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

extern char **environ;

/* ---------------------------------------------------------------- running programs */

/* A ring big enough that no test holds a path across 64 later calls. */
#define NPATH 64
static char pathbuf[NPATH][4096];
static unsigned pathnext;

static const char *rotating(const char *a, const char *b)
{
	char *p = pathbuf[pathnext++ % NPATH];
	snprintf(p, sizeof pathbuf[0], "%s/%s", a, b);
	return p;
}

const char *th_build(const char *rel)
{
	const char *b = getenv("AG_BUILD");
	return rotating(b ? b : "build", rel);
}

const char *th_root(const char *rel)
{
	const char *b = getenv("AG_ROOT");
	return rotating(b ? b : ".", rel);
}

const char *th_preload(void)
{
	/* Its own buffer: th_run calls this, and must not recycle the caller's argv[0]. */
	static char p[4096];
	const char *b = getenv("AG_BUILD");
	snprintf(p, sizeof p, "%s/liballocguard.so", b ? b : "build");
	return p;
}

int th_have_preload(void)
{
	return access(th_preload(), R_OK) == 0;
}

int th_have_cmd(const char *cmd)
{
	const char *path = getenv("PATH");
	if (!path)
		return 0;
	char *dup = strdup(path), *save = NULL;
	int found = 0;
	for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", d, cmd);
		found = access(p, X_OK) == 0;
	}
	free(dup);
	return found;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
	char *p;
	size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* Read what is available; 1 at EOF. */
static int drain(int fd, buf_t *b)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof tmp);
	if (n > 0) {
		buf_add(b, tmp, (size_t)n);
		return 0;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	return 1;
}

static int drop_var(const char *e)
{
	return !strncmp(e, "LD_PRELOAD=", 11) || !strncmp(e, "ALLOCGUARD_", 11);
}

int th_run(th_run_t *r, const char *const *argv, const char *const *env_add, int preload,
	   int timeout_s)
{
	memset(r, 0, sizeof *r);
	size_t n = 0, nadd = 0;
	while (environ[n])
		n++;
	while (env_add && env_add[nadd])
		nadd++;
	char **envp = calloc(n + nadd + 2, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!drop_var(environ[i]))
			envp[k++] = environ[i];
	for (size_t i = 0; i < nadd; i++)
		envp[k++] = (char *)env_add[i];
	char ldp[4200];
	if (preload) {
		snprintf(ldp, sizeof ldp, "LD_PRELOAD=%s", th_preload());
		envp[k++] = ldp;
	}
	envp[k] = NULL;

	/* Resolve argv[0] before fork: only async-signal-safe calls in the child. */
	char exe[4096];
	if (strchr(argv[0], '/')) {
		snprintf(exe, sizeof exe, "%s", argv[0]);
	} else {
		const char *path = getenv("PATH");
		char *dup = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
		exe[0] = 0;
		for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			snprintf(exe, sizeof exe, "%s/%s", d, argv[0]);
			if (access(exe, X_OK) == 0)
				break;
			exe[0] = 0;
		}
		free(dup);
		if (!exe[0]) {
			free(envp);
			return ENOENT;
		}
	}

	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		free(envp);
		return errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		free(envp);
		return errno;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execve(exe, (char *const *)argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	free(envp);
	close(po[1]);
	close(pe[1]);
	r->pid = pid;

	buf_t out = {0}, err = {0};
	buf_add(&out, "", 0);
	buf_add(&err, "", 0);
	int open_o = 1, open_e = 1, reaped = 0;
	double deadline = now_s() + timeout_s, grace = 0;
	while (open_o || open_e || !reaped) {
		if (!reaped) {
			pid_t w = wait4(pid, &r->status, WNOHANG, &r->ru);
			if (w == pid) {
				reaped = 1;
				/* Grandchildren may keep the pipes open: read on for a moment. */
				grace = now_s() + 2;
			}
		}
		if (reaped && (!open_o && !open_e))
			break;
		if (reaped && now_s() > grace)
			break;
		if (!reaped && now_s() > deadline) {
			r->timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			wait4(pid, &r->status, 0, &r->ru);
			reaped = 1;
			grace = now_s() + 0.5;
			continue;
		}
		struct pollfd pf[2];
		int np = 0;
		if (open_o)
			pf[np++] = (struct pollfd){ .fd = po[0], .events = POLLIN };
		if (open_e)
			pf[np++] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
		if (np == 0) {
			usleep(10000);
			continue;
		}
		if (poll(pf, np, 20) <= 0)
			continue;
		for (int i = 0; i < np; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (pf[i].fd == po[0] && drain(po[0], &out))
				open_o = 0;
			if (pf[i].fd == pe[0] && drain(pe[0], &err))
				open_e = 0;
		}
	}
	/* Whatever is left of the group (children of a timed-out or crashed run) goes too. */
	kill(-pid, SIGKILL);
	close(po[0]);
	close(pe[0]);
	r->out = out.p;
	r->outlen = out.len;
	r->err = err.p;
	r->errlen = err.len;
	r->exited = WIFEXITED(r->status);
	r->code = r->exited ? WEXITSTATUS(r->status) : -1;
	r->signaled = WIFSIGNALED(r->status);
	r->sig = r->signaled ? WTERMSIG(r->status) : 0;
	return 0;
}

void th_run_free(th_run_t *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

const char *th_run_desc(const th_run_t *r)
{
	static char d[1200];
	if (r->timed_out)
		snprintf(d, sizeof d, "timed out (killed); stderr: %.1000s", r->err ? r->err : "");
	else if (r->signaled)
		snprintf(d, sizeof d, "killed by signal %d; stderr: %.1000s", r->sig,
			 r->err ? r->err : "");
	else
		snprintf(d, sizeof d, "exit %d; stderr: %.1000s", r->code, r->err ? r->err : "");
	return d;
}

/* ---------------------------------------------------------------- scratch files */

char *th_tmpdir(const char *tag)
{
	static char d[8][256];
	static unsigned next;
	char *p = d[next++ % 8];
	snprintf(p, sizeof d[0], "/tmp/agtest-%s-XXXXXX", tag);
	if (!mkdtemp(p))
		return NULL;
	return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

void th_rmtree(const char *dir)
{
	if (!dir || getenv("AG_KEEP"))
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *th_slurp_raw(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf_t b = {0};
	buf_add(&b, "", 0);
	while (!drain(fd, &b))
		;
	close(fd);
	if (len)
		*len = b.len;
	return b.p;
}

char *th_gunzip(const char *raw, size_t n, size_t *len, int *status)
{
	buf_t b = {0};
	buf_add(&b, "", 0);
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	int st = 0;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		abort();
	zs.next_in = (Bytef *)raw;
	zs.avail_in = (uInt)n;
	char out[65536];
	for (;;) {
		zs.next_out = (Bytef *)out;
		zs.avail_out = sizeof out;
		int rc = inflate(&zs, Z_NO_FLUSH);
		buf_add(&b, out, sizeof out - zs.avail_out);
		if (rc == Z_STREAM_END) {
			if (!zs.avail_in)
				break;
			inflateReset(&zs);   /* the next gzip member */
		} else if (rc == Z_BUF_ERROR || (rc == Z_OK && !zs.avail_in && zs.avail_out)) {
			st = 1;   /* cut */
			break;
		} else if (rc != Z_OK) {
			st = 2;   /* damaged */
			break;
		}
	}
	inflateEnd(&zs);
	if (len)
		*len = b.len;
	if (status)
		*status = st;
	return b.p;
}

char *th_slurp(const char *path, size_t *len)
{
	size_t n;
	char *raw = th_slurp_raw(path, &n);
	if (!raw || n < 2 || (unsigned char)raw[0] != 0x1f || (unsigned char)raw[1] != 0x8b) {
		if (len && raw)
			*len = n;
		return raw;
	}
	char *text = th_gunzip(raw, n, len, NULL);
	free(raw);
	return text;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t th_list(const char *dir, const char *prefix, char ***out)
{
	DIR *d = opendir(dir);
	size_t n = 0, cap = 16;
	char **v = calloc(cap, sizeof *v);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof *v);
		v[n++] = strdup(p);
	}
	if (d)
		closedir(d);
	qsort(v, n, sizeof *v, cmpstr);
	*out = v;
	return n;
}

void th_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

size_t th_count_lines(const char *s, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);
	for (const char *l = s; l && *l;) {
		if (!strncmp(l, prefix, pl))
			n++;
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

size_t th_nlines(const char *s)
{
	size_t n = 0;
	for (const char *l = s; l && *l;) {
		n++;
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

long long th_kv(const char *s, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = s; p && (p = strstr(p, key)); p += kl) {
		if ((p == s || p[-1] == ' ' || p[-1] == '\n') && p[kl] == '=')
			return strtoll(p + kl + 1, NULL, 10);
	}
	return -1;
}

/* ---------------------------------------------------------------- the log reader */

#define MAXF 300

typedef struct {
	const char *f[MAXF];
	size_t n[MAXF];
	size_t nf;
} fields_t;

static int split(const char *s, size_t len, fields_t *fl)
{
	fl->nf = 0;
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && s[j] != ' ')
			j++;
		if (j == i || fl->nf == MAXF)
			return -1;      /* empty field (double space) or too many */
		fl->f[fl->nf] = s + i;
		fl->n[fl->nf++] = j - i;
		i = j + 1;
		if (j < len && i == len)
			return -1;      /* trailing space */
	}
	return fl->nf ? 0 : -1;
}

static int dec(const char *s, size_t n, uint64_t *v)
{
	if (!n || n > 20)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t y = x * 10 + (uint64_t)(s[i] - '0');
		if (y / 10 != x)
			return -1;
		x = y;
	}
	*v = x;
	return 0;
}

static int hex(const char *s, size_t n, uint64_t *v)
{
	if (!n || n > 16)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		int d = (s[i] >= '0' && s[i] <= '9') ? s[i] - '0' :
			(s[i] >= 'a' && s[i] <= 'f') ? s[i] - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return 0;
}

static void unesc(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		uint64_t v;
		if (s[i] == '%' && i + 2 < n && hex(s + i + 1, 2, &v) == 0) {
			out[k++] = (char)v;
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = 0;
}

static int is(const fields_t *fl, size_t i, const char *w)
{
	return fl->n[i] == strlen(w) && !memcmp(fl->f[i], w, fl->n[i]);
}

static size_t hslot(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static long stack_index(const th_log_t *log, uint64_t id)
{
	if (!log->hcap)
		return -1;
	for (size_t i = hslot(id, log->hcap);; i = (i + 1) & (log->hcap - 1)) {
		if (!log->hk[i])
			return -1;
		if (log->hk[i] == id + 1)
			return (long)log->hv[i];
	}
}

static void stack_insert(th_log_t *log, uint64_t id, size_t idx)
{
	if ((log->nstacks + 1) * 2 > log->hcap) {
		size_t ncap = log->hcap ? log->hcap * 2 : 256;
		uint64_t *k = calloc(ncap, sizeof *k);
		size_t *v = calloc(ncap, sizeof *v);
		for (size_t i = 0; i < log->hcap; i++) {
			if (!log->hk[i])
				continue;
			size_t j = hslot(log->hk[i] - 1, ncap);
			while (k[j])
				j = (j + 1) & (ncap - 1);
			k[j] = log->hk[i];
			v[j] = log->hv[i];
		}
		free(log->hk);
		free(log->hv);
		log->hk = k;
		log->hv = v;
		log->hcap = ncap;
	}
	size_t j = hslot(id, log->hcap);
	while (log->hk[j])
		j = (j + 1) & (log->hcap - 1);
	log->hk[j] = id + 1;
	log->hv[j] = idx;
}

typedef struct {
	long stack;
	int is_r;                   /* 0 L, 1 R, 2 T */
	uint64_t v[4];
} pend_t;

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static int bad(th_log_t *log, size_t lineno, const char *what)
{
	log->damaged = 1;
	snprintf(log->damage, sizeof log->damage, "line %zu: %s", lineno, what);
	return -1;
}

#define GROW(arr, n, cap) do { if ((n) == (cap)) { (cap) = (cap) ? (cap) * 2 : 16; \
	(arr) = realloc((arr), (cap) * sizeof *(arr)); } } while (0)

int th_log_parse(th_log_t *log, const char *buf, size_t len)
{
	memset(log, 0, sizeof *log);
	size_t capm = 0, caps = 0, capn = 0, cape = 0, capp = 0, npend = 0;
	pend_t *pend = NULL;
	int in_snap = 0, have_p = 0;
	uint64_t cur_seq = 0, cur_t = 0;
	char cur_reason[16] = "";
	fields_t *fl = malloc(sizeof *fl);
	size_t off = 0, lineno = 0;
	while (off < len) {
		const char *l = buf + off;
		const char *nl = memchr(l, '\n', len - off);
		if (!nl)
			break;          /* incomplete last line: not usable yet */
		size_t ll = (size_t)(nl - l);
		lineno++;
		if (memchr(l, 0, ll) || split(l, ll, fl)) {
			bad(log, lineno, "malformed line");
			break;
		}
		size_t nf = fl->nf;
		uint64_t v[12];
		if (lineno == 1) {
			if (nf != 2 || !is(fl, 0, "AGLOG") || dec(fl->f[1], fl->n[1], v)) {
				bad(log, lineno, "no AGLOG header");
				break;
			}
			log->version = (int)v[0];
		} else if (is(fl, 0, "P")) {
			if (nf != 5 || dec(fl->f[1], fl->n[1], &log->pid) ||
			    dec(fl->f[2], fl->n[2], &log->ppid) || dec(fl->f[3], fl->n[3], v)) {
				bad(log, lineno, "bad P");
				break;
			}
			unesc(fl->f[4], fl->n[4], log->exe, sizeof log->exe);
			have_p = 1;
		} else if (is(fl, 0, "F")) {
			if (nf != 6) {   /* a JS function (node): names only */
				bad(log, lineno, "bad F");
				break;
			}
		} else if (is(fl, 0, "A") || is(fl, 0, "J")) {
			if (nf != 2) {
				bad(log, lineno, "bad A/J");
				break;
			}
		} else if (is(fl, 0, "O")) {
			if (nf != 3) {
				bad(log, lineno, "bad O");
				break;
			}
			if (log->nopts < 64) {
				unesc(fl->f[1], fl->n[1], log->opts[log->nopts][0], 64);
				unesc(fl->f[2], fl->n[2], log->opts[log->nopts][1], 64);
				log->nopts++;
			}
		} else if (is(fl, 0, "M")) {
			th_module_t m;
			if (nf != 6 || hex(fl->f[1], fl->n[1], &m.bias) || hex(fl->f[2], fl->n[2], &m.lo) ||
			    hex(fl->f[3], fl->n[3], &m.hi)) {
				bad(log, lineno, "bad M");
				break;
			}
			unesc(fl->f[5], fl->n[5], m.path, sizeof m.path);
			GROW(log->mods, log->nmods, capm);
			log->mods[log->nmods++] = m;
		} else if (is(fl, 0, "U")) {
			uint64_t x;
			if (nf != 6 || hex(fl->f[1], fl->n[1], &x) || hex(fl->f[2], fl->n[2], &x) ||
			    hex(fl->f[3], fl->n[3], &x) || dec(fl->f[4], fl->n[4], &x)) {
				bad(log, lineno, "bad U");
				break;
			}
		} else if (is(fl, 0, "S")) {
			th_stack_t s;
			if (nf < 3 || dec(fl->f[1], fl->n[1], &s.id) || fl->n[2] != 1 ||
			    !strchr("hmsj", fl->f[2][0]) || stack_index(log, s.id) >= 0) {
				bad(log, lineno, "bad S");
				break;
			}
			s.kind = fl->f[2][0];
			s.nframes = nf - 3;
			s.frames = calloc(s.nframes + 1, sizeof *s.frames);
			int ok = 1;
			for (size_t i = 0; i < s.nframes; i++)
				ok &= hex(fl->f[3 + i], fl->n[3 + i], &s.frames[i]) == 0;
			if (!ok) {
				free(s.frames);
				bad(log, lineno, "bad S frame");
				break;
			}
			if (log->nstacks == caps) {
				caps = caps ? caps * 2 : 64;
				log->stacks = realloc(log->stacks, caps * sizeof *log->stacks);
				log->val = realloc(log->val, caps * sizeof *log->val);
			}
			memset(&log->val[log->nstacks], 0, sizeof *log->val);
			stack_insert(log, s.id, log->nstacks);
			log->stacks[log->nstacks++] = s;
		} else if (is(fl, 0, "V")) {
			th_event_t e;
			if (nf != (log->version >= 2 ? 6u : 4u) || fl->n[2] >= sizeof e.kind || dec(fl->f[1], fl->n[1], &e.t_ns) ||
			    dec(fl->f[3], fl->n[3], &e.bytes)) {
				bad(log, lineno, "bad V");
				break;
			}
			memcpy(e.kind, fl->f[2], fl->n[2]);
			e.kind[fl->n[2]] = 0;
			GROW(log->events, log->nevents, cape);
			log->events[log->nevents++] = e;
		} else if (is(fl, 0, "W")) {
			if (nf != 5) {
				bad(log, lineno, "bad W");
				break;
			}
		} else if (is(fl, 0, "X")) {
			if (nf < 4 || fl->n[1] >= sizeof log->verdict ||
			    dec(fl->f[2], fl->n[2], &log->threads_stopped) ||
			    dec(fl->f[3], fl->n[3], &log->threads_not_stopped)) {
				bad(log, lineno, "bad X");
				break;
			}
			memcpy(log->verdict, fl->f[1], fl->n[1]);
			log->verdict[fl->n[1]] = 0;
			log->scanner = 0;
			for (size_t k = 4; k < nf; k++)
				if (fl->n[k] > 8 && strncmp(fl->f[k], "scanner=", 8) == 0 &&
				    dec(fl->f[k] + 8, fl->n[k] - 8, &log->scanner)) {
					bad(log, lineno, "bad X scanner");
					break;
				}
		} else if (is(fl, 0, "B")) {
			if (nf != 4 || in_snap || dec(fl->f[1], fl->n[1], &cur_seq) ||
			    dec(fl->f[2], fl->n[2], &cur_t) || fl->n[3] >= sizeof cur_reason ||
			    cur_seq != log->nsnaps) {
				bad(log, lineno, "bad B (or B inside a snapshot, or seq out of order)");
				break;
			}
			memcpy(cur_reason, fl->f[3], fl->n[3]);
			cur_reason[fl->n[3]] = 0;
			in_snap = 1;
			npend = 0;
		} else if (is(fl, 0, "K")) {
			int ok = in_snap && nf == 5;
			for (size_t i = 1; ok && i < nf; i++)
				ok &= dec(fl->f[i], fl->n[i], &log->at_peak[i - 1]) == 0;
			if (!ok) {
				bad(log, lineno, "bad K (or outside a snapshot)");
				break;
			}
		} else if (is(fl, 0, "L") || is(fl, 0, "R") || is(fl, 0, "T")) {
			/* R has 4 fields, or 6 with the indirect pair; T 4; L 6, or 7 with the
			 * temporary allocations (version 2) */
			int r = is(fl, 0, "R") ? 1 : is(fl, 0, "T") ? 2 : 0;
			int fits = r == 1 ? nf == 4 || nf == 6 : r == 2 ? nf == 4
				 : nf == (log->version >= 2 ? 7u : 6u);
			if (!in_snap || !fits) {
				bad(log, lineno, "bad L/R/T (or outside a snapshot)");
				break;
			}
			int ok = 1;
			v[3] = v[4] = 0;
			for (size_t i = 1; i < nf; i++)
				ok &= dec(fl->f[i], fl->n[i], &v[i - 1]) == 0;
			long si = ok ? stack_index(log, v[0]) : -1;
			if (si < 0) {
				bad(log, lineno, "L/R/T of an unknown stack");
				break;
			}
			GROW(pend, npend, capp);
			pend[npend].stack = si;
			pend[npend].is_r = r;
			memcpy(pend[npend].v, v + 1, 4 * sizeof v[0]);
			npend++;
		} else if (is(fl, 0, "Z")) {
			if (!in_snap || nf < 2) {
				bad(log, lineno, "bad Z (or outside a snapshot)");
				break;
			}
		} else if (is(fl, 0, "H")) {   /* a stack's sizes: not counted in E's records */
			if (!in_snap || nf < 3) {
				bad(log, lineno, "bad H (or outside a snapshot)");
				break;
			}
		} else if (is(fl, 0, "E")) {
			int ok = in_snap && nf == 10;
			for (size_t i = 1; ok && i < nf; i++)
				ok &= dec(fl->f[i], fl->n[i], &v[i - 1]) == 0;
			if (!ok || v[0] != cur_seq || v[8] != npend) {
				bad(log, lineno, "E does not match its B or record count");
				break;
			}
			/* Commit: L lines are deltas, R lines describe this snapshot only. */
			for (size_t i = 0; i < log->nstacks; i++)
				log->val[i].lost_bytes = log->val[i].lost_count =
					log->val[i].indirect_bytes = log->val[i].indirect_count = 0;
			for (size_t i = 0; i < npend; i++) {
				th_val_t *sv = &log->val[pend[i].stack];
				if (pend[i].is_r == 2) {
					sv->peak_bytes = pend[i].v[0];
					sv->peak_count = pend[i].v[1];
				} else if (pend[i].is_r) {
					sv->lost_bytes = pend[i].v[0];
					sv->lost_count = pend[i].v[1];
					sv->indirect_bytes = pend[i].v[2];
					sv->indirect_count = pend[i].v[3];
				} else {
					sv->live_bytes = pend[i].v[0];
					sv->live_count = pend[i].v[1];
					sv->total_bytes = pend[i].v[2];
					sv->total_count = pend[i].v[3];
				}
			}
			th_snap_t s = { .seq = cur_seq, .t_ns = cur_t, .end = off + ll + 1 };
			memcpy(s.reason, cur_reason, sizeof s.reason);
			memcpy(s.e, v + 1, sizeof s.e);
			uint64_t h = 1469598103934665603ull;
			for (size_t i = 0; i < log->nstacks; i++) {
				const th_val_t *sv = &log->val[i];
				if (!sv->live_bytes && !sv->total_count && !sv->lost_bytes)
					continue;
				h = mix(h, log->stacks[i].id);
				h = mix(h, sv->live_bytes);
				h = mix(h, sv->live_count);
				h = mix(h, sv->total_bytes);
				h = mix(h, sv->total_count);
				h = mix(h, sv->lost_bytes);
				h = mix(h, sv->lost_count);
			}
			for (size_t i = 0; i < TH_NE; i++)
				h = mix(h, s.e[i]);
			s.digest = h;
			GROW(log->snaps, log->nsnaps, capn);
			log->snaps[log->nsnaps++] = s;
			in_snap = 0;
		} else {
			bad(log, lineno, "unknown record type");
			break;
		}
		off += ll + 1;
		log->good = off;
	}
	free(pend);
	free(fl);
	return (log->version && have_p) ? 0 : -1;
}

int th_log_load(th_log_t *log, const char *path)
{
	size_t len;
	char *buf = th_slurp(path, &len);
	if (!buf) {
		memset(log, 0, sizeof *log);
		snprintf(log->damage, sizeof log->damage, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = th_log_parse(log, buf, len);
	free(buf);
	return rc;
}

static int run_one_log(const char *tag, const char *const *argv, const char *const *env_add,
		       int via_run, int timeout_s, th_run_t *r, th_log_t *log, char *why,
		       size_t wlen)
{
	memset(log, 0, sizeof *log);
	char *dir = strdup(th_tmpdir(tag));
	char pat[600];
	snprintf(pat, sizeof pat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
	const char *env[32] = { pat };
	size_t ne = 1;
	for (size_t i = 0; env_add && env_add[i] && ne < 31; i++)
		env[ne++] = env_add[i];
	env[ne] = NULL;
	const char *cmd[64] = { th_build("allocguard"), "run", "-q", "--" };
	size_t nc = 4;
	for (size_t i = 0; argv[i] && nc < 63; i++)
		cmd[nc++] = argv[i];
	cmd[nc] = NULL;
	int rc = -1;
	char **logs = NULL;
	size_t n = 0;
	if (th_run(r, via_run ? cmd : argv, env, !via_run, timeout_s) != 0)
		snprintf(why, wlen, "%s did not start", argv[0]);
	else if ((n = th_list(dir, "ag.", &logs)) != 1)
		snprintf(why, wlen, "%s: %zu logs, not one (%s)", argv[0], n, th_run_desc(r));
	else if (th_log_load(log, logs[0]) != 0)
		snprintf(why, wlen, "%s: the log does not read: %s", argv[0], log->damage);
	else
		rc = 0;
	th_strv_free(logs, n);
	th_rmtree(dir);
	free(dir);
	return rc;
}

int th_run_one_log(const char *tag, const char *const *argv, const char *const *env_add,
		   int timeout_s, th_run_t *r, th_log_t *log, char *why, size_t wlen)
{
	return run_one_log(tag, argv, env_add, 0, timeout_s, r, log, why, wlen);
}

int th_run_one_log_run(const char *tag, const char *const *argv, const char *const *env_add,
		       int timeout_s, th_run_t *r, th_log_t *log, char *why, size_t wlen)
{
	return run_one_log(tag, argv, env_add, 1, timeout_s, r, log, why, wlen);
}

void th_log_heap_sums(const th_log_t *log, uint64_t *live, uint64_t *lost)
{
	*live = *lost = 0;
	for (size_t i = 0; i < log->nstacks; i++) {
		if (log->stacks[i].kind != 'h')
			continue;
		*live += log->val[i].live_bytes;
		*lost += log->val[i].lost_bytes;
	}
}

double th_log_estimate_error(const th_log_t *log)
{
	long ex = th_log_find(log, "exit");
	if (ex < 0 || !log->snaps[ex].e[TH_HEAP])
		return NAN;
	uint64_t exact = log->snaps[ex].e[TH_HEAP], est, lost;
	th_log_heap_sums(log, &est, &lost);
	return ((double)est - (double)exact) / (double)exact;
}

void th_log_free(th_log_t *log)
{
	for (size_t i = 0; i < log->nstacks; i++)
		free(log->stacks[i].frames);
	free(log->stacks);
	free(log->val);
	free(log->hk);
	free(log->hv);
	free(log->mods);
	free(log->snaps);
	free(log->events);
	memset(log, 0, sizeof *log);
}

const char *th_log_opt(const th_log_t *log, const char *name)
{
	for (size_t i = 0; i < log->nopts; i++)
		if (!strcmp(log->opts[i][0], name))
			return log->opts[i][1];
	return NULL;
}

long th_log_find(const th_log_t *log, const char *reason)
{
	for (size_t i = log->nsnaps; i-- > 0;)
		if (!strcmp(log->snaps[i].reason, reason))
			return (long)i;
	return -1;
}

size_t th_log_events(const th_log_t *log, const char *kind)
{
	size_t n = 0;
	for (size_t i = 0; i < log->nevents; i++)
		n += !strcmp(log->events[i].kind, kind);
	return n;
}

/* ---------------------------------------------------------------- symbols */

int th_syms_load(th_syms_t *s, const char *path)
{
	memset(s, 0, sizeof *s);
	const char *argv[] = { "nm", "-C", "-S", "--defined-only", path, NULL };
	th_run_t r;
	if (th_run(&r, argv, NULL, 0, 30) || r.code != 0) {
		th_run_free(&r);
		return -1;
	}
	size_t cap = 0;
	for (char *l = r.out; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		unsigned long long a, z;
		char t, name[128];
		/* C++ names come demangled; "leak_array()" is kept as "leak_array". */
		if (sscanf(l, "%llx %llx %c %127[^(\n]", &a, &z, &t, name) == 4 &&
		    (t == 'T' || t == 't')) {
			GROW(s->syms, s->n, cap);
			s->syms[s->n].addr = a;
			s->syms[s->n].size = z;
			snprintf(s->syms[s->n].name, sizeof s->syms[0].name, "%s", name);
			s->n++;
		}
		l = nl ? nl + 1 : NULL;
	}
	th_run_free(&r);
	return s->n ? 0 : -1;
}

void th_syms_free(th_syms_t *s)
{
	free(s->syms);
	memset(s, 0, sizeof *s);
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

const char *th_stack_func(const th_log_t *log, const th_stack_t *st, const th_syms_t *syms,
			  const char *exe)
{
	for (size_t f = 0; f < st->nframes; f++) {
		uint64_t a = st->frames[f];
		for (size_t m = 0; m < log->nmods; m++) {
			const th_module_t *mod = &log->mods[m];
			if (a < mod->lo || a >= mod->hi || strcmp(base(mod->path), base(exe)))
				continue;
			uint64_t va = a - mod->bias;
			for (size_t i = 0; i < syms->n; i++)
				if (va >= syms->syms[i].addr && va < syms->syms[i].addr + syms->syms[i].size)
					return syms->syms[i].name;
		}
	}
	return NULL;
}

size_t th_swaps(const char *dir, const char *prefix, th_swap_t *out, size_t max)
{
	char **v;
	size_t nlogs = th_list(dir, prefix, &v), count = 0;
	for (size_t i = 0; i < nlogs; i++) {
		char *log = th_slurp(v[i], NULL);
		for (char *line = log; line && *line;
		     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
			unsigned long long t, bytes;
			th_swap_t w;
			if (line[0] != 'W' ||
			    sscanf(line, "W %llu %llu %63s %899s", &t, &bytes, w.mode, w.path) != 4)
				continue;
			w.bytes = bytes;
			if (count < max)
				out[count] = w;
			count++;
		}
		free(log);
	}
	th_strv_free(v, nlogs);
	return count;
}

const char *th_line_from(const char *s, const char *marker)
{
	static char line[4096];
	const char *p = s ? strstr(s, marker) : NULL;
	if (!p)
		return NULL;
	snprintf(line, sizeof line, "%.*s", (int)strcspn(p, "\n"), p);
	return line;
}
