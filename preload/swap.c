/* swap.c: model-file mmap swap (see swap.h).  Decides which file mappings are served from
 * anonymous memory, charges the cap, maps and fills (eagerly here with swapfill.c, or on
 * first touch through uffd.c), records the piece in maptab and posts the log's W events.
 * Runs on the mmap hook path: no malloc, no stdio. */
#include "swap.h"
#include "fmt.h"
#include "swapglob.h"
#include "logfmt.h"
#include "mapcharge.h"
#include "maptab.h"
#include "memavail.h"
#include "outbox.h"
#include "stacks.h"
#include "state.h"
#include "swapfill.h"
#include "sys.h"
#include "uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The eager fill drops the file's page cache behind itself every this many bytes, so a
 * model is never held in memory twice. */
#define FADVISE_WINDOW ((size_t)64 << 20)
#define RW (PROT_READ | PROT_WRITE)

/* The file behind fd, when it is a model file we should serve: regular, readable, named by
 * a swap glob, big enough. */
static bool candidate(int fd, char *path, size_t cap)
{
	char link[40];
	fmt_t f;
	fmt_init(&f, link, sizeof link);
	fmt_str(&f, "/proc/thread-self/fd/");   /* the leader may be a zombie */
	fmt_u64(&f, (uint64_t)fd);
	ssize_t n = readlink(link, path, cap - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	struct stat st;
	int acc = fcntl(fd, F_GETFL);
	if (acc < 0 || (acc & O_PATH) || (acc & O_ACCMODE) == O_WRONLY)
		return false;   /* the kernel's EACCES / EBADF stands */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	if (st.st_nlink == 0 && (size_t)n > dl && !memcmp(path + n - dl, deleted, dl))
		path[n - dl] = '\0';
	return swapglob_list_match(ag_config.swap, path) && (uint64_t)st.st_size >= ag_config.swap_min;
}

/* Fill [p, p + len) from the file, dropping the page cache behind us. */
static int fill_eager(char *p, size_t len, int fd, off_t off)
{
	size_t chunk = ag_config.chunk;
	size_t window = chunk >= FADVISE_WINDOW ? chunk : FADVISE_WINDOW / chunk * chunk;
	for (size_t done = 0; done < len; done += window) {
		size_t n = len - done < window ? len - done : window;
		int err = swapfill_range(p + done, n, fd, off + (off_t)done, chunk, true);
		if (err)
			return err;
		posix_fadvise(fd, off + (off_t)done, (off_t)n, POSIX_FADV_DONTNEED);
	}
	return 0;
}

/* The charge for mapping st over [lo, lo + len): a fresh range only adds, a MAP_FIXED one
 * also releases what it replaces.  Called with maptab's lock held. */
static map_delta_t delta_for(uintptr_t lo, size_t len, bool fixed, const mapstate_t *st)
{
	map_delta_t d = { { 0 } };
	if (fixed)
		return maptab_delta_assign(lo, lo + len, st);
	d.d[ACC_SWAPPED] = (int64_t)len;
	return d;
}

/* [lo, hi) is gone (a failed MAP_FIXED replaced it): release it like a munmap would. */
static void drop_range(uintptr_t lo, uintptr_t hi)
{
	mapcharge_drop_stale(lo, hi);
	uffd_forget(lo, hi);
}

/* Eager: fill a private staging copy, then put it in place.  A fresh range is filled
 * without maptab's lock (nobody else knows the address yet, and a long read must not stall
 * every other mapping call); MAP_FIXED keeps the lock and moves the filled copy over the
 * target with one mremap, so a failed read leaves the old mapping untouched. */
static void *map_eager(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		       const mapstate_t *st)
{
	bool fixed = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	maptab_lock();
	map_delta_t d = delta_for((uintptr_t)addr, len, fixed, st);
	if (mapcharge_charge(&d, "swapped mmap", false)) {
		maptab_unlock();
		errno = ENOMEM;
		return MAP_FAILED;
	}
	if (!fixed)
		maptab_unlock();
	int aflags = MAP_PRIVATE | MAP_ANONYMOUS | (flags & MAP_FIXED_NOREPLACE);
	char *p = sys_mmap(fixed ? NULL : addr, len, RW, aflags, -1, 0);
	int err = p == MAP_FAILED ? errno : fill_eager(p, len, fd, off);
	if (!err && prot != RW && sys_mprotect(p, len, prot) != 0)
		err = errno;
	if (!err && fixed &&
	    sys_mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr) == MAP_FAILED)
		err = errno;
	if (!fixed)
		maptab_lock();
	if (err) {
		if (p != MAP_FAILED)
			sys_munmap(p, len);
		mapcharge_uncharge(&d);
		maptab_unlock();
		errno = err;
		return MAP_FAILED;
	}
	void *r = fixed ? addr : p;
	if (!fixed)
		mapcharge_drop_stale((uintptr_t)r, (uintptr_t)r + len);   /* see mapcharge_drop_stale */
	maptab_assign((uintptr_t)r, (uintptr_t)r + len, st);
	mapcharge_gained();
	uffd_forget((uintptr_t)r, (uintptr_t)r + len);
	maptab_unlock();
	return r;
}

