/* threads.c: registry of allocating threads (see threads.h).  A slot is claimed on a thread's
 * first tracked allocation; a pthread key destructor marks it dead at thread exit.  Slots
 * are claimed with a CAS; when all are taken, dead ones are reused. */
#include "threads.h"

#include "fdguard.h"
#include "fmt.h"
#include "sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SLOTS 4096

enum { FREE = 0, ALIVE = 1, DEAD = 2 };

static struct {
	_Atomic int state;
	uintptr_t stack_addr;
	uintptr_t tcb;          /* pthread_self() */
} slots[SLOTS];

#define INTERNAL_MAX 8
static _Atomic pid_t internal[INTERNAL_MAX];
static _Atomic int starting;   /* created, not registered yet */

static pthread_key_t key;
static bool have_key;
static __thread int my_slot __attribute__((tls_model("initial-exec")));   /* index + 1 */

static void on_exit_thread(void *arg)
{
	uintptr_t i = (uintptr_t)arg - 1;
	if (i < SLOTS)
		atomic_store(&slots[i].state, DEAD);
}

void threads_init(void)
{
	have_key = pthread_key_create(&key, on_exit_thread) == 0;
}

static bool claim(int i, int from, uintptr_t addr)
{
	int expected = from;
	if (!atomic_compare_exchange_strong(&slots[i].state, &expected, -1))
		return false;
	slots[i].stack_addr = addr;
	slots[i].tcb = (uintptr_t)pthread_self();
	atomic_store(&slots[i].state, ALIVE);
	return true;
}

void threads_note(void)
{
	if (my_slot || !have_key)
		return;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < SLOTS; i++) {
			if (claim(i, pass == 0 ? FREE : DEAD, here)) {
				my_slot = i + 1;
				pthread_setspecific(key, (void *)(uintptr_t)my_slot);
				return;
			}
		}
	}
	my_slot = -1;   /* registry full: this thread's stack is always scanned */
}

bool threads_dead_stack(uintptr_t lo, uintptr_t hi, uintptr_t *tcb)
{
	bool dead = false;
	for (int i = 0; i < SLOTS; i++) {
		int st = atomic_load(&slots[i].state);
		uintptr_t a = slots[i].stack_addr;
		if (st != ALIVE && st != DEAD)
			continue;
		if (a < lo || a >= hi)
			continue;
		if (st == ALIVE)
			return false;
		dead = true;
		*tcb = slots[i].tcb;
	}
	return dead;
}

void threads_postfork_child(void)
{
	atomic_store(&starting, 0);
	for (int i = 0; i < INTERNAL_MAX; i++)
		atomic_store(&internal[i], 0);
	/* Only the forking thread survives in the child. */
	for (int i = 0; i < SLOTS; i++)
		if (i + 1 != my_slot && atomic_load(&slots[i].state) == ALIVE)
			atomic_store(&slots[i].state, DEAD);
}

void threads_internal_starting(int delta)
{
	atomic_fetch_add(&starting, delta);
}

int threads_internal_pending(void)
{
	return atomic_load(&starting);
}

void threads_internal_start(void)
{
	pid_t tid = sys_gettid();
	atomic_fetch_sub(&starting, 1);
	for (int i = 0; i < INTERNAL_MAX; i++) {
		pid_t expected = 0;
		if (atomic_compare_exchange_strong(&internal[i], &expected, tid))
			return;
	}
}

bool threads_is_internal(pid_t tid)
{
	for (int i = 0; i < INTERNAL_MAX; i++)
		if (atomic_load(&internal[i]) == tid)
			return true;
	return false;
}

ssize_t threads_task_read(pid_t tid, const char *file, char *buf, size_t cap)
{
	char path[64];
	fmt_t f;
	fmt_init(&f, path, sizeof path);
	fmt_str(&f, "/proc/self/task/");
	fmt_u64(&f, (uint64_t)tid);
	fmt_chr(&f, '/');
	fmt_str(&f, file);
	fdguard_begin();   /* the program cannot close our descriptor and reuse it meanwhile */
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fdguard_brief(fd);
		n = cap ? sys_read(fd, buf, cap - 1) : -1;
		if (n >= 0)
			buf[n] = '\0';
		fdguard_brief_close(fd);
	}
	fdguard_end();
	return n;
}

/* State letter of a task from /proc/self/task/TID/stat ("TID (comm) S ..."), 0 if gone. */
static char task_state(pid_t tid)
{
	char buf[512];
	ssize_t n = threads_task_read(tid, "stat", buf, sizeof buf);
	if (n <= 0)
		return 0;
	const char *paren = NULL;
	for (ssize_t i = n - 1; i >= 0 && !paren; i--)
		if (buf[i] == ')')
			paren = buf + i;
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* Has the main thread ended (pthread_exit from main)?  Asked every second, so without a
 * descriptor: the kernel empties a thread's robust-futex list head (which glibc registers
 * for every thread) when the thread exits; only then is /proc asked. */
static bool main_ended(pid_t pid)
{
	void *head = NULL;
	size_t len = 0;
	if (sys_syscall(SYS_get_robust_list, pid, &head, &len) == 0 && head)
		return false;
	char st = task_state(pid);
	return st == 'Z' || st == 'X';
}

bool threads_only_internal_left(void)
{
	pid_t pid = getpid();
	if (!main_ended(pid))
		return false;   /* the usual case: main is running */
	fdguard_begin();
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fdguard_end();
		return false;
	}
	fdguard_brief(fd);
	char buf[4096];
	bool others = false;
	long n;
	/* A thread other than the leader is reaped as it ends: listed means still running. */
	while (!others && (n = sys_syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n && !others;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			pid_t tid = 0;
			for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid == pid || threads_is_internal(tid))
				continue;
			char ts = task_state(tid);
			others = ts != 0 && ts != 'Z' && ts != 'X';
		}
	}
	fdguard_brief_close(fd);
	fdguard_end();
	return !others;
}
