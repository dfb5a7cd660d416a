/* sample.h: byte-based Poisson sampling of allocations (as tcmalloc and jemalloc do) and the
 * weights that turn sampled sizes back into unbiased estimates.  With ALLOCGUARD_SAMPLE=0
 * every allocation is taken with its exact size. */
#ifndef ALLOCGUARD_SAMPLE_H
#define ALLOCGUARD_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "stacktab.h"

void sample_init(uint64_t mean_bytes);

/* Read-only after init; the per-thread countdown in bytes (0 until the thread's first
 * sampled-mode allocation, and so never above 0 without sampling).  Inline so that an allocation that is not sampled, or any
 * allocation without sampling, costs no call. */
extern uint64_t sample_mean;
extern __thread int64_t sample_countdown __attribute__((tls_model("initial-exec")));

bool sample_take_slow(uint64_t size);
void sample_weight_slow(uint64_t size, uint64_t *bytes, uint64_t *count);

/* Whether sampling is on (ALLOCGUARD_SAMPLE > 0): some blocks are then not sampled. */
static inline bool sample_active(void)
{
	return sample_mean != 0;
}

/* The countdown that would be left after an allocation of size bytes by this thread,
 * without taking it: above 0 when it would not be sampled (never without sampling, where
 * the countdown stays 0).  A size past 2^63 reads as below 0: such a call is the hooks'
 * to refuse or sample. */
static inline int64_t sample_left(uint64_t size)
{
	return sample_countdown - (int64_t)size;
}

/* Whether this allocation of size bytes (by the calling thread) is sampled. */
static inline bool sample_take(uint64_t size)
{
	if (!sample_mean)
		return true;
	/* a countdown of 0 (none drawn yet) leaves nothing above 0; a size past 2^40 (callers
	 * clamp theirs, ptrtab.h) takes the slow path too */
	int64_t left = sample_countdown - (int64_t)size;
	if (__builtin_expect(left > 0 && size < (UINT64_C(1) << 40), 1)) {
		sample_countdown = left;
		return false;
	}
	return sample_take_slow(size);
}

/* Estimated bytes and count (COUNT_ONE units) that one sampled block of size stands for. */
static inline void sample_weight(uint64_t size, uint64_t *bytes, uint64_t *count)
{
	if (sample_mean) {
		sample_weight_slow(size, bytes, count);
		return;
	}
	*bytes = size;
	*count = COUNT_ONE;
}

#endif
