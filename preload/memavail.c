/* memavail.c: memory left before an OOM kill (see memavail.h).  A cgroup's page cache is
 * not counted as used, since the kernel reclaims it under pressure; anonymous memory
 * cannot be reclaimed here (no swap assumed), so it is what fills a limit. */
#include "memavail.h"
#include "fmt.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define UNLIMITED (UINT64_C(1) << 60)   /* cgroup v1 spells "no limit" as a huge number */

/* Leading digits ("max" or garbage: false). */
static bool parse_u64(const char *s, uint64_t *v)
{
	return fmt_parse_u64(s, strspn(s, "0123456789"), v) == 0;
}

static bool file_u64(const char *path, uint64_t *v)
{
	char buf[64];
	return fmt_read_file(path, buf, sizeof buf) > 0 && parse_u64(buf, v);
}

/* The value of "key value" (or "key: value") line `key` in path. */
static bool field_u64(const char *path, const char *key, uint64_t *v)
{
	char buf[4096];
	if (fmt_read_file(path, buf, sizeof buf) <= 0)
		return false;
	size_t kl = strlen(key);
	for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, kl) != 0 || (l[kl] != ' ' && l[kl] != ':'))
			continue;
		char *p = l + kl + 1;
		while (*p == ' ')
			p++;
		return parse_u64(p, v);
	}
	return false;
}

static void tighter(memavail_t *m, uint64_t avail, const char *where)
{
	if (avail < m->bytes) {
		m->bytes = avail;
		m->where = where;
	}
}

/* dir's limit (limit_file) minus its anonymous memory (stat_key of memory.stat, or the
 * whole usage_file when that is unreadable). */
static void one_cgroup(memavail_t *m, const char *dir, const char *limit_file,
		       const char *stat_key, const char *usage_file)
{
	char path[4400];
	fmt_t f;
	uint64_t limit, used;
	fmt_init(&f, path, sizeof path);
	fmt_str(&f, dir);
	fmt_str(&f, limit_file);
	if (f.truncated || !file_u64(path, &limit) || limit >= UNLIMITED)
		return;
	if (!m->limit || limit < m->limit)
		m->limit = limit;
	fmt_init(&f, path, sizeof path);
	fmt_str(&f, dir);
	fmt_str(&f, "/memory.stat");
	if (!field_u64(path, stat_key, &used)) {
		fmt_init(&f, path, sizeof path);
		fmt_str(&f, dir);
		fmt_str(&f, usage_file);
		if (!file_u64(path, &used))
			used = 0;
	}
	tighter(m, limit > used ? limit - used : 0, "cgroup");
}

/* Every ancestor of cgroup path cg (from itself up to the root) under root. */
static void cgroup_chain(memavail_t *m, const char *root, const char *cg, bool v2)
{
	char dir[4200];
	fmt_t f;
	fmt_init(&f, dir, sizeof dir);
	fmt_str(&f, root);
	size_t base = f.len;
	if (strcmp(cg, "/") != 0)
		fmt_str(&f, cg);
	if (f.truncated)
		return;
	for (;;) {
		if (v2)
			one_cgroup(m, dir, "/memory.max", "anon", "/memory.current");
		else
			one_cgroup(m, dir, "/memory.limit_in_bytes", "total_rss", "/memory.usage_in_bytes");
		char *slash = strrchr(dir + base, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
}

static bool has_memory(const char *controllers, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++)
		if (!memcmp(controllers + i, "memory", 6) && (i == 0 || controllers[i - 1] == ',') &&
		    (i + 6 == n || controllers[i + 6] == ','))
			return true;
	return false;
}

memavail_t memavail_now(void)
{
	memavail_t m = { UINT64_MAX, "system", 0 };
	uint64_t kb;
	if (field_u64("/proc/meminfo", "MemAvailable", &kb))
		tighter(&m, kb * 1024, "system");
	char buf[4096];
	if (fmt_read_file("/proc/self/cgroup", buf, sizeof buf) <= 0)
		return m;
	/* Lines "hierarchy:controllers:path"; v2 is "0::path". */
	for (char *l = buf; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2) {
			const char *path = c2 + 1;
			if (c2 == c1 + 1) {
				cgroup_chain(&m, "/sys/fs/cgroup", path, true);
				cgroup_chain(&m, "/sys/fs/cgroup/unified", path, true);
			} else if (has_memory(c1 + 1, (size_t)(c2 - c1 - 1))) {
				cgroup_chain(&m, "/sys/fs/cgroup/memory", path, false);
			}
		}
		l = nl ? nl + 1 : NULL;
	}
	return m;
}

uint64_t memavail_limit(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t phys = (pages > 0 && psz > 0) ? (uint64_t)pages * (uint64_t)psz : 0;
	uint64_t cg = memavail_now().limit;
	return cg && (phys == 0 || cg < phys) ? cg : phys;
}
