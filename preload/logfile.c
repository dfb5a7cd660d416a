/* logfile.c: the log's file, reserved at start-up and named when the log is created (see
 * logfile.h). */
#include "logfile.h"
#include "logbuf.h"
#include "fdguard.h"
#include "fmt.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

int logfile_reserve(const char *path)
{
	char dir[4200];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (!slash || n >= sizeof dir)
		return -1;
	memcpy(dir, path, n);
	dir[n ? n : 1] = '\0';
	if (!n)
		dir[0] = '/';
	int saved = errno;
	fdguard_begin();
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		fdguard_brief(fd);
		fd = fdguard_hold(fd);
	}
	fdguard_end();
	errno = saved;
	return fd;
}

static int name(int fd, const char *path)
{
	char proc[64];
	fmt_t f;
	fmt_init(&f, proc, sizeof proc);
	fmt_str(&f, "/proc/self/fd/");
	fmt_u64(&f, (uint64_t)fd);
	int saved = errno, rc = 0;
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0)
		rc = errno;
	errno = saved;
	return rc;
}

/* Whether the log at path was written by this process's image before an exec (same pid):
 * then taking the next name is expected and not worth a line.  Called inside fdguard's
 * brief-descriptor section (log_fd). */
bool logfile_earlier_image(logbuf_t *lb, const char *path, uint64_t self)
{
	char head[256], raw[1024];   /* gzip: 1 KB inflates to far more than the P line */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	fdguard_brief(fd);
	ssize_t n = sys_read(fd, raw, sizeof raw);
	fdguard_brief_close(fd);
	if (n <= 0)
		return false;
	if (logbuf_is_gz(raw, (size_t)n)) {
		n = (ssize_t)logbuf_gunzip_head(lb, raw, (size_t)n, head, sizeof head - 1);
	} else {
		n = n < (ssize_t)sizeof head ? n : (ssize_t)sizeof head - 1;
		memcpy(head, raw, (size_t)n);
	}
	head[n] = '\0';
	const char *p = strstr(head, "\nP ");
	uint64_t pid = 0;
	for (p = p ? p + 3 : NULL; p && *p >= '0' && *p <= '9'; p++)
		pid = pid * 10 + (uint64_t)(*p - '0');
	return pid && pid == self;
}

/* The log created at path: the reserved unnamed file given the name, else a new file; -1
 * with errno (EEXIST or ELOOP: the name is taken, try the next). */
int logfile_create_at(const char *path, bool *reserved)
{
	if (*reserved) {
		int fd = fdguard_held(), rc = name(fd, path);
		if (rc == 0) {
			*reserved = false;
			return fd;
		}
		if (rc == EEXIST) {
			errno = rc;
			return -1;
		}
		*reserved = false;   /* no /proc, or a file system without links: by name */
		fdguard_forget();
		fdguard_brief_close(fd);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_APPEND, 0600);
	if (fd >= 0)
		fdguard_brief(fd);
	return fd;
}
