/* jump_out_of_malloc.c: a timer's signal handler siglongjmps out of whatever the program is
 * doing, often the middle of malloc or free (undefined behaviour; real programs do it with
 * timeouts).  Afterwards the program keeps 64 MiB: its peak must show them.
 * Usage: jump_out_of_malloc [JUMPS].  Prints "jumps=N kept=64". */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static sigjmp_buf back;
static volatile sig_atomic_t armed;

static void on_alarm(int sig)
{
	if (armed)
		siglongjmp(back, 1);
}

int main(int argc, char **argv)
{
	int want = argc > 1 ? atoi(argv[1]) : 20;
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	static volatile int jumps;
	static void *volatile ring[4];
	if (sigsetjmp(back, 1))
		jumps++;
	armed = jumps < want;
	/* one small size, a few at a time: glibc's thread cache serves them in a few
	 * instructions, so bare the jumps almost never land inside glibc's own malloc */
	for (unsigned i = 0; armed; i++) {
		void *old = ring[i % 4];
		ring[i % 4] = NULL;
		free(old);   /* a block whose call a jump interrupts may leak: fine */
		ring[i % 4] = malloc(48);
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	static void *keep[64];
	for (int i = 0; i < 64; i++) {
		keep[i] = malloc(1 << 20);
		memset(keep[i], 1, 1 << 20);
	}
	printf("jumps=%d kept=64\n", jumps);
	return 0;
}
