/* api_testsuite.c: a plain C test suite that checks each test for leaks with
 * allocguard_leak_check, as LeakSanitizer's __lsan_do_recoverable_leak_check does: the lost
 * bytes before and after each test, and a test that left more lost is failed and named.
 * Bare (not under allocguard) the tests run and the leak checks are skipped.
 *
 *   allocguard run -- api_testsuite     exit 1: test_split_leaks leaks 33 bytes */
#include <allocguard.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *name;
	int (*fn)(void);   /* 0 passed */
} test_t;

static char *dup_word(const char *s, size_t n)
{
	char *w = malloc(n + 1);
	memcpy(w, s, n);
	w[n] = '\0';
	return w;
}

static int test_join(void)
{
	char *a = dup_word("alloc", 5), *b = dup_word("guard", 5);
	char *j = malloc(strlen(a) + strlen(b) + 1);
	strcpy(j, a);
	strcat(j, b);
	int ok = strcmp(j, "allocguard") == 0;
	free(a);
	free(b);
	free(j);
	return ok ? 0 : 1;
}

/* Splits into words and forgets to free them: 4 blocks, 33 bytes with the array. */
static int test_split_leaks(void)
{
	const char *text = "ab cd ef";
	char **words = calloc(3, sizeof *words);
	for (int i = 0; i < 3; i++)
		words[i] = dup_word(text + 3 * i, 2);
	int ok = strcmp(words[2], "ef") == 0;
	words = NULL;   /* the bug */
	return ok ? 0 : 1;
}

static int test_list(void)
{
	struct node { struct node *next; int v; } *head = NULL;
	for (int i = 0; i < 100; i++) {
		struct node *n = malloc(sizeof *n);
		n->v = i;
		n->next = head;
		head = n;
	}
	int sum = 0;
	while (head) {
		struct node *n = head;
		head = n->next;
		sum += n->v;
		free(n);
	}
	return sum == 4950 ? 0 : 1;
}

/* A cache the program keeps on purpose: still reachable, never a leak. */
static char *kept;
static int test_keeps_cache(void)
{
	kept = dup_word("cached for the whole run", 24);
	return kept ? 0 : 1;
}

static const test_t tests[] = {
	{ "test_join", test_join },
	{ "test_split_leaks", test_split_leaks },
	{ "test_list", test_list },
	{ "test_keeps_cache", test_keeps_cache },
};

int main(void)
{
	int checked = allocguard_active(), failed = 0;
	if (!checked)
		printf("not under allocguard: leak checks skipped\n");
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		allocguard_leaks_t before = { 0 }, after = { 0 };
		if (checked)
			allocguard_leak_check(&before);
		int rc = tests[i].fn();
		if (checked)
			allocguard_leak_check(&after);
		unsigned long long lost = after.lost_bytes - before.lost_bytes;
		unsigned long long blocks = after.lost_blocks - before.lost_blocks;
		if (rc) {
			printf("FAIL %s\n", tests[i].name);
			failed++;
		} else if (lost) {
			printf("FAIL %s: leaked %llu bytes in %llu blocks\n", tests[i].name, lost,
			       blocks);
			failed++;
		} else {
			printf("ok   %s\n", tests[i].name);
		}
	}
	printf("%d of %zu failed\n", failed, sizeof tests / sizeof tests[0]);
	return failed ? 1 : 0;
}