/* Lazy: map empty memory where the program asked and let uffd.c fill it on first touch.
 * When registering fails, fill it now instead (*lazy becomes false). */
static void *map_lazy(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		      const mapstate_t *st, bool *lazy)
{
	bool fixed = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);   /* the program may close its fd */
	if (own < 0) {
		*lazy = false;
		return map_eager(addr, len, prot, flags, fd, off, st);
	}
	size_t page = sys_page_size();
	size_t chunk = (ag_config.chunk + page - 1) & ~(page - 1);
	maptab_lock();
	map_delta_t d = delta_for((uintptr_t)addr, len, fixed, st);
	if (mapcharge_charge(&d, "swapped mmap", false)) {
		maptab_unlock();
		sys_close(own);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	int aflags = MAP_PRIVATE | MAP_ANONYMOUS | (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE));
	char *p = sys_mmap(addr, len, prot, aflags, -1, 0);
	int err = p == MAP_FAILED ? errno : 0;
	if (!err && uffd_add((uintptr_t)p, (uintptr_t)p + len, own, off, chunk, prot) != 0) {
		*lazy = false;
		sys_close(own);
		own = -1;
		err = sys_mprotect(p, len, RW) != 0 ? errno : fill_eager(p, len, fd, off);
		if (!err && prot != RW && sys_mprotect(p, len, prot) != 0)
			err = errno;
		if (err)
			sys_munmap(p, len);
	}
	if (err) {
		if (own >= 0)
			sys_close(own);
		mapcharge_uncharge(&d);
		if (fixed && p != MAP_FAILED)
			drop_range((uintptr_t)addr, (uintptr_t)addr + len);
		maptab_unlock();
		errno = err;
		return MAP_FAILED;
	}
	if (!fixed)
		mapcharge_drop_stale((uintptr_t)p, (uintptr_t)p + len);
	maptab_assign((uintptr_t)p, (uintptr_t)p + len, st);
	mapcharge_gained();
	maptab_unlock();
	return p;
}

/* "swap: /models/x.gguf (1.2 GiB)" leading a message about one model file. */
static void say_file(fmt_t *f, char *buf, size_t len, const char *path, uint64_t plen)
{
	fmt_init(f, buf, len);
	fmt_str(f, "swap: ");
	fmt_str(f, path);
	fmt_str(f, " (");
	fmt_size(f, plen);
	fmt_chr(f, ')');
}

/* A copy of the file must fit in the memory left (cgroup limits, MemAvailable) with room to
 * spare, or serving it from anonymous memory turns a program that works bare into an OOM
 * kill (file pages are reclaimable, ours are not).  Otherwise the mapping is left
 * file-backed, said on stderr (for the first few files) and in the W line. */
static bool fits_in_memory(uint64_t plen, const char *path)
{
	static _Atomic int said;
	memavail_t m = memavail_now();
	if (m.bytes == UINT64_MAX || plen <= m.bytes - m.bytes / 8)
		return true;
	if (atomic_fetch_add(&said, 1) < 4) {
		char msg[PATH_MAX + 300];
		fmt_t f;
		say_file(&f, msg, sizeof msg, path, plen);
		fmt_str(&f, " does not fit in the memory left (");
		fmt_size(&f, m.bytes);
		fmt_str(&f, !strcmp(m.where, "cgroup") ? " under the cgroup's limit" : " available");
		fmt_str(&f, "): left file-backed and not counted");
		fmt_say(msg);
	}
	return false;
}

