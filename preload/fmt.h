/* fmt.h: malloc-free text building into a caller's fixed buffer, for messages and log
 * lines written with write(2); and the few raw reads and writes the preload's text needs
 * (small /proc files, a whole buffer to a descriptor, a message to stderr).  Where log
 * lines go is the caller's. */
#ifndef ALLOCGUARD_FMT_H
#define ALLOCGUARD_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	char *buf;
	size_t cap;
	size_t len;      /* bytes used; never exceeds cap - 1, buf stays NUL-terminated */
	int truncated;   /* set when something did not fit */
} fmt_t;

void fmt_init(fmt_t *f, char *buf, size_t cap);
void fmt_str(fmt_t *f, const char *s);
void fmt_chr(fmt_t *f, char c);
void fmt_u64(fmt_t *f, uint64_t v);
void fmt_i64(fmt_t *f, int64_t v);
void fmt_hex(fmt_t *f, uint64_t v);
/* Percent-escape s so that it is one whitespace-free log field (see logfmt.h). */
void fmt_escaped(fmt_t *f, const char *s);
/* A further field: a space and s escaped; nothing for NULL. */
void fmt_field(fmt_t *f, const char *s);
/* The one decimal parser: the n bytes at s, digits only, into *out; 0, or EINVAL (none,
 * not a digit, or more than UINT64_MAX). */
int fmt_parse_u64(const char *s, size_t n, uint64_t *out);
/* Lowercase hex digits from *p, before end (as /proc writes addresses), into a number; *p
 * is left at the first byte that is not one. */
uint64_t fmt_scan_hex(const char **p, const char *end);
/* Human size: "512 B", "1.5 KiB", "200.0 MiB". */
void fmt_size(fmt_t *f, uint64_t bytes);
/* fmt_size, followed by the exact " (N B)" when other would read the same: two figures
 * compared in one message never look equal when they are not. */
void fmt_size_apart(fmt_t *f, uint64_t bytes, uint64_t other);
/* A log path pattern with %p = pid, %e = exe_name, %% = '%' (ALLOCGUARD_LOG): the one
 * expansion, for the preload naming its log and the CLI finding it. */
void fmt_pattern(fmt_t *f, const char *pat, uint64_t pid, const char *exe_name);

/* Read a small file (/proc, /sys) into buf, NUL-terminated, up to cap - 1 bytes; returns
 * the length, or -1 when it cannot be opened or read.  errno preserved. */
ssize_t fmt_read_file(const char *path, char *buf, size_t cap);
/* Write all of buf to fd, retrying on EINTR and short writes; errno preserved. */
int fmt_write_all(int fd, const char *buf, size_t len);
/* Write "allocguard: <msg>\n" to stderr in one write(2); errno preserved. */
void fmt_say(const char *msg);
/* Note what descriptor 2 is (start-up); fmt_say then writes only while it is still that
 * file (a daemon that closed stderr and opened its data file there gets nothing). */
void fmt_say_init(void);
/* From now on fmt_stderr_ours answers without a system call (a seccomp filter is going in):
 * as it answers now when check, else "ours". */
void fmt_stderr_freeze(bool check);
/* fmt_say of before, what and after joined (what is a path or a name), cut to 8 KiB. */
void fmt_say3(const char *before, const char *what, const char *after);

#endif
