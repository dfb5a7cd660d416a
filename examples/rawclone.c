/* rawclone.c: a child made with clone() (no CLONE_VM), which runs none of fork()'s
 * handlers: it allocates for a while and exits.  Its allocations, snapshots and log are its
 * own; the parent's log stays the parent's.  Prints "parent=PID child=PID". */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(void *arg)
{
	void *keep[64];
	for (int round = 0; round < 30; round++) {
		keep[round % 64] = malloc(4096);
		memset(keep[round % 64], 1, 4096);
		usleep(10 * 1000);
	}
	exit(0);   /* exit(), not a return: a clone child returning skips the destructors */
}

int main(void)
{
	void *mine = malloc(1000);
	static char stack[256 * 1024] __attribute__((aligned(16)));
	pid_t pid = clone(child, stack + sizeof stack, SIGCHLD, NULL);
	if (pid < 0) {
		perror("clone");
		return 1;
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 1;
	printf("parent=%d child=%d\n", (int)getpid(), (int)pid);
	free(mine);
	return 0;
}
