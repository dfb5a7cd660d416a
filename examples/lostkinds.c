/* lostkinds.c: one planted case of each kind the exit scan must judge as memcheck does.
 * Usage: lostkinds CASE [ARG].  Prints "expect lost_bytes=N lost_count=N indirect_bytes=N
 * indirect_count=N map_lost_bytes=N" (heap figures as valgrind's definitely + indirectly lost;
 * map_lost_bytes for anonymous mappings, which memcheck does not judge).
 *   top N         a lost malloc(N), the last block before glibc's top chunk (N mod 16 in
 *                 1..8 puts the arena's top pointer inside the block's requested bytes)
 *   top_thread N  the same in a second thread's arena
 *   dlclose LIB   a library (built by the test) keeps a block in its own global; the
 *                 library is then dlclose'd, so nothing points to the block any more
 *   reg           a block held only in a callee-saved register when exit() is called
 *   fiber         exit() from a ucontext fiber running on a malloc'd stack, a block held only
 *                 in the fiber's frame (the program's frame the scan starts from is there)
 *   mapping       an anonymous mapping every pointer to was dropped (and one kept); a
 *                 reservation whose base is kept, with a page committed in its middle (as
 *                 JVMs do: kept), and one whose every pointer was dropped (lost)
 *   maphold       a block whose only pointer lies in a mapping every pointer to was dropped
 *                 (memcheck scans all mapped memory as roots; the guard judges the mapping)
 *   chain         a dropped list, a dropped cycle and a dropped tree: direct + indirect
 *   mprotect      a block whose middle page is mprotect'd PROT_NONE at exit: a pointer in
 *                 the readable part keeps its target, one in the protected page does not
 *   stale         big blocks freed with __libc_free, behind the hooks (as a RTLD_DEEPBIND
 *                 library does), one still pointed to: the guard's entries for them are stale
 *                 and their memory is unmapped; the exit scan must not fault */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define FILL 0x5a

static volatile int sink;
static void *keep_map;
static void *keep_block;

static void expect(size_t lb, size_t lc, size_t ib, size_t ic, size_t mb)
{
	printf("expect lost_bytes=%zu lost_count=%zu indirect_bytes=%zu indirect_count=%zu "
	       "map_lost_bytes=%zu\n", lb, lc, ib, ic, mb);
	fflush(stdout);
}

/* Dead frames below main may still hold the pointers the cases dropped. */
static void clobber_stack(void)
{
	volatile char pad[256 * 1024];
	memset((char *)pad, 0, sizeof pad);
	sink = pad[100];
}

static void *filled(size_t n)
{
	void *p = malloc(n);
	memset(p, FILL, n);
	return p;
}

static void drop_last(size_t n)
{
	void *volatile p = filled(n);
	p = NULL;
}

static void *top_thread(void *arg)
{
	drop_last((size_t)arg);
	clobber_stack();
	return NULL;
}

static int dlclose_case(const char *lib)
{
	void *h = dlopen(lib, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "lostkinds: %s\n", dlerror());
		return 2;
	}
	void (*leak)(size_t) = (void (*)(size_t))dlsym(h, "lib_keep");
	if (!leak)
		return 2;
	leak(5000);
	dlclose(h);
	expect(5000, 1, 0, 0, 0);
	return 0;
}

__attribute__((used, noinline)) void *lostkinds_reg_block(void)
{
	return filled(4096);
}

static void reg_case(void)
{
	expect(0, 0, 0, 0, 0);
	clobber_stack();
#if defined(__x86_64__)
	/* The block's only pointer goes to r12 (callee-saved) and stays there through exit():
	 * no C variable ever holds it, so no stack slot does either. */
	__asm__ volatile("call lostkinds_reg_block\n\t"
			 "mov %%rax, %%r12\n\t"
			 "xor %%eax, %%eax\n\t"
			 "xor %%edi, %%edi\n\t"
			 "call exit\n\t"
			 ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
			 "memory", "cc");
#endif
	exit(0);
}

static void *keep_reservation;

/* PROT_NONE reservation of 1 MiB with 64 KiB committed at offset 256 KiB, by MAP_FIXED or by
 * mprotect; returns the base. */
static char *reserve_and_commit(int by_mprotect)
{
	char *base = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	char *mid = base + (256 << 10);
	if (by_mprotect)
		mprotect(mid, 64 << 10, PROT_READ | PROT_WRITE);
	else
		mmap(mid, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		     -1, 0);
	memset(mid, FILL, 64 << 10);
	return base;
}

