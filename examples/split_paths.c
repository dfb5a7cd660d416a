/* split_paths.c: one allocation site reached by five call paths (a handler behind five
 * routes), each path holding less than a single-path site that holds more than any of
 * them: by site, the handler holds the most at the peak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP 1200

static void *kept[KEEP];
static size_t nkept;

__attribute__((noinline)) static void handler(size_t n)
{
	void *p = malloc(n);
	memset(p, 1, n);
	kept[nkept++] = p;
}

__attribute__((noinline)) static void route_users(void) { for (int i = 0; i < 30; i++) handler(10000); }
__attribute__((noinline)) static void route_items(void) { for (int i = 0; i < 30; i++) handler(10000); }
__attribute__((noinline)) static void route_cart(void) { for (int i = 0; i < 30; i++) handler(10000); }
__attribute__((noinline)) static void route_search(void) { for (int i = 0; i < 30; i++) handler(10000); }
__attribute__((noinline)) static void route_login(void) { for (int i = 0; i < 30; i++) handler(10000); }

__attribute__((noinline)) static void big_single(void)
{
	for (int i = 0; i < 50; i++) {
		void *p = malloc(10000);
		memset(p, 2, 10000);
		kept[nkept++] = p;
	}
}

int main(void)
{
	big_single();
	route_users();
	route_items();
	route_cart();
	route_search();
	route_login();
	size_t n = nkept;
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	printf("%zu\n", n);
	return 0;
}
