/* logread_sizes.c: the log's H lines (preload/logfmt.h), each heap stack's requested sizes,
 * into the model (ag_log_t's stack_sizes), and reading them back.  An H line is whole, not
 * a delta, so a stack keeps only its last one; the one before it is kept too, because the
 * last may belong to a snapshot cut short, which does not count. */
#include "logread.h"
#include "fmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return EINVAL;
}

/* "<bucket>:<calls>" */
static int parse_bin(const char *s, size_t n, ag_sizebin_t *b)
{
	const char *colon = memchr(s, ':', n);
	uint64_t k;
	if (!colon || fmt_parse_u64(s, (size_t)(colon - s), &k) || k >= AG_SIZE_BUCKETS ||
	    fmt_parse_u64(colon + 1, n - (size_t)(colon + 1 - s), &b->count))
		return EINVAL;
	b->bucket = (unsigned)k;
	return 0;
}

static int room_for(ag_log_t *log, size_t stacks)
{
	if (stacks <= log->cap_stack_sizes)
		return 0;
	size_t cap = log->cap_stack_sizes ? log->cap_stack_sizes : 256;
	while (cap < stacks)
		cap *= 2;
	void *p = realloc(log->stack_sizes, cap * sizeof *log->stack_sizes);
	if (!p)
		return ENOMEM;
	log->stack_sizes = p;
	memset(log->stack_sizes + log->cap_stack_sizes, 0,
	       (cap - log->cap_stack_sizes) * sizeof *log->stack_sizes);
	log->cap_stack_sizes = cap;
	return 0;
}

int logread_sizes(ag_log_t *log, const char *const *f, const size_t *n, size_t count,
		  int64_t open_seq, char *why, size_t whylen)
{
	uint64_t id;
	uint32_t stack;
	if (open_seq < 0)
		return bad(why, whylen, "H line outside a snapshot");
	if (count < 3)
		return bad(why, whylen, "H line has %zu fields, expected a stack and buckets", count);
	if (fmt_parse_u64(f[1], n[1], &id))
		return bad(why, whylen, "H line: stack id is not a decimal number");
	if (lr_idx_find(log, id, &stack))
		return bad(why, whylen, "H line: stack %llu was never defined by an S line",
			   (unsigned long long)id);
	if (room_for(log, (size_t)stack + 1))
		return ENOMEM;
	ag_sizehist_t *slot = log->stack_sizes[stack];
	if (slot[0].bins && slot[0].seq == (uint64_t)open_seq)
		return bad(why, whylen, "snapshot %lld has two H lines for stack %llu",
			   (long long)open_seq, (unsigned long long)id);
	ag_sizebin_t *bins = malloc((count - 2) * sizeof *bins);
	if (!bins)
		return ENOMEM;
	for (size_t i = 2; i < count; i++) {
		ag_sizebin_t *b = &bins[i - 2];
		if (parse_bin(f[i], n[i], b) || (i > 2 && b->bucket <= b[-1].bucket)) {
			free(bins);
			return bad(why, whylen, "H line: field %zu is not <bucket>:<calls> with "
				   "buckets below %d in increasing order", i + 1, AG_SIZE_BUCKETS);
		}
	}
	free(slot[1].bins);
	slot[1] = slot[0];
	slot[0] = (ag_sizehist_t){ (uint64_t)open_seq, bins, (uint32_t)(count - 2) };
	return 0;
}

void logread_sizes_free(ag_log_t *log)
{
	for (size_t i = 0; i < log->cap_stack_sizes; i++) {
		free(log->stack_sizes[i][0].bins);
		free(log->stack_sizes[i][1].bins);
	}
	free(log->stack_sizes);
	log->stack_sizes = NULL;
	log->cap_stack_sizes = 0;
}

int log_has_stack_sizes(const ag_log_t *log)
{
	return log->version >= 4;
}

const ag_sizehist_t *log_stack_sizes(const ag_log_t *log, uint32_t stack)
{
	if (stack >= log->cap_stack_sizes || !log->nsnaps)
		return NULL;
	uint64_t last = log->snaps[log->nsnaps - 1].seq;
	const ag_sizehist_t *slot = log->stack_sizes[stack];
	for (int k = 0; k < 2; k++)
		if (slot[k].bins && slot[k].seq <= last)
			return &slot[k];
	return NULL;
}
