/* sample.c: per-thread sampling countdowns (see sample.h).  A thread's countdown is an
 * exponential variate of mean SAMPLE bytes; an allocation is sampled when its size reaches
 * past the countdown, so P(sampled) = 1 - exp(-size/mean) and weighting each sample by the
 * inverse of that probability keeps byte and count estimates unbiased. */
#include "sample.h"
#include "sys.h"

#include <math.h>

uint64_t sample_mean;
__thread int64_t sample_countdown __attribute__((tls_model("initial-exec")));
static __thread uint64_t rng __attribute__((tls_model("initial-exec")));

void sample_init(uint64_t mean_bytes)
{
	sample_mean = mean_bytes;
}

static double uniform01(void)
{
	if (!rng)
		rng = (sys_now_ns() ^ ((uint64_t)sys_gettid() << 32)) | 1;
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	uint64_t r = rng * UINT64_C(2685821657736338717);
	return ((double)(r >> 11) + 1.0) / 9007199254740993.0;   /* (0, 1] */
}

static int64_t next_interval(void)
{
	double v = -log(uniform01()) * (double)sample_mean;
	return v < 1.0 ? 1 : (int64_t)v;
}

bool sample_take_slow(uint64_t size)
{
	if (sample_countdown == 0)
		sample_countdown = next_interval();   /* first use in this thread: never 0 afterwards */
	sample_countdown -= (int64_t)(size > INT64_MAX / 2 ? INT64_MAX / 2 : size);
	if (sample_countdown > 0)
		return false;
	sample_countdown = next_interval();
	return true;
}

void sample_weight_slow(uint64_t size, uint64_t *bytes, uint64_t *count)
{
	double p = -expm1(-(double)(size ? size : 1) / (double)sample_mean);   /* P(sampled) */
	*bytes = (uint64_t)((double)size / p + 0.5);
	*count = (uint64_t)((double)COUNT_ONE / p + 0.5);
}