static ucontext_t fiber_ctx, main_ctx;

static void fiber_run(void)
{
	void *volatile held = filled(1000);
	expect(0, 0, 0, 0, 0);
	exit(held != NULL ? 0 : 1);
}

static void fiber_case(void)
{
	enum { STACK = 256 * 1024 };
	getcontext(&fiber_ctx);
	fiber_ctx.uc_stack.ss_sp = malloc(STACK);
	fiber_ctx.uc_stack.ss_size = STACK;
	fiber_ctx.uc_link = &main_ctx;
	makecontext(&fiber_ctx, fiber_run, 0);
	clobber_stack();
	swapcontext(&main_ctx, &fiber_ctx);
}

static void mapping_case(void)
{
	keep_reservation = reserve_and_commit(0);
	char *volatile dropped = reserve_and_commit(1);
	dropped = NULL;
	keep_map = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *volatile lost = mmap(NULL, 128 * 1024, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(keep_map, FILL, 64 * 1024);
	memset(lost, FILL, 128 * 1024);
	lost = NULL;
	expect(0, 0, 0, 0, 128 * 1024 + 64 * 1024);
}

static void maphold_case(void)
{
	void **volatile m = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[10] = filled(500);
	m = NULL;
	expect(500, 1, 500, 1, 64 * 1024);
}

struct node {
	struct node *next, *other;
	char pad[48];
};

static struct node *node(struct node *next)
{
	struct node *n = filled(sizeof *n);
	n->next = next;
	n->other = NULL;
	return n;
}

static void chain_case(void)
{
	struct node *volatile list = NULL;
	for (int i = 0; i < 4; i++)
		list = node(list);
	struct node *a = node(NULL), *b = node(a);
	a->next = b;                            /* a cycle: one direct, one indirect */
	struct node *volatile root = node(node(NULL));
	root->other = node(node(NULL));         /* a tree of four */
	list = root = NULL;
	a = b = NULL;
	size_t s = sizeof(struct node);
	expect(10 * s, 10, 7 * s, 7, 0);
}

static void mprotect_case(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *blk = malloc(4 * page);
	memset(blk, 0, 4 * page);
	char *mid = (char *)(((unsigned long)blk + page) & ~(page - 1));   /* a whole page */
	void *before = filled(300), *inside = filled(400), *after = filled(500);
	memcpy(blk, &before, sizeof before);
	memcpy(mid + 64, &inside, sizeof inside);
	memcpy(mid + page + 64, &after, sizeof after);
	before = inside = after = NULL;
	keep_block = blk;
	if (mprotect(mid, page, PROT_NONE) != 0)
		perror("mprotect");
	expect(400, 1, 0, 0, 0);
}

extern void __libc_free(void *);

static void *stale_kept;

static void stale_case(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = filled(50 << 20);
		__libc_free(p);
		if (i == 0)
			stale_kept = p;
	}
	expect(0, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IOFBF, 4096);
	printf("case %s\n", c);
	fflush(stdout);
	if (!strcmp(c, "top") && argc > 2) {
		size_t n = strtoul(argv[2], NULL, 0);
		expect(n, 1, 0, 0, 0);
		drop_last(n);
	} else if (!strcmp(c, "top_thread") && argc > 2) {
		size_t n = strtoul(argv[2], NULL, 0);
		expect(n, 1, 0, 0, 0);
		pthread_t t;
		pthread_create(&t, NULL, top_thread, (void *)n);
		pthread_join(t, NULL);
	} else if (!strcmp(c, "dlclose") && argc > 2) {
		if (dlclose_case(argv[2]))
			return 2;
	} else if (!strcmp(c, "reg")) {
		reg_case();
	} else if (!strcmp(c, "fiber")) {
		fiber_case();
	} else if (!strcmp(c, "mapping")) {
		mapping_case();
	} else if (!strcmp(c, "maphold")) {
		maphold_case();
	} else if (!strcmp(c, "chain")) {
		chain_case();
	} else if (!strcmp(c, "mprotect")) {
		mprotect_case();
	} else if (!strcmp(c, "stale")) {
		stale_case();
	} else {
		fprintf(stderr, "usage: lostkinds top N|top_thread N|dlclose LIB|reg|fiber|mapping|maphold|chain|"
			"mprotect|stale\n");
		return 2;
	}
	clobber_stack();
	return 0;
}
