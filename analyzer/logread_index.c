/* logread_index.c: stack id -> index into log->stacks, for the reader's S, L, R, T and V
 * lines: a flat table while the ids stay dense (the writer numbers them 1, 2, 3, ...: one
 * load per L line), the analyzer's hash table (htab.c) beyond. */
#include "logread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lr_idx_find(const ag_log_t *log, uint64_t id, uint32_t *out)
{
	if (id < log->dense_cap && log->idx_dense[id]) {
		*out = log->idx_dense[id] - 1;
		return 0;
	}
	uint64_t v;
	if (!htab_get(&log->idx, id, &v))
		return ENOENT;
	*out = (uint32_t)v;
	return 0;
}

int lr_idx_insert(ag_log_t *log, uint64_t id, uint32_t val)
{
	/* dense while ids stay within a few times the stacks seen: bounded by the input */
	if (id < 4 * (uint64_t)log->nstacks + 65536) {
		if (id >= log->dense_cap) {
			size_t nc = log->dense_cap ? log->dense_cap : 65536;
			while (nc <= id)
				nc *= 2;
			uint32_t *d = realloc(log->idx_dense, nc * sizeof *d);
			if (!d)
				return ENOMEM;
			memset(d + log->dense_cap, 0, (nc - log->dense_cap) * sizeof *d);
			log->idx_dense = d;
			log->dense_cap = nc;
		}
		log->idx_dense[id] = val + 1;
		return 0;
	}
	return htab_put(&log->idx, id, val);
}
