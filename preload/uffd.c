/* uffd.c: lazy regions served by userfaultfd (see uffd.h).  Invariants: the table only
 * changes with maptab's lock held as well as ours (so a fork never sees it half-changed),
 * and the handler holds our lock from looking an address up until its chunk is copied in,
 * so an entry (and its fd) cannot vanish or be reused under a fill in progress.  Pieces of
 * one mapping share one fd (closed when no entry uses it), so splitting a region never
 * needs a new descriptor.  A page wholly past the file's end is never filled: it becomes
 * the file mapping it stands for, so the access gets the kernel's own SIGBUS. */
#include "uffd.h"
#include "threads.h"
#include "fmt.h"
#include "state.h"
#include "swapfill.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LAZY_MAX 4096
#define MOVE_MAX 32

typedef struct {
	uintptr_t lo, hi;   /* the range still served */
	uintptr_t org;      /* where file offset `off` is mapped; chunks are aligned to it */
	off_t off;
	int fd;             /* our own dup of the program's fd, shared by its pieces */
	int prot;           /* as mapped, for the file pages standing in past EOF */
	size_t chunk;
} lazy_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static lazy_t *tab;
static size_t ntab;
static int ufd = -1;
static int open_err = -1;       /* -1: not tried yet */
static bool handler_running;
static char *buf;               /* the handler's chunk buffer */
static size_t buf_len;
static bool said_read, said_lost;
static int *gone;               /* fds of dropped entries, closed once no entry uses them */
static size_t ngone;

static void say_once(bool *said, const char *what, int err)
{
	if (*said)
		return;
	*said = true;
	char msg[256];
	fmt_t f;
	fmt_init(&f, msg, sizeof msg);
	fmt_str(&f, what);
	if (err) {
		fmt_str(&f, " (");
		fmt_str(&f, strerrorname_np(err));
		fmt_chr(&f, ')');
	}
	fmt_say(msg);
}

static int open_fd(int *err)
{
	int fd = (int)sys_syscall(SYS_userfaultfd, O_CLOEXEC);
	*err = fd < 0 ? errno : 0;
#ifdef USERFAULTFD_IOC_NEW
	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
			sys_close(dev);
		}
	}
#endif
	if (fd < 0)
		return -1;
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	if (ioctl(fd, UFFDIO_API, &api) != 0 || !(api.ioctls & (1ull << _UFFDIO_REGISTER))) {
		*err = errno ? errno : ENOSYS;
		sys_close(fd);
		return -1;
	}
	*err = 0;
	return fd;
}

int uffd_ready(void)
{
	int saved = errno;
	pthread_mutex_lock(&lock);
	if (open_err < 0) {
		tab = sys_alloc(LAZY_MAX * sizeof *tab, true);
		gone = sys_alloc(LAZY_MAX * sizeof *gone, true);
		ufd = tab && gone ? open_fd(&open_err) : -1;
		if (!tab || !gone)
			open_err = ENOMEM;
	}
	int r = open_err;
	pthread_mutex_unlock(&lock);
	errno = saved;
	return r;
}

static lazy_t *find(uintptr_t addr)
{
	for (size_t i = 0; i < ntab; i++)
		if (tab[i].lo <= addr && addr < tab[i].hi)
			return &tab[i];
	return NULL;
}

static void wake(int fd, uintptr_t lo, size_t len)
{
	struct uffdio_range r = { .start = lo, .len = len };
	ioctl(fd, UFFDIO_WAKE, &r);
}

/* Copy buf into [lo, lo + len), skipping pages already present (a fork child's inherited
 * pages, or a page the program dropped and refaulted): those keep their contents. */
static void copy_in(int fd, uintptr_t lo, size_t len)
{
	size_t page = sys_page_size(), done = 0;
	bool skipped = false;
	while (done < len) {
		struct uffdio_copy c = {
			.dst = lo + done, .src = (uintptr_t)buf + done, .len = len - done, .mode = 0,
		};
		if (ioctl(fd, UFFDIO_COPY, &c) == 0)
			break;
		int err = errno;
		done += c.copy > 0 ? (size_t)c.copy : 0;
		if (err == EEXIST) {
			done += page;
			skipped = true;
		} else if (err != EAGAIN) {
			break;   /* the range went away (munmap race): nobody waits on it */
		}
	}
	if (skipped)
		wake(fd, lo, len);
}

/* Where the file behind e ends now (the file may have been truncated since the mmap). */
static uintptr_t eof_addr(const lazy_t *e)
{
	struct stat st;
	if (fstat(e->fd, &st) != 0)
		return UINTPTR_MAX;   /* unknown: read, and let pread say */
	if (st.st_size <= e->off)
		return e->org;
	uint64_t past = (uint64_t)(st.st_size - e->off);
	return past > UINTPTR_MAX - e->org ? UINTPTR_MAX : e->org + (uintptr_t)past;
}

