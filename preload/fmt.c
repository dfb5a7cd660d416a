/* fmt.c: malloc-free text formatting (see fmt.h).  Used on the hook path, in the log
 * writer and in option parsing, so it calls nothing but write(2). */
#include "fmt.h"
#include "arch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* libc's own names for these: close and read would bind to the preload's hooks. */
extern int __close(int);
extern ssize_t __read(int, void *, size_t);

void fmt_init(fmt_t *f, char *buf, size_t cap)
{
	f->buf = buf;
	f->cap = cap;
	f->len = 0;
	f->truncated = 0;
	if (cap)
		buf[0] = '\0';
}

static void fmt_mem(fmt_t *f, const char *s, size_t n)
{
	if (f->cap == 0) {
		f->truncated = 1;
		return;
	}
	size_t room = f->cap - 1 - f->len;
	if (n > room) {
		n = room;
		f->truncated = 1;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
}

void fmt_str(fmt_t *f, const char *s)
{
	fmt_mem(f, s ? s : "(null)", strlen(s ? s : "(null)"));
}

void fmt_chr(fmt_t *f, char c)
{
	if (f->len + 1 < f->cap) {   /* the common case, without a copy: stacks are mostly this */
		f->buf[f->len++] = c;
		f->buf[f->len] = '\0';
		return;
	}
	fmt_mem(f, &c, 1);
}

void fmt_u64(fmt_t *f, uint64_t v)
{
	char tmp[24];
	int i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fmt_mem(f, tmp + i, sizeof tmp - (size_t)i);
}

void fmt_i64(fmt_t *f, int64_t v)
{
	if (v < 0) {
		fmt_chr(f, '-');
		fmt_u64(f, (uint64_t)0 - (uint64_t)v);
	} else {
		fmt_u64(f, (uint64_t)v);
	}
}

void fmt_hex(fmt_t *f, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = v ? (size_t)(67 - __builtin_clzll(v)) / 4 : 1;
	if (f->len + n < f->cap) {   /* written in place: a stack's frames are most of a log */
		char *at = f->buf + f->len;
		for (size_t i = n; i-- > 0; v >>= 4)
			at[i] = digits[v & 15];
		f->len += n;
		f->buf[f->len] = '\0';
		return;
	}
	char tmp[16];
	int i = sizeof tmp;
	do {
		tmp[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	fmt_mem(f, tmp + i, sizeof tmp - (size_t)i);
}

void fmt_escaped(fmt_t *f, const char *s)
{
	static const char digits[] = "0123456789ABCDEF";
	if (!s || !*s) {
		fmt_str(f, "%00");   /* an empty string still occupies one field */
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == '%' || c >= 0x7f) {
			char esc[3] = { '%', digits[c >> 4], digits[c & 15] };
			fmt_mem(f, esc, 3);
		} else {
			fmt_chr(f, (char)c);
		}
	}
}

void fmt_field(fmt_t *f, const char *s)
{
	if (!s)
		return;
	fmt_chr(f, ' ');
	fmt_escaped(f, s);
}

void fmt_size(fmt_t *f, uint64_t bytes)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	if (bytes < 1024) {
		fmt_u64(f, bytes);
		fmt_str(f, " B");
		return;
	}
	int u = 0;
	uint64_t whole = bytes, scale = 1;
	while (whole >= 1024 && u < 5) {
		whole /= 1024;
		scale *= 1024;
		u++;
	}
	uint64_t tenths = (bytes % scale) * 10 / scale;
	fmt_u64(f, whole);
	fmt_chr(f, '.');
	fmt_u64(f, tenths);
	fmt_chr(f, ' ');
	fmt_str(f, units[u]);
}

void fmt_size_apart(fmt_t *f, uint64_t bytes, uint64_t other)
{
	char a[48], b[48];
	fmt_t x, y;
	fmt_init(&x, a, sizeof a);
	fmt_init(&y, b, sizeof b);
	fmt_size(&x, bytes);
	fmt_size(&y, other);
	fmt_size(f, bytes);
	if (bytes != other && bytes >= 1024 && strcmp(a, b) == 0) {
		fmt_str(f, " (");
		fmt_u64(f, bytes);
		fmt_str(f, " B)");
	}
}

ssize_t fmt_read_file(const char *path, char *buf, size_t cap)
{
	int saved = errno;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = -1;
	if (fd >= 0 && cap) {
		ssize_t n;
		len = 0;
		while ((size_t)len < cap - 1 && (n = __read(fd, buf + len, cap - 1 - (size_t)len)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				len = -1;
				break;
			}
			len += n;
		}
		if (len >= 0)
			buf[len] = '\0';
	}
	if (fd >= 0)
		__close(fd);
	errno = saved;
	return len;
}

int fmt_write_all(int fd, const char *buf, size_t len)
{
	int saved = errno, rc = 0;
	while (len) {
		/* the system call, not libc's write: that one is a cancellation point, and
		 * this runs on the allocation path */
		ssize_t n = arch_syscall6(SYS_write, fd, (long)buf, (long)len, 0, 0, 0);
		if (n < 0) {
			if (n == -EINTR)
				continue;
			rc = (int)-n;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	errno = saved;
	return rc;
}

/* What descriptor 2 was when the process started: a program that later closes its stderr
 * and opens a file of its own there (a daemon's data file) must not get our lines in it. */
static enum { STDERR_UNKNOWN, STDERR_KNOWN, STDERR_NONE } stderr_state;
static dev_t stderr_dev;
static ino_t stderr_ino;

void fmt_say_init(void)
{
	struct stat st;
	if (fstat(2, &st) != 0) {
		stderr_state = STDERR_NONE;
		return;
	}
	stderr_dev = st.st_dev;
	stderr_ino = st.st_ino;
	stderr_state = STDERR_KNOWN;
}

/* Under a seccomp filter fstat may be punished: the answer is the one taken just before the
 * filter went in (or "ours" for a filter inherited at start). */
static bool stderr_frozen, stderr_frozen_ours;

static bool fmt_stderr_ours(void)
{
	if (stderr_frozen)
		return stderr_frozen_ours;
	if (stderr_state == STDERR_UNKNOWN)
		return true;   /* before start-up: what the program was started with */
	struct stat st;
	int saved = errno;
	bool same = stderr_state == STDERR_KNOWN && fstat(2, &st) == 0 &&
		    st.st_dev == stderr_dev && st.st_ino == stderr_ino;
	errno = saved;
	return same;
}

void fmt_stderr_freeze(bool check)
{
	stderr_frozen_ours = check ? fmt_stderr_ours() : true;
	stderr_frozen = true;
}

void fmt_say(const char *msg)
{
	if (!fmt_stderr_ours())
		return;
	char buf[1024];
	fmt_t f;
	fmt_init(&f, buf, sizeof buf - 1);
	fmt_str(&f, "allocguard: ");
	fmt_str(&f, msg);
	buf[f.len++] = '\n';
	fmt_write_all(2, buf, f.len);
}

void fmt_pattern(fmt_t *f, const char *pat, uint64_t pid, const char *exe_name)
{
	for (const char *p = pat; *p; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			fmt_u64(f, pid);
			p++;
		} else if (p[0] == '%' && p[1] == 'e') {
			fmt_str(f, exe_name);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			fmt_chr(f, '%');
			p++;
		} else {
			fmt_chr(f, *p);
		}
	}
}

void fmt_say3(const char *before, const char *what, const char *after)
{
	char msg[8192];
	fmt_t f;
	fmt_init(&f, msg, sizeof msg);
	fmt_str(&f, before);
	fmt_str(&f, what);
	fmt_str(&f, after);
	fmt_say(msg);
}

int fmt_parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !n)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return EINVAL;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

uint64_t fmt_scan_hex(const char **p, const char *end)
{
	uint64_t v = 0;
	for (; *p < end; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else
			break;
	}
	return v;
}
