/* logsizes.c: the H line (see logsizes.h and logfmt.h).  Counts are kept in COUNT_ONE
 * units (sampled weights) and written in calls, rounded as the L line's counts are. */
#include "logsizes.h"

bool logsizes_line(fmt_t *f, char *line, size_t len, stack_rec_t *r)
{
	_Atomic uint64_t *sizes = stacktab_sizes(r);
	if (!sizes)
		return false;
	fmt_init(f, line, len);
	fmt_str(f, "H ");
	fmt_u64(f, r->id);
	bool any = false;
	for (unsigned k = 0; k < AG_SIZE_BUCKETS; k++) {
		uint64_t units = atomic_load_explicit(&sizes[k], memory_order_relaxed);
		uint64_t calls = units / COUNT_ONE + (units % COUNT_ONE >= COUNT_ONE / 2);
		if (!calls)
			continue;
		fmt_chr(f, ' ');
		fmt_u64(f, k);
		fmt_chr(f, ':');
		fmt_u64(f, calls);
		any = true;
	}
	return any;
}
