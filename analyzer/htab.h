/* htab.h: the analyzer's one hash table: open addressing from a 64-bit key to a 64-bit
 * value, several values per key allowed.  A key is usually a hash of what the caller
 * indexes (a string, a pair of ids), so the caller compares the candidates htab_find
 * yields; a key that is the identity itself (a stack id) needs no comparison.  At most
 * half full, so a probe is short; grows by doubling. */
#ifndef ALLOCGUARD_HTAB_H
#define ALLOCGUARD_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t *key;
	uint64_t *val;     /* value + 1; 0 marks an empty slot */
	size_t cap, n;     /* cap is 0 or a power of two */
} htab_t;

#define HTAB_INIT { NULL, NULL, 0, 0 }
#define HTAB_START SIZE_MAX

/* Add (key, val); val must be below UINT64_MAX.  0, or ENOMEM (the table unchanged). */
int htab_put(htab_t *t, uint64_t key, uint64_t val);
/* The next value stored under key: start with *pos = HTAB_START and call again with the
 * same pos for the following ones (no htab_put in between).  false when there are no
 * more. */
bool htab_find(const htab_t *t, uint64_t key, size_t *pos, uint64_t *val);
/* The first value under key into *val; false when there is none. */
bool htab_get(const htab_t *t, uint64_t key, uint64_t *val);
void htab_free(htab_t *t);

/* Hashes for building keys: a 64-bit mix (murmur3's finalizer) and FNV-1a of a string. */
uint64_t htab_mix(uint64_t x);
uint64_t htab_str(const char *s, uint64_t seed);

#endif
