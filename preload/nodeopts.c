/* nodeopts.c: in a node process, the companion's loader added to NODE_OPTIONS before node
 * reads it (the constructor runs before node's main), under `run` and under a bare
 * LD_PRELOAD alike.  Only a loader that exists is added (a missing --require file stops
 * every node with exit 1), never twice, and never under the permission model (node would
 * refuse to read it and stop).  What the loader does is nodejs/loader.js's. */
#include "nodeopts.h"
#include "fmt.h"
#include "options.h"
#include "state.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOADER_NAME "allocguard-node.js"

/* Whether the NUL-separated args hold a permission flag (node 20's and later's). */
static bool permission_in(const char *a, size_t n)
{
	for (size_t off = 0; off < n; off += strnlen(a + off, n - off) + 1) {
		const char *s = a + off;
		if (strncmp(s, "--experimental-permission", 25) == 0 ||
		    strcmp(s, "--permission") == 0)
			return true;
		if (off && s[0] != '-')
			break;   /* the script: what follows is its own arguments */
	}
	return false;
}

static bool permission_model(const char *opts)
{
	static char cmd[8192];
	ssize_t n = fmt_read_file("/proc/self/cmdline", cmd, sizeof cmd);
	return (n > 0 && permission_in(cmd, (size_t)n)) ||
	       (opts && (strstr(opts, "--experimental-permission") || strstr(opts, "--permission")));
}

/* dir of this library + LOADER_NAME into buf; false when it cannot be told. */
static bool loader_path(char *buf, size_t cap)
{
	Dl_info info;
	if (!dladdr((void *)loader_path, &info) || !info.dli_fname || info.dli_fname[0] != '/')
		return false;
	const char *slash = strrchr(info.dli_fname, '/');
	size_t dir = (size_t)(slash - info.dli_fname);
	if (dir + 1 + sizeof LOADER_NAME > cap)
		return false;
	memcpy(buf, info.dli_fname, dir + 1);
	memcpy(buf + dir + 1, LOADER_NAME, sizeof LOADER_NAME);
	return true;
}

/* `--require "PATH"` with the quoting node's NODE_OPTIONS parser reads. */
static void add_require(fmt_t *f, const char *path)
{
	fmt_str(f, "--require \"");
	for (const char *p = path; *p; p++) {
		if (*p == '"' || *p == '\\')
			fmt_chr(f, '\\');
		fmt_chr(f, *p);
	}
	fmt_chr(f, '"');
}

void nodeopts_inject(void)
{
	if (!ag_config.node || !dlsym(RTLD_DEFAULT, "napi_module_register"))
		return;   /* off, or not node */
	const char *old = secure_getenv("NODE_OPTIONS");
	char path[4096];
	if (!loader_path(path, sizeof path))
		return;
	if (old && strstr(old, LOADER_NAME))
		return;   /* a parent node added it already */
	if (access(path, R_OK) != 0) {
		fmt_say3("node: no loader at ", path,
			 "; the JS heap is not attributed (native memory still is)");
		return;
	}
	if (permission_model(old)) {
		fmt_say("node: the permission model is on; the JS heap is not attributed "
			"(native memory still is)");
		return;
	}
	static char opts[16384];
	fmt_t f;
	fmt_init(&f, opts, sizeof opts);
	if (old && *old) {
		fmt_str(&f, old);
		fmt_chr(&f, ' ');
	}
	add_require(&f, path);
	if (f.truncated || setenv("NODE_OPTIONS", opts, 1) != 0)
		fmt_say("node: NODE_OPTIONS is too long to add the loader; the JS heap is not "
			"attributed");
}
