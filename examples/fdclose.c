/* fdclose.c: a daemon-style program that closes every descriptor above stderr after start-up
 * (as daemons and some shells do), then opens its own pipe and files, which get the lowest
 * free descriptors (the numbers a guard's own descriptors had), and uses them while threads
 * allocate.  Allocations also come through a frame without unwind info, as from JIT code,
 * which makes libunwind validate addresses (through a pipe of its own in libunwind 1.6).
 * An allocation guard must never read, write or close the program's descriptors.
 * It closes with a loop, close_range and closefrom, and dup2s onto high numbers.
 * Usage: fdclose FILE [ROUNDS].  Prints "wrote=N pipe_ok=N"; FILE must hold exactly the
 * program's lines, and FILE.2 the same. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* call_without_cfi(fn, arg): calls fn(arg) from a frame-pointer frame that has no unwind
 * information at all (no .cfi directives), the way JIT-compiled code looks to an unwinder. */
void call_without_cfi(void (*fn)(void *), void *arg);
__asm__(".text\n"
	".globl call_without_cfi\n"
	".type call_without_cfi, @function\n"
	"call_without_cfi:\n"
	"	pushq %rbp\n"
	"	movq %rsp, %rbp\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	call *%rax\n"
	"	popq %rbp\n"
	"	ret\n"
	".size call_without_cfi, .-call_without_cfi\n");

static void churn(void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		char *p = malloc((size_t)(16 + i % 200));
		if (p)
			p[0] = (char)i;
		free(p);
	}
}

static volatile int stop;

static void *allocator(void *arg)
{
	int n = 50;
	while (!stop)
		call_without_cfi(churn, &n);
	return NULL;
}

static int open_out(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	void *early[100];
	for (int i = 0; i < 100; i++)
		early[i] = malloc(100 + i);
	int n = 100;
	call_without_cfi(churn, &n);   /* validation has happened before the close */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	close_range(3, ~0u, 0);   /* and the modern way */
	closefrom(3);
	int p[2];
	if (pipe(p) != 0)
		return 1;
	char second[4096];
	snprintf(second, sizeof second, "%s.2", argv[1]);
	int fd = open_out(argv[1]), fd2 = open_out(second);
	if (fd < 0 || fd2 < 0)
		return 1;
	/* Numbers of its own choosing, high ones too, as shells and daemons pick. */
	if (dup2(fd2, 1000) != 1000 || dup2(fd2, 1001) != 1001)
		return 1;
	close(fd2);
	close(1001);
	fd2 = 1000;
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, allocator, NULL);
	size_t wrote = 0;
	int pipe_ok = 0;
	for (int round = 0; round < rounds; round++) {
		char line[64];
		int len = snprintf(line, sizeof line, "program line %d\n", round);
		wrote += (size_t)write(fd, line, (size_t)len);
		if (write(fd2, line, (size_t)len) != len)
			printf("short write to %s\n", second);
		/* The pipe's bytes must come back whole and in order. */
		unsigned char out[256], in[256];
		for (int i = 0; i < 256; i++)
			out[i] = (unsigned char)(i + round);
		if (write(p[1], out, sizeof out) != (ssize_t)sizeof out)
			printf("short pipe write\n");
		size_t got = 0;
		while (got < sizeof in) {
			ssize_t r = read(p[0], in + got, sizeof in - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		pipe_ok += got == sizeof in && memcmp(in, out, sizeof in) == 0;
		for (int i = 0; i < 1000; i++)
			free(malloc((size_t)(16 + i)));
		call_without_cfi(churn, &n);
		if (round == 10)
			kill(getpid(), SIGUSR2);
		usleep(20 * 1000);
	}
	stop = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 100; i++)
		free(early[i]);
	printf("wrote=%zu pipe_ok=%d fd=%d\n", wrote, pipe_ok, fd);
	return 0;
}
