/* getattr_first.c: threads whose first call is pthread_getattr_np on themselves, as the JVM's
 * do (glibc holds the thread's lock while it reallocs inside it).  Usage: getattr_first
 * [THREADS].  Prints "threads=N ok" and exits 0 when every thread got its stack. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *run(void *arg)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return (void *)1;
	int bad = pthread_attr_getstack(&a, &lo, &size) != 0 || !size;
	pthread_attr_destroy(&a);
	free(malloc(64));
	return (void *)(long)bad;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 16, bad = 0;
	for (int i = 0; i < n; i++) {
		pthread_t t;
		void *r;
		if (pthread_create(&t, NULL, run, NULL) || pthread_join(t, &r))
			return 2;
		bad += r != NULL;
	}
	printf("threads=%d %s\n", n, bad ? "bad" : "ok");
	return bad != 0;
}
