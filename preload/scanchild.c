/* scanchild.c: the exit scan in a copy-on-write child (see scanchild.h).  It owns the fork
 * made inside the stop, what each process does after it, and how the child lives and ends;
 * the scan is reach.c's, the stop threadstop.c's, the wait for the child `allocguard run`'s
 * (analyzer/reap.c).
 *
 * Invariants kept here:
 * - The fork happens where reach.c's scan has taken everything it needs before the stop
 *   (/proc read, the loader asked, the tables locked, the other threads stopped and their
 *   registers saved): what is left of the scan takes no lock but ours.  The block table is
 *   copied, sorted and indexed after the fork, in the child, from its frozen copy (every
 *   shard was held at the fork: no thread was changing it).
 * - The child holds no lock another thread held at the fork: the exit snapshot's locks
 *   are taken without waiting before it (the log's, the stack table's, the region
 *   registry's, the JS functions'); when one is busy there is no fork.  The loader is not
 *   asked in the child (modules_freeze): new objects were written just before the scan.
 * - Exactly one process writes the log after the fork: the child.  The program's process
 *   gives it up (logwrite_scanner_forked) and never writes it again.
 * - The child runs nothing of the program: no handler of its signals, no atexit handler, no
 *   stdio flush; it keeps no descriptor but the log and stderr, and ends by exit_group.
 * - Created with no exit signal, it is not a child the program's wait() or SIGCHLD sees
 *   while the program ends; once the program is gone it is reparented (to `run`, a child
 *   subreaper, which waits for it) with SIGCHLD, as any orphan. */
#include "scanchild.h"
#include "arch.h"
#include "fdguard.h"
#include "fmt.h"
#include "forkshare.h"
#include "jsprof.h"
#include "logwrite.h"
#include "maptab.h"
#include "modules.h"
#include "ptrtab.h"
#include "reach.h"
#include "sandbox.h"
#include "stacktab.h"
#include "state.h"
#include "sys.h"
#include "threadstop.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>

/* The longest a scanner child may take: past it, SIGALRM ends it (its log then has no exit
 * snapshot and `run` says so).  A scan takes about 0.3 s per million live blocks. */
#define WATCHDOG_S 300

static jmp_buf back;
static pid_t exiting;  /* the thread whose exit scan may fork */
static bool scanner;   /* this process is a scanner child */

/* The locks the exit snapshot takes that another thread could hold, without waiting:
 * all of them (true) or none. */
static bool take_locks(void)
{
	if (!logwrite_trylock())
		return false;
	if (stacktab_trylock()) {
		if (jsprof_trylock()) {
			if (sys_trylock())
				return true;
			jsprof_unlock();
		}
		stacktab_unlock();
	}
	logwrite_unlock();
	return false;
}

static void drop_locks(void)
{
	sys_unlock();
	jsprof_unlock();
	stacktab_unlock();
	logwrite_unlock();
}

/* The child is born with its name, which says what it is and whose scan it runs: "ag-scan
 * PID" (`run` waits for such children; a name set in the child would come too late when
 * the child has not run yet).  This thread wears it for the time of the clone. */
static long clone_named(void)
{
	char old[16] = "", name[16];
	fmt_t f;
	fmt_init(&f, name, sizeof name);
	fmt_str(&f, "ag-scan ");
	fmt_u64(&f, (uint64_t)ag_pid);
	arch_syscall6(SYS_prctl, PR_GET_NAME, (long)old, 0, 0, 0, 0);
	arch_syscall6(SYS_prctl, PR_SET_NAME, (long)name, 0, 0, 0, 0);
	long pid = arch_syscall6(SYS_clone, 0, 0, 0, 0, 0, 0);   /* no exit signal */
	if (pid != 0)
		arch_syscall6(SYS_prctl, PR_SET_NAME, (long)old, 0, 0, 0, 0);
	return pid;
}

/* Nothing of the program runs here: its signal handlers stay blocked; the ways to end a
 * process end this one (a broken stderr does not); descriptors others may wait on to
 * close (pipes to the program's reader) are closed; a watchdog bounds it. */
static void become_scanner(void)
{
	scanner = true;
	modules_freeze();
	static const int ending[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM };
	sigset_t mask;
	sigfillset(&mask);
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof ending / sizeof ending[0]; i++) {
		sigaction(ending[i], &sa, NULL);
		sigdelset(&mask, ending[i]);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	long log = fdguard_held();
	arch_syscall6(SYS_close_range, 0, 1, 0, 0, 0, 0);
	if (log > 3)
		arch_syscall6(SYS_close_range, 3, log - 1, 0, 0, 0, 0);
	arch_syscall6(SYS_close_range, log > 2 ? log + 1 : 3, ~0u, 0, 0, 0, 0);
	struct itimerval watchdog = { .it_value = { .tv_sec = WATCHDOG_S } };
	setitimer(ITIMER_REAL, &watchdog, NULL);
}

/* Run by threadstop at the end of the stop, inside reach.c's scan: true in the child. */
static bool fork_here(void)
{
	if (sys_gettid() != exiting) {
		/* a mid-run check (allocguard_leak_check) that ran before the exit's turn */
		threadstop_then(fork_here);
		return false;
	}
	if (!take_locks())
		return false;   /* another thread is in the middle of one: scan here */
	if (!forkshare_begin()) {   /* V8's heap is kept out of forks: the child must see it */
		forkshare_end(true);
		drop_locks();   /* what the child could not see: scan here */
		return false;
	}
	long pid = clone_named();
	forkshare_end(pid != 0);
	if (pid < 0) {
		drop_locks();   /* EAGAIN, RLIMIT_NPROC, a filter refusing clone: scan here */
		return false;
	}
	if (pid == 0) {
		logwrite_scanner_forked((pid_t)arch_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0));
		drop_locks();
		become_scanner();
		return true;   /* the scan goes on, in the child */
	}
	/* The program: what the scan would have undone after judging, then on with the exit. */
	logwrite_scanner_forked((pid_t)pid);
	threadstop_resume();
	ptrtab_unlock_all();
	maptab_unlock();
	drop_locks();
	longjmp(back, 1);
}

bool scanchild_scan(void)
{
	if (ag_config.scan_child != AG_YN_YES || sandbox_filtered()) {
		reach_scan(false);
		return false;
	}
	logwrite_create();   /* the objects loaded since the last snapshot: the child cannot ask */
	if (setjmp(back))
		return true;
	exiting = sys_gettid();
	threadstop_then(fork_here);
	reach_scan(true);
	threadstop_then(NULL);   /* the scan stopped no thread (no memory, busy) */
	return false;
}

void scanchild_end(void)
{
	if (scanner)
		arch_syscall6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
}
