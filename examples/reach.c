/* reach.c: leaks whose reachability takes a real scan to decide, for the exit snapshot's
 * lost/reachable split: a list reachable only through its global head, a dropped list whose
 * nodes still point to each other (all lost, as valgrind's definitely + indirectly lost), a
 * block held only by thread-local storage, and one held only on a live thread's stack.
 * Prints lines like leaks.c: expect FUNC lost_bytes=N lost_count=N reachable_bytes=N ... */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL 0x5a

struct node {
	struct node *next;
	char pad[24];
};

static struct node *keep_head;
static __thread void *keep_tls_ptr;
static volatile int sink;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int parked;

static void expect(const char *fn, size_t lb, size_t lc, size_t rb, size_t rc)
{
	printf("expect %s lost_bytes=%zu lost_count=%zu reachable_bytes=%zu reachable_count=%zu\n",
	       fn, lb, lc, rb, rc);
}

static void clobber_stack(void)
{
	volatile char pad[256 * 1024];
	memset((char *)pad, 0, sizeof pad);
	sink = pad[100];
}

static void keep_list(void)
{
	for (int i = 0; i < 5; i++) {
		struct node *n = malloc(sizeof *n);
		memset(n->pad, FILL, sizeof n->pad);
		n->next = keep_head;
		keep_head = n;
	}
	expect("keep_list", 0, 0, 5 * sizeof(struct node), 5);
}

static void leak_list(void)
{
	struct node *head = NULL;
	for (int i = 0; i < 4; i++) {
		struct node *n = malloc(sizeof *n);
		memset(n->pad, FILL, sizeof n->pad);
		n->next = head;
		head = n;
	}
	head = NULL;
	expect("leak_list", 4 * sizeof(struct node), 4, 0, 0);
}

static void keep_tls(void)
{
	keep_tls_ptr = malloc(777);
	memset(keep_tls_ptr, FILL, 777);
	expect("keep_tls", 0, 0, 777, 1);
}

static void *keep_on_stack_thread(void *arg)
{
	/* The only pointer to this block lives in this frame, and the thread is still parked
	 * here when the process exits. */
	void *volatile mine = malloc(1234);
	memset(mine, FILL, 1234);
	pthread_mutex_lock(&mu);
	parked = 1;
	pthread_cond_broadcast(&cv);
	for (;;)
		pthread_cond_wait(&cv, &mu);
	return mine;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	keep_list();
	leak_list();
	keep_tls();
	pthread_t t;
	pthread_create(&t, NULL, keep_on_stack_thread, NULL);
	pthread_mutex_lock(&mu);
	while (!parked)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	expect("keep_on_stack_thread", 0, 0, 1234, 1);
	clobber_stack();
	printf("done\n");
	return 0;
}
