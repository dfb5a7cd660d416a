/* threads.c: registry of allocating threads (see threads.h).  A slot is claimed on a thread's
 * first tracked allocation; a pthread key destructor marks it dead at thread exit.  Slots
 * are claimed with a CAS; when all are taken, dead ones are reused. */
#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>

#define SLOTS 4096

enum { FREE = 0, ALIVE = 1, DEAD = 2 };

static struct {
	_Atomic int state;
	uintptr_t stack_addr;
	uintptr_t tcb;          /* pthread_self() */
} slots[SLOTS];

static pthread_key_t key;
static bool have_key;
static __thread int my_slot __attribute__((tls_model("initial-exec")));   /* index + 1 */

static void on_exit_thread(void *arg)
{
	uintptr_t i = (uintptr_t)arg - 1;
	if (i < SLOTS)
		atomic_store(&slots[i].state, DEAD);
}

void threads_init(void)
{
	have_key = pthread_key_create(&key, on_exit_thread) == 0;
}

static bool claim(int i, int from, uintptr_t addr)
{
	int expected = from;
	if (!atomic_compare_exchange_strong(&slots[i].state, &expected, -1))
		return false;
	slots[i].stack_addr = addr;
	slots[i].tcb = (uintptr_t)pthread_self();
	atomic_store(&slots[i].state, ALIVE);
	return true;
}

void threads_note(void)
{
	if (my_slot || !have_key)
		return;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < SLOTS; i++) {
			if (claim(i, pass == 0 ? FREE : DEAD, here)) {
				my_slot = i + 1;
				pthread_setspecific(key, (void *)(uintptr_t)my_slot);
				return;
			}
		}
	}
	my_slot = -1;   /* registry full: this thread's stack is always scanned */
}

bool threads_dead_stack(uintptr_t lo, uintptr_t hi, uintptr_t *tcb)
{
	bool dead = false;
	for (int i = 0; i < SLOTS; i++) {
		int st = atomic_load(&slots[i].state);
		uintptr_t a = slots[i].stack_addr;
		if (st != ALIVE && st != DEAD)
			continue;
		if (a < lo || a >= hi)
			continue;
		if (st == ALIVE)
			return false;
		dead = true;
		*tcb = slots[i].tcb;
	}
	return dead;
}

void threads_postfork_child(void)
{
	/* Only the forking thread survives in the child. */
	for (int i = 0; i < SLOTS; i++)
		if (i + 1 != my_slot && atomic_load(&slots[i].state) == ALIVE)
			atomic_store(&slots[i].state, DEAD);
}
