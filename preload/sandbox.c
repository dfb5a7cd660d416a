/* sandbox.c: the seccomp state (see sandbox.h).  A filter is never taken off, so the state
 * only goes from none to some. */
#include "sandbox.h"

#include "fmt.h"

#include <stdatomic.h>
#include <string.h>

static _Atomic bool filtered;
static _Atomic bool said;

void sandbox_init(void)
{
	char buf[4096];
	if (fmt_read_file("/proc/self/status", buf, sizeof buf) <= 0)
		return;
	const char *p = strstr(buf, "\nSeccomp:");
	if (!p)
		return;
	p += strlen("\nSeccomp:");
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '0') {
		fmt_stderr_freeze(false);
		sandbox_note_filter();
	}
}

void sandbox_before_filter(void)
{
	fmt_stderr_freeze(true);
}

void sandbox_note_filter(void)
{
	atomic_store(&filtered, true);
}

bool sandbox_filtered(void)
{
	bool f = atomic_load(&filtered);
	if (f && !atomic_exchange(&said, true))
		fmt_say("a seccomp filter is in force: no exit leak scan (lost and reachable "
			"unknown), and no system call a filter could punish");
	return f;
}