/* The page at addr lies wholly past the end of the file: a file mapping would raise SIGBUS
 * there, so put the file mapping itself in place and let the access retry against it. */
static void stand_in_file(int fd, const lazy_t *e, uintptr_t addr, size_t page)
{
	int prot = e->prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
	off_t off = e->off + (off_t)(addr - e->org);
	if (sys_mmap((void *)addr, page, prot ? prot : PROT_READ, MAP_PRIVATE | MAP_FIXED, e->fd,
		     off) == MAP_FAILED) {
		say_once(&said_read, "a lazily swapped page lies past the end of its truncated "
			 "file; serving zeros", errno);
		struct uffdio_zeropage z = { .range = { .start = addr, .len = page }, .mode = 0 };
		ioctl(fd, UFFDIO_ZEROPAGE, &z);
	}
	wake(fd, addr, page);
}

static void serve(int fd, uintptr_t addr)
{
	size_t page = sys_page_size();
	addr &= ~(uintptr_t)(page - 1);
	pthread_mutex_lock(&lock);
	lazy_t *e = find(addr);
	if (!e) {
		/* Registered but not ours any more (a stale event after munmap, or an entry lost
		 * to a full table): never leave the thread waiting forever. */
		struct uffdio_zeropage z = { .range = { .start = addr, .len = page }, .mode = 0 };
		if (ioctl(fd, UFFDIO_ZEROPAGE, &z) != 0 && errno != ENOENT)
			wake(fd, addr, page);
		pthread_mutex_unlock(&lock);
		return;
	}
	uintptr_t lo = e->org + (addr - e->org) / e->chunk * e->chunk;
	uintptr_t hi = lo + e->chunk;
	lo = lo < e->lo ? e->lo : lo;
	hi = hi > e->hi ? e->hi : hi;
	uintptr_t end = eof_addr(e);
	if (end <= addr) {
		stand_in_file(fd, e, addr, page);
		pthread_mutex_unlock(&lock);
		return;
	}
	if (end < hi)   /* pages past the end are left for their own faults (SIGBUS) */
		hi = lo + ((end - lo + page - 1) & ~(uintptr_t)(page - 1));
	off_t off = e->off + (off_t)(lo - e->org);
	int err = swapfill_range(buf, hi - lo, e->fd, off, e->chunk, false);
	if (err) {
		say_once(&said_read, "reading a lazily swapped file failed; serving zeros", err);
		memset(buf, 0, hi - lo);
	}
	copy_in(fd, lo, hi - lo);
	posix_fadvise(e->fd, off, (off_t)(hi - lo), POSIX_FADV_DONTNEED);
	pthread_mutex_unlock(&lock);
}

static void *handler_main(void *arg)
{
	ag_hook.in = 1;   /* anything we call that allocates is passed straight to libc */
	threads_internal_start();
	int fd = (int)(intptr_t)arg;
	for (;;) {
		struct uffd_msg msg;
		ssize_t n = sys_read(fd, &msg, sizeof msg);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != (ssize_t)sizeof msg)
			break;
		if (msg.event == UFFD_EVENT_PAGEFAULT)
			serve(fd, (uintptr_t)msg.arg.pagefault.address);
	}
	return NULL;
}

