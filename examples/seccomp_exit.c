/* seccomp_exit.c: a program that loses a 4 KiB block, then installs a seccomp filter on its
 * main thread and exits.  The guard must not be the reason it is killed, trapped or judged
 * wrongly: with a filter in force, lost and reachable are unknown, never "reachable".
 * Usage: seccomp_exit MODE [raw]
 *   kill       process_vm_readv kills the process
 *   eperm      process_vm_readv fails with EPERM
 *   trap       process_vm_readv, mincore and openat raise SIGSYS; the program's handler
 *              says "SIGSYS" on stderr each time it runs
 *   allowlist  an OpenSSH-style sandbox: read, write, writev, close, exits, futex, brk,
 *              mmap, munmap, mremap, madvise, clock_gettime, gettimeofday, nanosleep,
 *              getpid, gettid, getrandom, rt_sigprocmask and rt_sigreturn are allowed;
 *              anything else kills (openat, fstat, mincore, process_vm_readv, clone...)
 * With "raw" the filter goes in through syscall(SYS_seccomp) (as libseccomp does), else
 * through prctl.  Prints "filtered" once the filter is in. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define IS(nr, action) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (action))
#define ALLOW(nr) IS(nr, SECCOMP_RET_ALLOW)

static void on_sigsys(int sig)
{
	static const char msg[] = "SIGSYS\n";
	write(2, msg, sizeof msg - 1);
}

static void *lost_block(void)
{
	void *volatile p = malloc(4096);
	memset(p, 1, 4096);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "kill";
	int raw = argc > 2 && strcmp(argv[2], "raw") == 0;
	lost_block();
	struct sock_filter one[] = {
		LOAD_NR,
		IS(__NR_process_vm_readv, strcmp(mode, "eperm") == 0 ? SECCOMP_RET_ERRNO | EPERM
				       : strcmp(mode, "trap") == 0 ? SECCOMP_RET_TRAP
								    : SECCOMP_RET_KILL_PROCESS),
		IS(__NR_mincore, strcmp(mode, "trap") == 0 ? SECCOMP_RET_TRAP : SECCOMP_RET_ALLOW),
		IS(__NR_openat, strcmp(mode, "trap") == 0 ? SECCOMP_RET_TRAP : SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter allow[] = {
		LOAD_NR,
		ALLOW(__NR_read), ALLOW(__NR_write), ALLOW(__NR_exit), ALLOW(__NR_exit_group),
		ALLOW(__NR_futex), ALLOW(__NR_brk), ALLOW(__NR_mmap), ALLOW(__NR_munmap),
		ALLOW(__NR_madvise), ALLOW(__NR_clock_gettime), ALLOW(__NR_getpid),
		ALLOW(__NR_gettid), ALLOW(__NR_rt_sigreturn), ALLOW(__NR_writev), ALLOW(__NR_close),
		ALLOW(__NR_mremap), ALLOW(__NR_gettimeofday), ALLOW(__NR_nanosleep),
		ALLOW(__NR_getrandom), ALLOW(__NR_rt_sigprocmask),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	int is_allow = strcmp(mode, "allowlist") == 0;
	struct sock_fprog prog = {
		.len = (unsigned short)(is_allow ? sizeof allow / sizeof *allow : sizeof one / sizeof *one),
		.filter = is_allow ? allow : one,
	};
	if (strcmp(mode, "trap") == 0)
		signal(SIGSYS, on_sigsys);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("seccomp_exit: PR_SET_NO_NEW_PRIVS");
		return 2;
	}
	int rc = raw ? (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)
		     : prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	if (rc != 0) {
		perror("seccomp_exit: seccomp");
		return 2;
	}
	static const char msg[] = "filtered\n";
	write(1, msg, sizeof msg - 1);
	return 0;
}
