/* swapglob.c: shell-glob matching without allocation (see swapglob.h).  '*' is handled by the
 * classic single backtrack point: on a mismatch, retry from the last '*' one character
 * further on, which is linear-ish and needs no recursion. */
#include "swapglob.h"

#include <string.h>

/* Match one bracket expression starting after '['; *end is set past its ']'.  Returns -1
 * when the bracket is not closed (then '[' is an ordinary character). */
static int bracket(const char *pat, size_t plen, size_t i, unsigned char c, size_t *end)
{
	bool negate = false, hit = false;
	if (i < plen && (pat[i] == '!' || pat[i] == '^')) {
		negate = true;
		i++;
	}
	size_t first = i;
	while (i < plen && (pat[i] != ']' || i == first)) {
		unsigned char lo = (unsigned char)pat[i];
		if (lo == '\\' && i + 1 < plen)
			lo = (unsigned char)pat[++i];
		unsigned char hi = lo;
		if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
			hi = (unsigned char)pat[i + 2];
			if (hi == '\\' && i + 3 < plen)
				hi = (unsigned char)pat[++i + 2];
			i += 2;
		}
		if (lo <= c && c <= hi)
			hit = true;
		i++;
	}
	if (i >= plen)
		return -1;
	*end = i + 1;
	return hit != negate;
}

/* Whether the single pattern element at pat[p] matches c; *next is set past it. */
static bool match_one(const char *pat, size_t plen, size_t p, unsigned char c, size_t *next)
{
	*next = p + 1;
	if (pat[p] == '?')
		return true;
	if (pat[p] == '[') {
		int ok = bracket(pat, plen, p + 1, c, next);
		if (ok >= 0)
			return ok;
	}
	if (pat[p] == '\\' && p + 1 < plen) {
		*next = p + 2;
		return (unsigned char)pat[p + 1] == c;
	}
	return (unsigned char)pat[p] == c;
}

bool swapglob_match(const char *pat, size_t plen, const char *s)
{
	size_t p = 0, star_p = 0, next;
	const char *star_s = NULL;
	while (*s) {
		if (p < plen && pat[p] == '*') {
			while (p < plen && pat[p] == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < plen && match_one(pat, plen, p, (unsigned char)*s, &next)) {
			p = next;
			s++;
			continue;
		}
		if (!star_s)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

bool swapglob_list_match(const char *list, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	while (*list) {
		const char *colon = strchr(list, ':');
		size_t n = colon ? (size_t)(colon - list) : strlen(list);
		if (n && (swapglob_match(list, n, base) || swapglob_match(list, n, path)))
			return true;
		if (!colon)
			break;
		list = colon + 1;
	}
	return false;
}
