/* forker.c: fork and exec from a busy multi-threaded process, the classic way to deadlock
 * an allocator hook.  Allocator threads churn the heap while forker threads fork children
 * that allocate and exit(0), fork+exec this program ("forker child") or /bin/true, or
 * posix_spawn this program (a vfork-style child sharing the parent's memory until exec).
 * Usage: forker [ALLOC_THREADS [FORK_THREADS [FORKS_EACH]]] (default 3 2 12).
 * Prints "child PID kind status" per child, then "children=N normal=N". */
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXCHILD 4096

extern char **environ;
static atomic_int stop;
static char self[4096];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pid_t pid;
	const char *kind;
	int status;
} kids[MAXCHILD];
static int nkids;

/* What a child does: real allocation work, a few blocks left live, then a normal exit. */
static int child_work(void)
{
	void *keep[64];
	size_t sum = 0;
	for (int i = 0; i < 2000; i++) {
		char *p = malloc((size_t)(16 + i % 900));
		p[0] = (char)i;
		sum += (unsigned char)p[0];
		if (i < 64)
			keep[i] = p;
		else
			free(p);
	}
	char *q = NULL;
	for (int i = 1; i <= 20; i++)
		q = realloc(q, (size_t)i * 1000);
	free(q);
	for (int i = 8; i < 64; i++)
		free(keep[i]);
	return sum ? 0 : 1;
}

static void *alloc_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	void *slot[256] = { 0 };
	while (!atomic_load(&stop)) {
		seed = seed * 1103515245u + 12345u;
		int i = (int)(seed >> 8) % 256;
		free(slot[i]);
		slot[i] = malloc(8 + (seed >> 12) % 4096);
		if (seed % 7 == 0) {
			void *r = realloc(slot[i], 8 + (seed >> 4) % 20000);
			if (r)
				slot[i] = r;
		}
	}
	for (int i = 0; i < 256; i++)
		free(slot[i]);
	return NULL;
}

static void record(pid_t pid, const char *kind, int status)
{
	pthread_mutex_lock(&lock);
	if (nkids < MAXCHILD) {
		kids[nkids].pid = pid;
		kids[nkids].kind = kind;
		kids[nkids].status = status;
		nkids++;
	}
	pthread_mutex_unlock(&lock);
}

static void *fork_thread(void *arg)
{
	int n = (int)(intptr_t)arg;
	for (int i = 0; i < n; i++) {
		int kind = i % 4;
		const char *name = kind == 0 ? "fork" : kind == 1 ? "exec-self" :
				   kind == 2 ? "exec-true" : "spawn-self";
		pid_t pid;
		if (kind == 3) {
			char *args[] = { self, "child", NULL };
			int rc = posix_spawn(&pid, self, NULL, NULL, args, environ);
			if (rc) {
				fprintf(stderr, "posix_spawn: %s\n", strerror(rc));
				continue;
			}
			int st = 0;
			while (waitpid(pid, &st, 0) < 0)
				;
			record(pid, name, st);
			continue;
		}
		pid = fork();
		if (pid < 0) {
			perror("fork");
			continue;
		}
		if (pid == 0) {
			if (kind == 0)
				exit(child_work());
			/* Allocate between fork and exec too: the child inherits whatever state
			 * the other threads' hooks were in. */
			char *argv0 = strdup(self);
			if (kind == 1)
				execl(argv0, argv0, "child", (char *)NULL);
			else
				execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int st = 0;
		while (waitpid(pid, &st, 0) < 0)
			;
		record(pid, name, st);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "child"))
		return child_work();
	int na = argc > 1 ? atoi(argv[1]) : 3;
	int nf = argc > 2 ? atoi(argv[2]) : 2;
	int each = argc > 3 ? atoi(argv[3]) : 12;
	ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
	if (l <= 0)
		return 1;
	self[l] = 0;
	/* Nothing buffered that a child's exit() would print a second time. */
	setvbuf(stdout, NULL, _IONBF, 0);

	pthread_t at[64], ft[64];
	for (int i = 0; i < na && i < 64; i++)
		pthread_create(&at[i], NULL, alloc_thread, (void *)(uintptr_t)(i * 7919 + 1));
	for (int i = 0; i < nf && i < 64; i++)
		pthread_create(&ft[i], NULL, fork_thread, (void *)(intptr_t)each);
	for (int i = 0; i < nf && i < 64; i++)
		pthread_join(ft[i], NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < na && i < 64; i++)
		pthread_join(at[i], NULL);

	int normal = 0;
	for (int i = 0; i < nkids; i++) {
		int ok = WIFEXITED(kids[i].status) && WEXITSTATUS(kids[i].status) == 0;
		normal += ok;
		printf("child %d %s %s\n", (int)kids[i].pid, kids[i].kind,
		       ok ? "ok" : WIFSIGNALED(kids[i].status) ? "signaled" : "failed");
	}
	printf("children=%d normal=%d\n", nkids, normal);
	return normal == nkids ? 0 : 1;
}
