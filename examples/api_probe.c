/* api_probe.c: every function of allocguard.h, as a test drives them.  Prints "key value"
 * lines: whether the guard is active, the usage, the levels the listener heard while the
 * program set a cap of 8 MiB at run time and climbed through warn and critical and back,
 * which labels were refused, and a leak check.
 *
 *   api_probe      (bare: everything answers "not active") */
#include <allocguard.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1024 * 1024)

static _Atomic int heard[32];
static _Atomic int nheard;
static _Atomic int in_malloc_free_ok = 1;

static void listener(int level, const allocguard_usage_t *u, void *arg)
{
	int n = atomic_fetch_add(&nheard, 1);
	if (n < 32)
		atomic_store(&heard[n], level);
	/* a listener may allocate and free: it is not called inside malloc */
	void *p = malloc(100);
	if (!p || u->level != level || arg != (void *)&nheard)
		atomic_store(&in_malloc_free_ok, 0);
	free(p);
}

/* Registered after the climb and fall: it must hear none of that history. */
static _Atomic int late_heard;
static void late_listener(int level, const allocguard_usage_t *u, void *arg)
{
	(void)level;
	(void)u;
	(void)arg;
	atomic_fetch_add(&late_heard, 1);
}

/* 256 KiB steps to 7.5 MiB: warn (6.4 MiB) and critical (7.2 MiB) of an 8 MiB cap */
static void climb(void **blocks)
{
	for (int i = 0; i < 30; i++) {
		blocks[i] = malloc(256 * 1024);
		memset(blocks[i], 1, 256 * 1024);
	}
}

static void wait_heard(int n)
{
	for (int i = 0; i < 3000 && atomic_load(&nheard) < n; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

int main(void)
{
	printf("active %d\n", allocguard_active());
	allocguard_usage_t u;
	int rc = allocguard_get_usage(&u);
	printf("get_usage %d errno %s\n", rc, rc ? strerror(errno) : "-");
	if (rc) {
		allocguard_leaks_t l;
		printf("others %d %d %d %d\n", allocguard_on_pressure(listener, NULL),
		       allocguard_set_cap(MIB), allocguard_snapshot("x"), allocguard_leak_check(&l));
		return 0;
	}
	printf("set_cap %d\n", allocguard_set_cap(8 * MIB));
	allocguard_get_usage(&u);
	printf("cap %llu level %d\n", (unsigned long long)u.cap, u.level);
	/* a climb and fall before anyone listens: history a listener must not hear */
	void *blocks[30];
	climb(blocks);
	for (int i = 0; i < 30; i++)
		free(blocks[i]);
	printf("on_pressure %d\n", allocguard_on_pressure(listener, (void *)&nheard));
	climb(blocks);
	wait_heard(2);
	allocguard_get_usage(&u);
	printf("high tracked %llu level %d\n", (unsigned long long)u.tracked, u.level);
	void *over = malloc(2 * MIB);
	printf("over-cap malloc %s\n", over ? "allowed" : "refused");
	free(over);
	for (int i = 0; i < 30; i++)
		free(blocks[i]);
	wait_heard(4);
	allocguard_get_usage(&u);
	printf("low tracked %llu level %d\n", (unsigned long long)u.tracked, u.level);
	printf("heard");
	for (int i = 0; i < atomic_load(&nheard) && i < 32; i++)
		printf(" %d", atomic_load(&heard[i]));
	printf("\nlistener-ok %d\n", atomic_load(&in_malloc_free_ok));
	allocguard_on_pressure(late_listener, NULL);
	struct timespec settle = { 0, 300 * 1000000L };
	nanosleep(&settle, NULL);
	printf("late-heard %d\n", atomic_load(&late_heard));
	printf("set_cap-none %d\n", allocguard_set_cap(0));
	void *big = malloc(16 * MIB);
	printf("after-uncap malloc %s\n", big ? "allowed" : "refused");
	free(big);
	const char *bad[] = { "", "12", "a@b", "peak", "two words" };
	printf("bad-labels");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		printf(" %d", allocguard_snapshot(bad[i]));
	printf("\nsnapshot %d\n", allocguard_snapshot("probe-end"));
	allocguard_leaks_t l;
	rc = allocguard_leak_check(&l);
	printf("leak_check %d lost %llu reachable-blocks %llu\n", rc,
	       (unsigned long long)l.lost_bytes, (unsigned long long)l.reachable_blocks);
	return 0;
}