/* A model file refused at the cap: which one, and how to have it mapped from the file
 * instead (file-backed pages are not counted). */
static void say_refused(const char *path, size_t plen)
{
	int saved = errno;
	char msg[PATH_MAX + 400];
	fmt_t f;
	say_file(&f, msg, sizeof msg, path, plen);
	fmt_str(&f, " was refused at the cap; to map it from the file instead (not counted), "
		"turn swap off for it: ALLOCGUARD_SWAP= (allocguard run --swap '') or a --swap "
		"list that leaves its pattern out; or raise --cap");
	fmt_say(msg);
	errno = saved;
}

/* Lazy mode needs userfaultfd; without it, say once and serve eagerly. */
static bool lazy_possible(void)
{
	static _Atomic bool said;
	int err = uffd_ready();
	if (err && !atomic_exchange(&said, true)) {
		char msg[200];
		fmt_t f;
		fmt_init(&f, msg, sizeof msg);
		fmt_str(&f, "swap-mode lazy needs userfaultfd, which is unavailable (");
		fmt_str(&f, strerrorname_np(err));
		fmt_str(&f, "); model files are filled eagerly");
		fmt_say(msg);
	}
	return err == 0;
}

bool swap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off, void **out)
{
	if (!ag_config.swap[0] || !ag_ready() || fd < 0 || (flags & MAP_ANONYMOUS) || !len)
		return false;
	size_t page = sys_page_size();
	int type = flags & MAP_TYPE;
	bool fixed = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
	/* Requests the kernel would refuse or that are not plain file mappings keep the
	 * kernel's own answer. */
	if ((type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) ||
	    (flags & (MAP_HUGETLB | MAP_GROWSDOWN)) || off < 0 || ((uint64_t)off & (page - 1)) ||
	    (fixed && ((uintptr_t)addr & (page - 1))) || len > SIZE_MAX - page)
		return false;
	int saved = errno;
	char path[PATH_MAX];
	if (!candidate(fd, path, sizeof path)) {
		errno = saved;
		return false;
	}
	if (type != MAP_PRIVATE && (prot & PROT_WRITE)) {
		outbox_swap_event(AG_SWAP_PASSTHROUGH_SHARED_WRITABLE, len, path);   /* writes must reach the file */
		errno = saved;
		return false;
	}
	size_t plen = (len + page - 1) & ~(page - 1);
	if (!fits_in_memory(plen, path)) {
		outbox_swap_event(AG_SWAP_PASSTHROUGH_MEMORY, plen, path);
		errno = saved;
		return false;
	}
	mapstate_t st = { .kind = AG_KIND_SWAP, .prot = prot, .stack = stacks_here(AG_KIND_SWAP) };
	int mode = AG_SWAP_EAGER;
	void *r;
	if (ag_config.swap_mode == AG_SWAP_LAZY && lazy_possible()) {
		bool lazy = true;
		r = map_lazy(addr, plen, prot, flags, fd, off, &st, &lazy);
		mode = lazy ? AG_SWAP_LAZY : AG_SWAP_EAGER_FALLBACK;
	} else {
		r = map_eager(addr, plen, prot, flags, fd, off, &st);
		if (ag_config.swap_mode == AG_SWAP_LAZY)
			mode = AG_SWAP_EAGER_FALLBACK;
	}
	if (r != MAP_FAILED) {
		outbox_swap_event(mode, plen, path);
		errno = saved;
	} else if (errno == ENOMEM) {
		say_refused(path, plen);
	}
	*out = r;
	return true;
}

void swap_unmapped(uintptr_t lo, uintptr_t hi)
{
	uffd_forget(lo, hi);
}

void swap_remapped(uintptr_t old, size_t old_len, uintptr_t new_addr, size_t new_len)
{
	uffd_moved(old, old_len, new_addr, new_len);
}

void swap_copied(uintptr_t old, size_t len, uintptr_t new_addr)
{
	uffd_copied(old, len, new_addr);
}

void swap_postfork_child(void)
{
	uffd_postfork_child();
}
