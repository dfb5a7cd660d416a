/* deep_twice.c: one leak reached from main by two call paths that differ only beyond the
 * three frames a report shows (main calls b from two lines): one site to a human, two
 * stacks in the log.  Leaks 10 blocks of 100 bytes. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void leak(void)
{
	char *p = malloc(100);
	memset(p, 0x5a, 100);   /* no pointer left: lost */
}

__attribute__((noinline)) static void a(void)
{
	leak();
}

__attribute__((noinline)) static void b(void)
{
	a();
}

int main(void)
{
	for (int i = 0; i < 5; i++)
		b();
	for (int i = 0; i < 5; i++)
		b();
	return 0;
}
