/* lsan_threads.c: LeakSanitizer's thread scenarios (compiler-rt/test/lsan/TestCases) as a
 * plain program, for the exit scan's verdicts against LSan's and memcheck's.  One block of
 * 1337 bytes is held only where the mode says, while main exits:
 *   r15        a spinning thread's callee-saved register (its dead stack zeroed)
 *   xmm0       a spinning thread's vector register (its dead stack zeroed)
 *   stack      a thread blocked in a system call, on its stack
 *   tls        a sleeping thread's static TLS (__thread)
 *   tsd-spin   a __thread pointer of a thread that is running its thread-specific-data
 *              destructors (after the guard's own), spinning there
 *   tsd-sleep  the same, sleeping there
 *   dlsym      glibc's dlerror state of a detached thread inside its TSD destructors (the
 *              block is glibc's, its size not 1337)
 *   reused     a thread that never allocates, on the cached stack of an ended thread
 *              that did, holding it in a local
 *   blocks     a spinning thread that blocks every signal, holding it in a local (it
 *              cannot be stopped: its whole stack is scanned)
 *   lost       nowhere (the control: lost by every tool)
 * Every mode but lost leaves the block reachable.  Usage: lsan_threads MODE */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE 1337

static volatile int ready;
static void *volatile handoff;
static __thread void *tls_ptr;
static pthread_key_t key;

/* Overwrite the dead part of this thread's stack below the caller (stale copies), with no
 * call that could spill a callee-saved register below it (a lazily bound memset would). */
__attribute__((noinline)) static void zero_stack(void)
{
	volatile long buf[128 * 1024];
	for (size_t i = 0; i < sizeof buf / sizeof *buf; i++)
		buf[i] = 0;
}

static void spin(void)
{
	ready = 1;
	for (;;)
		__asm__ volatile("pause");
}

/* malloc(SIZE) into r15 in assembly: compiled code could keep a copy in its frame. */
#define MALLOC_TO_R15()                                                                   \
	__asm__ volatile("mov $1337, %%edi\n\tcall malloc@PLT\n\tmov %%rax, %%r15"          \
			 : : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",   \
			   "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
			   "memory")

static void *in_r15(void *arg)
{
	MALLOC_TO_R15();
	zero_stack();
	ready = 1;
	for (;;)
		__asm__ volatile("pause" : : : "r15");
	return arg;
}

static void *in_xmm0(void *arg)
{
	MALLOC_TO_R15();
	zero_stack();
	__asm__ volatile("movq %%r15, %%xmm0\n\txor %%r15d, %%r15d" : : : "r15", "xmm0");
	ready = 1;
	for (;;)
		__asm__ volatile("pause" : : : "xmm0");
	return arg;
}

static void *on_stack(void *arg)
{
	void *volatile p = malloc(SIZE);
	ready = 1;
	for (;;)
		pause();
	return p;
}

static void *in_tls(void *arg)
{
	tls_ptr = malloc(SIZE);
	ready = 1;
	for (;;)
		pause();
	return arg;
}

static void tsd_destructor(void *arg)
{
	/* the guard's own key destructor has run by now: the thread still lives */
	if (arg == (void *)1)
		spin();
	ready = 1;
	for (;;)
		pause();
}

static void *tsd_exit(void *arg)
{
	tls_ptr = malloc(SIZE);
	pthread_setspecific(key, arg);
	return NULL;
}

static void *dlsym_exit(void *arg)
{
	dlsym(RTLD_DEFAULT, "allocguard_no_such_symbol");   /* glibc keeps the error: a block */
	pthread_setspecific(key, (void *)2);
	return NULL;
}

static void *blocks_all(void *arg)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	void *volatile p = malloc(SIZE);
	spin();
	return p;
}

static void *allocates(void *arg)
{
	free(malloc(64));
	return arg;
}

static void *reuses(void *arg)
{
	void *volatile p = handoff;   /* no allocation of its own: the guard never saw it */
	handoff = NULL;
	ready = 1;
	for (;;)
		pause();
	return p;
}

static void start(void *(*fn)(void *), void *arg, int detached)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	if (detached)
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, fn, arg) != 0) {
		fprintf(stderr, "lsan_threads: pthread_create failed\n");
		exit(2);
	}
	pthread_attr_destroy(&a);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "r15";
	pthread_key_create(&key, tsd_destructor);
	if (strcmp(mode, "r15") == 0) {
		start(in_r15, NULL, 1);
	} else if (strcmp(mode, "xmm0") == 0) {
		start(in_xmm0, NULL, 1);
	} else if (strcmp(mode, "stack") == 0) {
		start(on_stack, NULL, 1);
	} else if (strcmp(mode, "tls") == 0) {
		start(in_tls, NULL, 1);
	} else if (strcmp(mode, "tsd-spin") == 0 || strcmp(mode, "tsd-sleep") == 0) {
		start(tsd_exit, (void *)(uintptr_t)(mode[4] == 's' && mode[5] == 'p' ? 1 : 2), 1);
	} else if (strcmp(mode, "dlsym") == 0) {
		start(dlsym_exit, NULL, 1);
	} else if (strcmp(mode, "reused") == 0) {
		pthread_t t;
		pthread_create(&t, NULL, allocates, NULL);
		pthread_join(t, NULL);   /* its stack goes to glibc's cache */
		handoff = malloc(SIZE);
		start(reuses, NULL, 1);
	} else if (strcmp(mode, "blocks") == 0) {
		start(blocks_all, NULL, 1);
	} else if (strcmp(mode, "lost") == 0) {
		void *volatile p = malloc(SIZE);
		p = NULL;
		zero_stack();
		ready = 1;
	} else {
		fprintf(stderr, "lsan_threads: unknown mode '%s'\n", mode);
		return 2;
	}
	while (!ready)
		sched_yield();
	usleep(20000);   /* the thread settles where the mode says */
	zero_stack();
	return 0;
}
