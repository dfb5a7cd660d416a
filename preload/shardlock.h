/* shardlock.h: the block table's per-shard lock.  Held for a few dozen instructions (longer
 * while a table grows or the exit scan holds every shard), so waiters spin, then yield,
 * then sleep.  It knows its owner, so a fork() from a signal handler that interrupted the
 * holder does not wait for itself (ptrtab_lock_all skips the shards this thread holds), and
 * nothing in it is a cancellation point: malloc and free never become one. */
#ifndef ALLOCGUARD_SHARDLOCK_H
#define ALLOCGUARD_SHARDLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	_Atomic uint32_t word;      /* shardlock_self() of the holder, 0 when free */
} shardlock_t;

/* This thread's number, never 0, unique among live threads and kept by a fork child. */
extern __thread uint32_t shardlock_id __attribute__((tls_model("initial-exec")));
uint32_t shardlock_new_id(void);
static inline uint32_t shardlock_self(void)
{
	uint32_t id = shardlock_id;
	return id ? id : shardlock_new_id();
}
/* Until the lock looks free; errno kept. */
void shardlock_wait(shardlock_t *l);

/* Taken and owned in one step: no moment where it is held by nobody in particular. */
static inline void shardlock_lock(shardlock_t *l)
{
	uint32_t me = shardlock_self(), expected = 0;
	while (!atomic_compare_exchange_weak_explicit(&l->word, &expected, me,
						      memory_order_acquire, memory_order_relaxed)) {
		shardlock_wait(l);
		expected = 0;
	}
}

static inline void shardlock_unlock(shardlock_t *l)
{
	atomic_store_explicit(&l->word, 0, memory_order_release);
}

static inline bool shardlock_mine(shardlock_t *l)
{
	return atomic_load_explicit(&l->word, memory_order_relaxed) == shardlock_self();
}

#endif
