/* test_sample.c: byte sampling (preload/sample.c) gives unbiased estimates. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "sample.h"
#include "stacktab.h"

Test(sample, exact_mode_takes_everything_at_face_value)
{
	sample_init(0);
	uint64_t b, c;
	for (uint64_t size = 1; size < 1000000; size *= 7) {
		cr_assert(sample_take(size));
		sample_weight(size, &b, &c);
		cr_assert_eq(b, size);
		cr_assert_eq(c, COUNT_ONE);
	}
}

Test(sample, estimates_are_unbiased_across_sizes)
{
	const uint64_t mean = 512 * 1024;
	sample_init(mean);
	srand(42);
	double truth_bytes = 0, est_bytes = 0, truth_count = 0, est_count = 0;
	for (int i = 0; i < 4000000; i++) {
		/* a mix of small, medium and large blocks.  No block under 16 bytes: one sampled
		 * 1-byte block stands for mean/1 = 524288 blocks, 13% of the whole count, so with
		 * them the count estimate (unbiased, but heavy-tailed) would fail now and then. */
		uint64_t size = (i % 100 == 0) ? (uint64_t)(rand() % (4 << 20)) + 16
					       : (uint64_t)(rand() % 4080) + 16;
		truth_bytes += (double)size;
		truth_count += 1;
		if (sample_take(size)) {
			uint64_t b, c;
			sample_weight(size, &b, &c);
			est_bytes += (double)b;
			est_count += (double)c / COUNT_ONE;
		}
	}
	double eb = est_bytes / truth_bytes, ec = est_count / truth_count;
	cr_assert(eb > 0.95 && eb < 1.05, "byte estimate ratio %.4f", eb);
	cr_assert(ec > 0.9 && ec < 1.1, "count estimate ratio %.4f", ec);
	sample_init(0);
}

Test(sample, huge_blocks_are_almost_always_sampled_with_weight_near_size)
{
	sample_init(512 * 1024);
	uint64_t b, c;
	sample_weight(64 << 20, &b, &c);
	cr_assert(b >= (64u << 20) && b < (64u << 20) + 1024, "weight %llu", (unsigned long long)b);
	int taken = 0;
	for (int i = 0; i < 100; i++)
		taken += sample_take(64 << 20);
	cr_assert_eq(taken, 100);
	sample_init(0);
}
