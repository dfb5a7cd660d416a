/* threadstop.c: stopping the other threads for a scan (see threadstop.h).  It owns the stop
 * signal and its handler; what the registers mean is arch.h's, what is scanned reach.c's.
 *
 * Invariants kept here:
 * - Only threads seen running ('R' in /proc) that do not block the signal and have no
 *   seccomp filter are signalled: a sleeping thread is in a system call that the signal
 *   could end early (nanosleep, poll), which the program would see.
 * - A signal carries its stop's generation and slot (si_value): a handler that runs late,
 *   for a stop that gave up on it or is over, returns at once and never waits.
 * - The handler makes no system call but futex, keeps errno, and waits only while its own
 *   stop's generation is held. */
#include "threadstop.h"

#include "fdguard.h"
#include "sys.h"
#include "threads.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_THREADS 1024
#define ANSWER_NS (1000ull * 1000 * 1000)   /* the longest wait for every answer */

enum { IDLE = 0, SIGNALLED, SAVING, STOPPED, GAVE_UP };

static struct {
	_Atomic int state;
	_Atomic unsigned gen;
	ts_thread_t t;
} slots[MAX_THREADS];
static size_t nslots;
static size_t counts[TS_COUNT];
static _Atomic unsigned cur_gen, hold;
static _Atomic int answered;
static int stop_sig;
static bool (*_Atomic then)(void);

static const char *const why_words[TS_COUNT] = {
	"stopped", "syscall", "halted", "blocks", "seccomp", "no-answer", "too-many",
};

const char *threadstop_why_word(ts_why_t why)
{
	return why < TS_COUNT ? why_words[why] : "?";
}

static long futex(volatile void *addr, int op, unsigned val, uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	return arch_syscall6(SYS_futex, (long)addr, op | FUTEX_PRIVATE_FLAG, val,
			     (long)(ns ? &ts : NULL), 0, 0);
}

static void on_stop(int sig, siginfo_t *si, void *ctx)
{
	if (si->si_code != SI_QUEUE || si->si_pid != arch_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0))
		return;   /* not ours: the signal was chosen as one the program leaves alone */
	int saved = errno;
	unsigned v = (unsigned)si->si_value.sival_int;
	unsigned i = v % MAX_THREADS, gen = v / MAX_THREADS;
	int expected = SIGNALLED;
	if (atomic_load(&slots[i].gen) == gen &&
	    atomic_compare_exchange_strong(&slots[i].state, &expected, SAVING)) {
		ts_thread_t *t = &slots[i].t;
		t->nregs = regs_from_context(ctx, t->regs, &t->sp);
		atomic_store(&slots[i].state, STOPPED);
		atomic_fetch_add(&answered, 1);
		futex((volatile void *)&answered, FUTEX_WAKE, 1, 0);
		while (atomic_load(&hold) == gen)
			futex((volatile void *)&hold, FUTEX_WAIT, gen, 0);
	}
	errno = saved;
}

