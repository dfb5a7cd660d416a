/* shardlock.c: the waiting side of the block table's shard lock (see shardlock.h). */
#include "shardlock.h"
#include "arch.h"
#include "sys.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__thread uint32_t shardlock_id __attribute__((tls_model("initial-exec")));
static _Atomic uint32_t next_id = 1;

uint32_t shardlock_new_id(void)
{
	uint32_t id;
	while ((id = atomic_fetch_add(&next_id, 1)) == 0)
		;
	shardlock_id = id;
	return id;
}

void shardlock_wait(shardlock_t *l)
{
	int saved = errno;   /* the hooks' callers see errno as they left it */
	for (unsigned spins = 0; atomic_load_explicit(&l->word, memory_order_relaxed); spins++) {
		if (spins < 64) {
			ARCH_CPU_RELAX();
		} else if (spins < 1000) {
			sched_yield();
		} else {
			/* the system call itself, not libc's nanosleep: that one is a
			 * cancellation point, and malloc and free must not be */
			struct timespec ts = { 0, 50000 };
			sys_syscall(SYS_nanosleep, &ts, NULL);
		}
	}
	errno = saved;
}
