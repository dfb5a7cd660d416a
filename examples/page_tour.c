/* page_tour.c: a program with one of each thing the page shows (plot -o FILE.html):
 * cache_put called from two places, one a working set that rises and falls (with noise),
 * the other a steady leak; an index grown by realloc that levels off; scratch buffers
 * freed at once (many calls, nothing held); a configuration kept from the start.
 * Usage: page_tour [TICKS] (default 400, 5 ms each).  Prints what it holds at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKING_MAX 400

static void *working[WORKING_MAX];
static size_t nworking;
static char **index_rows;
static size_t index_len;

__attribute__((noinline)) static void *cache_put(size_t n)
{
	void *p = malloc(n);
	memset(p, 1, n);
	return p;
}

/* The working set: towards a level that rises and falls, with random noise. */
__attribute__((noinline)) static void working_tick(unsigned *seed, int t)
{
	int phase = t % 160, level = (phase < 80 ? phase : 160 - phase) * 4;
	size_t target = (size_t)level + rand_r(seed) % 60;
	while (nworking < target && nworking < WORKING_MAX)
		working[nworking++] = cache_put(4096);
	while (nworking > target)
		free(working[--nworking]);
}

static void *leaked[4096];
static size_t nleaked;

__attribute__((noinline)) static void session_open(void)
{
	if (nleaked < 4096)
		leaked[nleaked++] = cache_put(2048);
}

/* Rows until 150, then the same size: it grows, then levels. */
__attribute__((noinline)) static void index_add(void)
{
	if (index_len >= 150)
		return;
	index_rows = realloc(index_rows, (index_len + 1) * 2048);
	index_len++;
}

__attribute__((noinline)) static void scratch(void)
{
	for (int i = 0; i < 50; i++) {
		char *s = malloc(256);
		s[0] = (char)i;
		free(s);
	}
}

__attribute__((noinline)) static char *load_config(void)
{
	char *c = malloc(64 * 1024);
	memset(c, 0, 64 * 1024);
	return c;
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 400;
	unsigned seed = 42;
	char *config = load_config();
	struct timespec tick = { 0, 5 * 1000 * 1000 };
	for (int t = 0; t < ticks; t++) {
		working_tick(&seed, t);
		session_open();
		index_add();
		scratch();
		nanosleep(&tick, NULL);
	}
	printf("working=%zu leaked=%zu index=%zu config=%d\n", nworking, nleaked, index_len,
	       config[0]);
	return 0;
}
