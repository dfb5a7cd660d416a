/* credit.c: the per-thread slots of credit.h.  A slot is claimed with a compare-and-swap
 * on a thread's first use and handed back by a thread-exit destructor; a thread that finds
 * none free (more than SLOTS alive at once) simply counts exactly. */
#include "credit.h"

#include <pthread.h>
#include <stddef.h>

#define SLOTS 1024

enum { FREE = 0, TAKEN = 1 };

static credit_slot_t slots[SLOTS];
static _Atomic unsigned high;            /* slots [0, high) may have been claimed */
static pthread_key_t key;
static _Atomic bool have_key;
static void (*exit_hook)(int64_t credit, int64_t unflushed);

__thread credit_slot_t *credit_mine __attribute__((tls_model("initial-exec")));

/* At thread exit: settle the slot's figures (the callback puts them into the totals) and
 * free it.  An allocation made after this claims a slot again. */
static void on_thread_exit(void *arg)
{
	credit_slot_t *s = arg;
	if (s != credit_mine)
		return;
	credit_mine = NULL;
	int64_t c = atomic_exchange(&s->credit, 0);
	int64_t u = atomic_exchange(&s->unflushed, 0);
	if (exit_hook)
		exit_hook(c, u);
	atomic_store(&s->state, FREE);
}

void credit_init(void (*on_exit)(int64_t credit, int64_t unflushed))
{
	exit_hook = on_exit;
	if (pthread_key_create(&key, on_thread_exit) == 0)
		atomic_store(&have_key, true);
}

credit_slot_t *credit_slot(void)
{
	if (credit_mine || !atomic_load_explicit(&have_key, memory_order_relaxed))
		return credit_mine;
	for (unsigned i = 0; i < SLOTS; i++) {
		int expected = FREE;
		if (atomic_load_explicit(&slots[i].state, memory_order_relaxed) != FREE ||
		    !atomic_compare_exchange_strong(&slots[i].state, &expected, TAKEN))
			continue;
		unsigned h = atomic_load(&high);
		while (h < i + 1 && !atomic_compare_exchange_weak(&high, &h, i + 1))
			;
		if (pthread_setspecific(key, &slots[i]) != 0) {
			atomic_store(&slots[i].state, FREE);
			return NULL;
		}
		credit_mine = &slots[i];
		return credit_mine;
	}
	return NULL;
}

bool credit_give_slow(uint64_t bytes, int64_t *back)
{
	*back = 0;
	return credit_slot() && credit_give(bytes, back);
}

int64_t credit_reclaim(void)
{
	int64_t sum = 0;
	unsigned n = atomic_load(&high);
	for (unsigned i = 0; i < n; i++)
		if (atomic_load_explicit(&slots[i].credit, memory_order_relaxed))
			sum += atomic_exchange(&slots[i].credit, 0);
	return sum;
}

bool credit_outstanding(void)
{
	return atomic_load_explicit(&high, memory_order_relaxed) != 0;
}

static int64_t sum_of(size_t offset)
{
	int64_t sum = 0;
	unsigned n = atomic_load(&high);
	for (unsigned i = 0; i < n; i++)
		sum += atomic_load_explicit((_Atomic int64_t *)((char *)&slots[i] + offset),
					    memory_order_relaxed);
	return sum;
}

int64_t credit_held(void)
{
	return sum_of(offsetof(credit_slot_t, credit));
}

int64_t credit_unflushed(void)
{
	return sum_of(offsetof(credit_slot_t, unflushed));
}

void credit_postfork_child(int64_t *credit, int64_t *unflushed)
{
	*credit = *unflushed = 0;
	unsigned n = atomic_load(&high);
	for (unsigned i = 0; i < n; i++) {
		credit_slot_t *s = &slots[i];
		if (s == credit_mine)
			continue;
		*credit += atomic_exchange(&s->credit, 0);
		*unflushed += atomic_exchange(&s->unflushed, 0);
		atomic_store(&s->state, FREE);
	}
}
