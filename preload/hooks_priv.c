/* hooks_priv.c: what the program gives up.  Before a privilege drop (the setuid family,
 * chroot) or a seccomp filter, the log is created and held open while that is still
 * allowed (logwrite.c); a filter installed is noted so that the exit path makes no system
 * call it could punish (sandbox.h).  The real calls are glibc's, which apply a uid change
 * to every thread; syscall(SYS_seccomp, ...) arrives here from the syscall(2) entry
 * (unwindshim.c). */
#include "arch.h"
#include "hooks.h"
#include "logwrite.h"
#include "sandbox.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <unistd.h>

static void before_drop(void)
{
	if (ag_ready() && !ag_hook.in)
		logwrite_create();
}

#define DROP_HOOK(name, params, args)                                   \
	EXPORT int name params                                          \
	{                                                               \
		static void *fn;                                        \
		before_drop();                                          \
		int (*real) params = (int (*) params)hooks_next(#name, &fn); \
		if (!real) {                                            \
			errno = ENOSYS;                                 \
			return -1;                                      \
		}                                                       \
		return real args;                                       \
	}

DROP_HOOK(setuid, (uid_t uid), (uid))
DROP_HOOK(seteuid, (uid_t uid), (uid))
DROP_HOOK(setreuid, (uid_t r, uid_t e), (r, e))
DROP_HOOK(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))
DROP_HOOK(chroot, (const char *path), (path))

/* Seccomp: both calls are passed on unchanged.  prctl(PR_SET_SECCOMP, ...): */
EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a[4];
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	static void *fn;
	int (*real)(int, ...) = (int (*)(int, ...))hooks_next("prctl", &fn);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (option == PR_SET_SECCOMP) {
		before_drop();   /* the log is created while opening files is still allowed */
		sandbox_before_filter();
	}
	int r = real(option, a[0], a[1], a[2], a[3]);
	if (option == PR_SET_SECCOMP && r == 0)
		sandbox_note_filter();   /* no system call: allowed even under strict mode */
	return r;
}

/* syscall(SYS_seccomp, ...), entered by a jump from the syscall(2) entry with the caller's
 * arguments in place (arch.h). */
long priv_seccomp_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	if (a1 == SECCOMP_SET_MODE_STRICT || a1 == SECCOMP_SET_MODE_FILTER) {
		before_drop();
		sandbox_before_filter();
	}
	long r = arch_syscall6(n, a1, a2, a3, a4, a5, a6);
	if (r < 0 && r >= -4095) {
		errno = (int)-r;
		return -1;
	}
	if (a1 == SECCOMP_SET_MODE_STRICT || a1 == SECCOMP_SET_MODE_FILTER)
		sandbox_note_filter();
	return r;
}