static int start_handler(void)
{
	if (handler_running)
		return 0;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	threads_internal_starting(1);
	int rc = pthread_create(&t, &attr, handler_main, (void *)(intptr_t)ufd);
	if (rc)
		threads_internal_starting(-1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	handler_running = rc == 0;
	return rc;
}

static int register_range(uintptr_t lo, uintptr_t hi)
{
	struct uffdio_register reg = {
		.range = { .start = lo, .len = hi - lo }, .mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	return ioctl(ufd, UFFDIO_REGISTER, &reg) == 0 ? 0 : errno;
}

static bool fd_used(int fd)
{
	for (size_t i = 0; i < ntab; i++)
		if (tab[i].fd == fd)
			return true;
	return false;
}

/* e's fd may be unused now; closed by close_gone() once the table change is complete. */
static void drop_fd(int fd)
{
	for (size_t i = 0; i < ngone; i++)
		if (gone[i] == fd)
			return;
	if (ngone < LAZY_MAX)
		gone[ngone++] = fd;
}

static void close_gone(void)
{
	for (size_t i = 0; i < ngone; i++)
		if (!fd_used(gone[i]))
			sys_close(gone[i]);
	ngone = 0;
}

static void push(const lazy_t *e)
{
	if (ntab < LAZY_MAX) {
		tab[ntab++] = *e;
		return;
	}
	drop_fd(e->fd);
	say_once(&said_lost, "too many lazily swapped pieces; some now read as zeros", 0);
}

static void forget_locked(uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < ntab;) {
		lazy_t *e = &tab[i];
		if (e->hi <= lo || hi <= e->lo) {
			i++;
			continue;
		}
		bool left = e->lo < lo, right = hi < e->hi;
		if (left && right) {
			lazy_t r = *e;
			r.lo = hi;
			e->hi = lo;
			push(&r);
			i++;
		} else if (left) {
			e->hi = lo;
			i++;
		} else if (right) {
			e->lo = hi;
			i++;
		} else {
			drop_fd(e->fd);
			tab[i] = tab[--ntab];
		}
	}
}

int uffd_add(uintptr_t lo, uintptr_t hi, int fd, off_t off, size_t chunk, int prot)
{
	int saved = errno, err = 0;
	pthread_mutex_lock(&lock);
	if (open_err) {
		err = open_err < 0 ? ENOSYS : open_err;
		goto out;
	}
	forget_locked(lo, hi);
	if (ntab >= LAZY_MAX) {
		err = ENOSPC;
		goto out;
	}
	if (chunk > buf_len) {
		char *fresh = sys_alloc(chunk, false);
		if (!fresh) {
			err = ENOMEM;
			goto out;
		}
		sys_free(buf, buf_len);
		buf = fresh;
		buf_len = chunk;
	}
	if ((err = register_range(lo, hi)))
		goto out;
	if ((err = start_handler())) {
		struct uffdio_range r = { .start = lo, .len = hi - lo };
		ioctl(ufd, UFFDIO_UNREGISTER, &r);
		goto out;
	}
	tab[ntab++] = (lazy_t){ .lo = lo, .hi = hi, .org = lo, .off = off, .fd = fd, .prot = prot,
				.chunk = chunk };
out:
	close_gone();
	pthread_mutex_unlock(&lock);
	errno = saved;
	return err;
}

void uffd_forget(uintptr_t lo, uintptr_t hi)
{
	if (!ntab)   /* written only under maptab's lock, which our callers hold */
		return;
	int saved = errno;
	pthread_mutex_lock(&lock);
	forget_locked(lo, hi);
	close_gone();
	pthread_mutex_unlock(&lock);
	errno = saved;
}

/* [old, old + old_len) now (also, with keep_old) lives at new_addr: serve it there. */
static void follow(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len,
		   bool keep_old)
{
	if (!ntab)
		return;
	int saved = errno;
	size_t keep = old_len < new_len ? old_len : new_len;
	uintptr_t delta = new_addr - old;
	lazy_t moved[MOVE_MAX];
	size_t n = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ntab; i++) {
		lazy_t m = tab[i];
		if (m.hi <= old || old + keep <= m.lo)
			continue;
		if (n == MOVE_MAX) {
			say_once(&said_lost, "a moved lazily swapped region has more than 32 pieces; "
				 "the unread pages of the rest now read as zeros", 0);
			break;
		}
		m.lo = (m.lo > old ? m.lo : old) + delta;
		m.hi = (m.hi < old + keep ? m.hi : old + keep) + delta;
		m.org += delta;
		/* Growth maps more of the same file, as it would for a file mapping. */
		if (new_len > old_len && m.hi == new_addr + keep && tab[i].hi >= old + old_len)
			m.hi = new_addr + new_len;
		moved[n++] = m;
	}
	if (!keep_old)
		forget_locked(old, old + old_len);
	forget_locked(new_addr, new_addr + new_len);
	for (size_t i = 0; i < n; i++) {
		/* A moved range loses its registration (no UFFD_FEATURE_EVENT_REMAP): redo it. */
		int err = register_range(moved[i].lo, moved[i].hi);
		if (err) {
			drop_fd(moved[i].fd);
			say_once(&said_lost, "cannot follow a moved lazily swapped region; its "
				 "unread pages now read as zeros", err);
			continue;
		}
		push(&moved[i]);
	}
	close_gone();
	pthread_mutex_unlock(&lock);
	errno = saved;
}

void uffd_moved(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len)
{
	follow(old, old_len, new_addr, new_len, false);
}

void uffd_copied(uintptr_t old, size_t len, uintptr_t new_addr)
{
	follow(old, len, new_addr, len, true);
}

void uffd_postfork_child(void)
{
	pthread_mutex_init(&lock, NULL);
	handler_running = false;
	if (open_err != 0)
		return;
	/* The inherited fd belongs to the parent's address space; the child's copies of the
	 * lazy regions were unregistered by fork. */
	sys_close(ufd);
	ufd = open_fd(&open_err);
	if (ufd < 0) {
		if (ntab)
			say_once(&said_lost, "fork child cannot serve lazily swapped pages; unread "
				 "pages read as zeros", open_err);
		return;
	}
	for (size_t i = 0; i < ntab; i++)
		register_range(tab[i].lo, tab[i].hi);
	if (ntab)
		start_handler();
}

size_t uffd_lazy_bytes(void)
{
	size_t total = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ntab; i++)
		total += tab[i].hi - tab[i].lo;
	pthread_mutex_unlock(&lock);
	return total;
}
