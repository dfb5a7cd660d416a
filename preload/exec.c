/* exec.c: the final snapshot before an exec (see exec.h). */
#include "exec.h"
#include "logwrite.h"
#include "state.h"
#include "sys.h"
#include "writer.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

void exec_prepare(void)
{
	int saved = errno;
	/* A vfork child runs on the parent's memory with its own pid: no state may change. */
	if (ag_ready() && (pid_t)sys_syscall(SYS_getpid) == ag_pid && ag_guard_enter()) {
		logwrite_exec();
		ag_guard_leave();
	}
	errno = saved;
}
