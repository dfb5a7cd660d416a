/* htab.c: the analyzer's hash table (see htab.h): linear probing over two parallel arrays,
 * at most half full.  Entries are never removed, so a probe ends at the first empty slot. */
#include "htab.h"

#include <errno.h>
#include <stdlib.h>

uint64_t htab_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t htab_str(const char *s, uint64_t seed)
{
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static size_t home(uint64_t key, size_t cap)
{
	return (size_t)htab_mix(key) & (cap - 1);
}

static int grow(htab_t *t)
{
	size_t nc = t->cap ? t->cap * 2 : 256;
	uint64_t *k = calloc(nc, sizeof *k), *v = calloc(nc, sizeof *v);
	if (!k || !v || nc < t->cap) {
		free(k);
		free(v);
		return ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->val[i])
			continue;
		size_t j = home(t->key[i], nc);
		while (v[j])
			j = (j + 1) & (nc - 1);
		k[j] = t->key[i];
		v[j] = t->val[i];
	}
	free(t->key);
	free(t->val);
	t->key = k;
	t->val = v;
	t->cap = nc;
	return 0;
}

int htab_put(htab_t *t, uint64_t key, uint64_t val)
{
	if (val == UINT64_MAX)
		return EINVAL;
	if ((t->n + 1) * 2 > t->cap && grow(t))
		return ENOMEM;
	size_t i = home(key, t->cap);
	while (t->val[i])
		i = (i + 1) & (t->cap - 1);
	t->key[i] = key;
	t->val[i] = val + 1;
	t->n++;
	return 0;
}

bool htab_find(const htab_t *t, uint64_t key, size_t *pos, uint64_t *val)
{
	if (!t->cap)
		return false;
	size_t mask = t->cap - 1;
	size_t i = *pos == HTAB_START ? home(key, t->cap) : (*pos + 1) & mask;
	for (; t->val[i]; i = (i + 1) & mask) {
		if (t->key[i] == key) {
			*pos = i;
			*val = t->val[i] - 1;
			return true;
		}
	}
	return false;
}

bool htab_get(const htab_t *t, uint64_t key, uint64_t *val)
{
	size_t pos = HTAB_START;
	return htab_find(t, key, &pos, val);
}

void htab_free(htab_t *t)
{
	free(t->key);
	free(t->val);
	*t = (htab_t)HTAB_INIT;
}
