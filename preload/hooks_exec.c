/* hooks_exec.c: the calls that end the program's image: the exec family (exec.c writes
 * the snapshot before the image goes) and exit (writer.c: a second thread's exit must not
 * end the process in the middle of the exit snapshot).  Each is passed on to libc's. */
#include "exec.h"
#include "hooks.h"
#include "writer.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

/* The exec family: glibc's execv* and execl* call execve internally, not through the PLT,
 * so each one is hooked.  The l forms gather their arguments and go through the v forms. */
typedef int (*exec_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexec_fn)(int, char *const[], char *const[]);
typedef int (*execat_fn)(int, const char *, char *const[], char *const[], int);

/* libc's definition of name, called after the snapshot (exec.h). */
#define CALL_NEXT(type, name, ...) do { \
		static void *fn; \
		type real = (type)hooks_next(name, &fn); \
		if (!real) { \
			errno = ENOSYS; \
			return -1; \
		} \
		exec_prepare(); \
		return real(__VA_ARGS__); \
	} while (0)

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	CALL_NEXT(exec_fn, "execve", path, argv, envp);
}
LOCAL_ALIAS(execve);

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	CALL_NEXT(exec_fn, "execvpe", file, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	CALL_NEXT(execv_fn, "execv", path, argv);
}
LOCAL_ALIAS(execv);

EXPORT int execvp(const char *file, char *const argv[])
{
	CALL_NEXT(execv_fn, "execvp", file, argv);
}
LOCAL_ALIAS(execvp);

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	CALL_NEXT(fexec_fn, "fexecve", fd, argv, envp);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		    int flags)
{
	CALL_NEXT(execat_fn, "execveat", dirfd, path, argv, envp, flags);
}

/* argv of an execl-style call: arg and the variadic arguments up to NULL; with env, the
 * pointer after the NULL is stored there. */
#define GATHER_ARGS(arg, argv, env) \
	size_t n_ = 1; \
	va_list ap_; \
	va_start(ap_, arg); \
	while (va_arg(ap_, char *)) \
		n_++; \
	va_end(ap_); \
	char *argv[n_ + 1]; \
	argv[0] = (char *)arg; \
	va_start(ap_, arg); \
	for (size_t i_ = 1; i_ <= n_; i_++) \
		argv[i_] = va_arg(ap_, char *); \
	env = va_arg(ap_, char *const *); \
	va_end(ap_)

EXPORT int execl(const char *path, const char *arg, ...)
{
	char *const *unused;
	GATHER_ARGS(arg, argv, unused);
	(void)unused;
	return local_execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *const *unused;
	GATHER_ARGS(arg, argv, unused);
	(void)unused;
	return local_execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	GATHER_ARGS(arg, argv, envp);
	return local_execve(path, argv, envp);
}

/* exit() from a second thread while the first is ending the process would end it in the
 * middle of the exit snapshot (writer.c). */
EXPORT void exit(int status)
{
	static void *fn;
	void (*real)(int) = (void (*)(int))hooks_next("exit", &fn);
	writer_exit_called();
	if (real)
		real(status);
	_exit(status);
}
