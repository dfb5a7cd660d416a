/* leak_loop.c: a request loop that leaks, for the exports and the plot: every tick
 * handle_request keeps a 16 KiB block it never frees (the leak: the most blocks, bytes,
 * allocations and live memory of the run), every 4th tick parse_header allocates and frees a
 * small buffer (churn), and load_config keeps one block for the whole run.  Usage:
 * leak_loop [TICKS] (5 ms each, default 200).  Prints the leaked total. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEAK_BLOCK 16384

static volatile unsigned sink;
static void *config;

static void load_config(void)
{
	config = malloc(40000);
	memset(config, 1, 40000);
}

static void parse_header(int tick)
{
	char *p = malloc(256);
	memset(p, tick, 256);
	sink += (unsigned char)p[tick % 256];
	free(p);
}

static void handle_request(int tick)
{
	char *p = malloc(LEAK_BLOCK);
	memset(p, 0x5a, LEAK_BLOCK);
	sink += (unsigned char)p[tick % LEAK_BLOCK];
	p = NULL;   /* forgotten: the leak */
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 200;
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	load_config();
	for (int t = 0; t < ticks; t++) {
		if (t % 4 == 0)
			parse_header(t);
		handle_request(t);
		nanosleep(&ts, NULL);
	}
	printf("leaked_bytes=%zu\n", (size_t)ticks * LEAK_BLOCK);
	return 0;
}
