/* scan_child.c: a program that loses a 4 KiB block and keeps a 1 KiB one, then exits, for
 * the exit scan in a copy-on-write child (preload/scanchild.c).
 * Usage: scan_child [MODE]
 *   plain     nothing more
 *   noclone   clone fails with EPERM: the scan must run in the process itself
 *   noclone-r15  the same, while a spinning thread holds a block of 1337 bytes only in its
 *             register r15: stopped (twice: the scan lets it go to copy the block table
 *             when no child was made), its registers a root, the block reachable
 *   killscan  process_vm_readv of any process but this one kills: the scanner child, which
 *             reads its own copy of memory, is killed; the program is not
 * The filters go in through a raw syscall instruction, as a guard cannot see them (a
 * filter it sees turns the scan off).  Prints "exiting PID" last. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(action) BPF_STMT(BPF_RET | BPF_K, (action))

static void *kept;

/* A system call the guard's hooks cannot see (libc's syscall() and prctl() they can). */
static long raw3(long n, long a, long b, long c)
{
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static void lose(void)
{
	void *volatile p = malloc(4096);
	memset(p, 1, 4096);
	p = NULL;
}

static volatile int ready;

/* malloc(1337) into r15, then spin: no copy of it in memory (the stack below is zeroed). */
__attribute__((noinline)) static void zero_stack(void)
{
	volatile long buf[64 * 1024];
	for (size_t i = 0; i < sizeof buf / sizeof *buf; i++)
		buf[i] = 0;
}

static void *in_r15(void *arg)
{
	__asm__ volatile("mov $1337, %%edi\n\tcall malloc@PLT\n\tmov %%rax, %%r15"
			 : : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			   "memory");
	zero_stack();
	ready = 1;
	for (;;)
		__asm__ volatile("pause" : : : "r15");
	return arg;
}

static int filter(const char *mode)
{
	struct sock_filter noclone[] = {
		LOAD(nr),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		RET(SECCOMP_RET_ERRNO | EPERM),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_filter killscan[] = {
		LOAD(nr),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 3),
		LOAD(args[0]),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)getpid(), 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		RET(SECCOMP_RET_ALLOW),
	};
	int kill = strcmp(mode, "killscan") == 0;
	if (strcmp(mode, "noclone-r15") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, in_r15, NULL) != 0)
			return 2;
		while (!ready)
			sched_yield();
	}
	struct sock_fprog prog = {
		.len = (unsigned short)(kill ? sizeof killscan / sizeof *killscan
					     : sizeof noclone / sizeof *noclone),
		.filter = kill ? killscan : noclone,
	};
	if (raw3(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0) != 0 ||
	    raw3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog) != 0) {
		fprintf(stderr, "scan_child: the filter did not go in\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "plain";
	lose();
	kept = malloc(1024);
	if (strcmp(mode, "plain") != 0 && filter(mode) != 0)
		return 2;
	printf("exiting %d\n", (int)getpid());
	return 0;
}
