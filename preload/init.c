/* init.c: the preload's life cycle: configuration and start-up in the constructor (a bad
 * setting stops the program with exit status 2 before main), fork handling, the SIGUSR2
 * snapshot request, and the exit snapshot in the destructor. */
#include "cap.h"
#include "heap.h"
#include "fmt.h"
#include "logwrite.h"
#include "maptab.h"
#include "nextalloc.h"
#include "nodeopts.h"
#include "ptrtab.h"
#include "sample.h"
#include "stacks.h"
#include "stacktab.h"
#include "state.h"
#include "outbox.h"
#include "swap.h"
#include "sys.h"
#include "threads.h"
#include "sandbox.h"
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void on_usr2(int sig)
{
	outbox_request(AG_REASON_SIGNAL);
}

/* One byte on a page the kernel zeroes in a child that does not share our memory
 * (MADV_WIPEONFORK): zero means a process created without fork()'s handlers, such as a raw
 * clone() child; a vfork or CLONE_VM child shares the page and sees it set. */
static volatile unsigned char *born_here;

static void mark_born_here(void)
{
	void *page = sys_alloc(sys_page_size(), false);
	if (page && madvise(page, sys_page_size(), MADV_WIPEONFORK) == 0) {
		born_here = page;
		*born_here = 1;
	}
}

/* ag_unsafe as the forking thread had it before prefork took our locks (maptab_lock counts
 * itself unsafe, and the child re-creates that lock rather than unlocking it). */
static __thread int unsafe_at_fork __attribute__((tls_model("initial-exec")));

static void prefork(void)
{
	unsafe_at_fork = ag_unsafe;
	int outer = ag_guard_enter();
	/* Every lock of ours, outermost first, so no child inherits one mid-update. */
	writer_prefork();
	maptab_lock();
	ptrtab_lock_all();
	stacktab_lock();
	sys_lock();
	if (outer)
		ag_guard_leave();
}

static void postfork_parent(void)
{
	sys_unlock();
	stacktab_unlock();
	ptrtab_unlock_all();
	maptab_unlock();
	writer_postfork_parent();
}

static void postfork_child(void)
{
	ag_ppid = ag_pid;
	if (born_here)
		*born_here = 1;
	ag_pid = getpid();
	sys_reinit_lock();
	stacktab_reinit_lock();
	ptrtab_reinit_locks();
	maptab_reinit_lock();
	ag_unsafe = unsafe_at_fork;
	threads_postfork_child();
	cap_postfork_child();
	stacks_postfork_child(ag_unsafe > 0);
	swap_postfork_child();
	int outer = ag_guard_enter();
	writer_postfork_child();
	if (outer)
		ag_guard_leave();
}

/* Run by the writer on the allocation path and before its own snapshots. */
static void check_child(void)
{
	if (born_here && !*born_here)
		postfork_child();
}

static void install_usr2(void)
{
	struct sigaction old;
	if (sigaction(SIGUSR2, NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return;   /* the program (or its parent) chose something: leave it */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
}

/* A block from the program's binding of malloc, made outside our guard, lands in our block
 * table only when the hooks served it. */
static bool malloc_reaches_us(void *(*m)(size_t), void (*f)(void *))
{
	int was = ag_hook.in;
	ag_hook.in = 0;
	void *p = m(40);
	ag_hook.in = was;
	ptr_entry_t e;
	bool ours = p && ptrtab_lookup((uintptr_t)p, &e);
	ag_hook.in = 0;
	f(p);
	ag_hook.in = was;
	return ours;
}

/* A typo in a setting's name must not pass silently: one line per unknown ALLOCGUARD_*
 * variable, not an error (a newer variable under an older preload is harmless). */
static void say_unknown_settings(void)
{
	extern char **environ;
	for (char **e = environ; e && *e; e++) {
		char name[128];
		if (opt_env_unknown(*e, name, sizeof name))
			fmt_say3("warning: ignoring ", name,
				 ": no such setting (allocguard run --help lists them)");
	}
}

__attribute__((constructor(101))) static void allocguard_init(void)
{
	int saved = errno;
	int outer = ag_guard_enter();
	ag_start_ns = sys_now_ns();
	fmt_say_init();
	ag_pid = getpid();
	ag_ppid = getppid();
	char err[OPT_STR_MAX + 256];
	if (opt_load_env(&ag_config, err, sizeof err) != 0) {
		fmt_say(err);
		_exit(2);
	}
	say_unknown_settings();
	nextalloc();   /* found before any thread of ours can race for it */
	nextalloc_check_order(malloc_reaches_us);
	cap_init(&ag_config);
	sample_init(ag_config.sample);
	mark_born_here();
	threads_init();
	sandbox_init();
	stacks_init();
	heap_adopt_early();
	logwrite_init();
	nodeopts_inject();
	pthread_atfork(prefork, postfork_parent, postfork_child);
	install_usr2();
	writer_watch_children(check_child, born_here);
	writer_arm();
	atomic_store(&ag_phase, AG_READY);
	writer_start();
	if (outer)
		ag_guard_leave();
	errno = saved;
}

__attribute__((destructor(101))) static void allocguard_fini(void)
{
	int saved = errno;
	writer_exit();
	errno = saved;
}