/* A realtime signal the program has left at its default (first use only). */
static bool install(void)
{
	if (stop_sig)
		return true;
	for (int s = SIGRTMAX - 3; s > SIGRTMIN + 3; s--) {
		struct sigaction old, sa;
		if (sigaction(s, NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_stop;
		sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
		sigfillset(&sa.sa_mask);
		if (sigaction(s, &sa, NULL) == 0) {
			stop_sig = s;
			return true;
		}
	}
	return false;
}

static uint64_t hex_field(const char *p)
{
	uint64_t v = 0;
	for (;; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v * 16 + (uint64_t)d;
	}
}

static const char *field(const char *buf, const char *name)
{
	const char *p = strstr(buf, name);
	if (!p)
		return NULL;
	p += strlen(name);
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The user stack pointer of a thread in a system call: /proc/TID/syscall is
 * "nr args... sp pc" (hex with 0x), or "running". */
static uintptr_t syscall_sp(pid_t tid)
{
	char buf[256];
	ssize_t n = threads_task_read(tid, "syscall", buf, sizeof buf);
	if (n <= 0 || buf[0] == 'r')
		return 0;
	const char *sp = NULL, *pc = NULL;
	for (ssize_t i = 0; i + 2 < n; i++) {
		if (buf[i] == '0' && buf[i + 1] == 'x' && (i == 0 || buf[i - 1] == ' ')) {
			sp = pc;
			pc = buf + i + 2;
		}
	}
	return sp ? (uintptr_t)hex_field(sp) : 0;
}

/* Decide from /proc/self/task/TID/status whether tid may be signalled. */
static ts_why_t judge(pid_t tid, uintptr_t *sp)
{
	char buf[2048];
	*sp = 0;
	if (threads_task_read(tid, "status", buf, sizeof buf) <= 0)
		return TS_NO_ANSWER;
	const char *st = field(buf, "\nState:"), *blk = field(buf, "\nSigBlk:");
	const char *sec = field(buf, "\nSeccomp:");
	if (sec && *sec != '0')
		return TS_SECCOMP;
	if (!st || *st == 'T' || *st == 't')
		return TS_HALTED;
	if (*st != 'R') {
		*sp = syscall_sp(tid);
		return TS_IN_SYSCALL;
	}
	if (blk && stop_sig && (hex_field(blk) >> (stop_sig - 1) & 1))
		return TS_BLOCKS;
	return TS_STOPPED;   /* to be signalled */
}

size_t threadstop_list(void)
{
	nslots = 0;
	memset(counts, 0, sizeof counts);
	bool can = install();
	pid_t self = sys_gettid();
	fdguard_begin();
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[4096];
	long n;
	while (fd >= 0 && (n = arch_syscall6(SYS_getdents64, fd, (long)buf, sizeof buf, 0, 0, 0)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			pid_t tid = 0;
			for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == self || threads_is_internal(tid))
				continue;
			if (nslots == MAX_THREADS) {
				counts[TS_TOO_MANY]++;
				continue;
			}
			ts_thread_t *t = &slots[nslots].t;
			memset(t, 0, sizeof *t);
			t->tid = tid;
			t->why = judge(tid, &t->sp);
			if (t->why == TS_BLOCKS && threads_internal_pending())
				continue;   /* ours, started but not registered yet: they block all */
			if (t->why == TS_STOPPED && !can)
				t->why = TS_NO_ANSWER;
			atomic_store(&slots[nslots].state, IDLE);
			nslots++;
		}
	}
	if (fd >= 0)
		sys_close(fd);
	fdguard_end();
	return nslots;
}

bool threadstop_stop(void)
{
	unsigned gen = atomic_fetch_add(&cur_gen, 1) % (UINT32_MAX / MAX_THREADS) + 1;
	atomic_store(&hold, gen);
	atomic_store(&answered, 0);
	pid_t pid = getpid();
	int want = 0;
	for (size_t i = 0; i < nslots; i++) {
		if (slots[i].t.why != TS_STOPPED)
			continue;
		atomic_store(&slots[i].gen, gen);
		atomic_store(&slots[i].state, SIGNALLED);
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = stop_sig;
		si.si_code = SI_QUEUE;
		si.si_pid = pid;
		si.si_uid = getuid();
		si.si_value.sival_int = (int)(gen * MAX_THREADS + i);
		if (arch_syscall6(SYS_rt_tgsigqueueinfo, pid, slots[i].t.tid, stop_sig, (long)&si, 0,
				  0) == 0) {
			want++;
		} else {
			atomic_store(&slots[i].state, GAVE_UP);
			slots[i].t.why = TS_NO_ANSWER;   /* it ended meanwhile, or the queue is full */
		}
	}
	uint64_t deadline = sys_now_ns() + ANSWER_NS;
	int got;
	while ((got = atomic_load(&answered)) < want) {
		uint64_t now = sys_now_ns();
		if (now >= deadline)
			break;
		uint64_t left = deadline - now;
		futex((volatile void *)&answered, FUTEX_WAIT, (unsigned)got, left < 10000000 ? left : 10000000);
	}
	for (size_t i = 0; i < nslots; i++) {
		if (slots[i].t.why != TS_STOPPED)
			continue;
		int expected = SIGNALLED;
		if (atomic_compare_exchange_strong(&slots[i].state, &expected, GAVE_UP)) {
			slots[i].t.why = TS_NO_ANSWER;
			continue;
		}
		while (atomic_load(&slots[i].state) == SAVING)   /* a few instructions away */
			sched_yield();
	}
	size_t too_many = counts[TS_TOO_MANY];   /* counted by the list; a stop may come twice */
	memset(counts, 0, sizeof counts);
	counts[TS_TOO_MANY] = too_many;
	for (size_t i = 0; i < nslots; i++)
		counts[slots[i].t.why]++;
	bool (*fn)(void) = atomic_exchange(&then, NULL);
	return fn && fn();
}

void threadstop_then(bool (*fn)(void))
{
	atomic_store(&then, fn);
}

void threadstop_resume(void)
{
	atomic_store(&hold, 0);
	futex((volatile void *)&hold, FUTEX_WAKE, INT32_MAX, 0);
}

const ts_thread_t *threadstop_thread(size_t i)
{
	return i < nslots ? &slots[i].t : NULL;
}

void threadstop_counts(size_t *out)
{
	memcpy(out, counts, sizeof counts);
}
