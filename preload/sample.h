/* sample.h: byte-based Poisson sampling of allocations (as tcmalloc and jemalloc do) and the
 * weights that turn sampled sizes back into unbiased estimates.  With ALLOCGUARD_SAMPLE=0
 * every allocation is taken with its exact size. */
#ifndef ALLOCGUARD_SAMPLE_H
#define ALLOCGUARD_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

void sample_init(uint64_t mean_bytes);
/* Whether sampling is on (ALLOCGUARD_SAMPLE > 0): some blocks are then not sampled. */
bool sample_active(void);
/* Whether this allocation of size bytes (by the calling thread) is sampled. */
bool sample_take(uint64_t size);
/* Estimated bytes and count (COUNT_ONE units) that one sampled block of size stands for. */
void sample_weight(uint64_t size, uint64_t *bytes, uint64_t *count);

#endif
