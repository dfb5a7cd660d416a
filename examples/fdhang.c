/* fdhang.c: descriptor calls that never return normally, or are refused, and the program
 * must still go on and exit as it does bare.  A TCP socket to ourselves with SO_LINGER and
 * unsent data makes close() block (the peer never reads).
 * Usage: fdhang MODE [SECONDS]
 *   cancel   a thread blocked in close() is cancelled
 *   jump     a signal handler siglongjmps out of a blocked close()
 *   linger   a thread blocks in close() (SECONDS of linger) while main exits
 *   badfd    dup2(fd, -1), dup3(fd, -1, 0), close_range(10, 5, 0) answer as libc does
 * Then allocates and closes more (so the guard snapshots and uses descriptors) and prints
 * "ok MODE". */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int linger_s = 30;
static sigjmp_buf back;
static volatile sig_atomic_t in_close;

/* A connected TCP socket whose close() blocks: SO_LINGER and a full send buffer. */
static int lingering_socket(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		exit(3);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a))
		exit(3);
	int peer = accept(l, NULL, NULL);   /* kept open, never read */
	if (peer < 0)
		exit(3);
	int small = 4096;
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	struct linger lg = { 1, linger_s };
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	int fl = fcntl(c, F_GETFL);
	fcntl(c, F_SETFL, fl | O_NONBLOCK);
	static char chunk[65536];
	while (write(c, chunk, sizeof chunk) > 0)
		;
	fcntl(c, F_SETFL, fl);
	return c;
}

static void *closer(void *arg)
{
	close((int)(long)arg);   /* blocks for the linger time */
	return NULL;
}

static void on_alarm(int sig)
{
	if (in_close)
		siglongjmp(back, 1);
}

/* In a thread of its own, so the thread that exits later was never inside close. */
static void *jumper(void *arg)
{
	if (sigsetjmp(back, 1) == 0) {
		in_close = 1;
		close((int)(long)arg);
	}
	in_close = 0;
	return NULL;
}

/* Allocations, snapshots (the writer opens nothing on a timer but must not wait on us) and
 * the program's own descriptor calls after the stuck one. */
static void carry_on(void)
{
	for (int i = 0; i < 50; i++) {
		free(malloc(1000 + (size_t)i));
		int fd = open("/dev/null", O_RDONLY);
		int d = dup(fd);
		dup2(fd, d);
		close(d);
		close(fd);
		struct timespec ts = { 0, 4 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static int bad_descriptors(void)
{
	int fd = open("/dev/null", O_RDONLY);
	errno = 0;
	if (dup2(fd, -1) != -1 || errno != EBADF)
		return printf("dup2(fd, -1): errno %d\n", errno), 1;
	errno = 0;
	if (dup3(fd, -1, 0) != -1 || errno != EBADF)
		return printf("dup3(fd, -1, 0): errno %d\n", errno), 1;
	errno = 0;
	if (close_range(10, 5, 0) != -1 || errno != EINVAL)
		return printf("close_range(10, 5, 0): errno %d\n", errno), 1;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "cancel";
	if (argc > 2)
		linger_s = atoi(argv[2]);
	free(malloc(100));
	if (!strcmp(mode, "badfd")) {
		if (bad_descriptors())
			return 1;
	} else if (!strcmp(mode, "cancel") || !strcmp(mode, "linger")) {
		pthread_t t;
		pthread_create(&t, NULL, closer, (void *)(long)lingering_socket());
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);   /* let it block */
		if (!strcmp(mode, "linger")) {
			carry_on();
			printf("ok %s\n", mode);
			fflush(stdout);
			exit(0);        /* while the other thread still lingers */
		}
		pthread_cancel(t);
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "jump")) {
		struct sigaction sa = { .sa_handler = on_alarm };
		sigaction(SIGALRM, &sa, NULL);
		pthread_t t;
		pthread_create(&t, NULL, jumper, (void *)(long)lingering_socket());
		while (!in_close)
			sched_yield();
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);   /* let it block */
		pthread_kill(t, SIGALRM);
		pthread_join(t, NULL);
	} else {
		return 2;
	}
	carry_on();
	printf("ok %s\n", mode);
	return 0;
}
