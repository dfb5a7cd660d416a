/* logwrite.c: the log writer (see logwrite.h).  The file is created 0600 with
 * O_EXCL|O_NOFOLLOW (never through an existing file or symlink: the next free name is taken
 * and named on stderr) at the first snapshot, or earlier when the program is about to give
 * up the right to create it (setuid to another user, chroot: hooks_priv.c calls
 * logwrite_create).  It then stays open for the process's life at a high descriptor number that fdguard.c keeps
 * out of the program's reach (its close-everything loops get EBADF, its dup2 onto that
 * number moves ours), and every snapshot checks it is still our file: when the program took
 * it anyway (raw syscalls) the path is reopened; when the file was removed, a new log starts.
 * A snapshot is only complete once its E line is on disk.  The file is a gzip stream unless
 * ALLOCGUARD_LOG_COMPRESS=0 (logbuf.h): flushed (sync) after the header and after every
 * snapshot, finished after the snapshot that ends this image's log (exit, exec, abort). */
#include "logwrite.h"
#include "reach.h"
#include "sandbox.h"
#include "account.h"
#include "fdguard.h"
#include "fmt.h"
#include "churn.h"
#include "jsprof.h"
#include "logbuf.h"
#include "logevents.h"
#include "logfmt.h"
#include "logfile.h"
#include "logsizes.h"
#include "modules.h"
#include "outbox.h"
#include "peak.h"
#include "stacktab.h"
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static logbuf_t lb = { .fd = -1 };
static char pattern[OPT_STR_MAX + 4096];   /* absolute */
static char exe[4096], exe_name[256];
static char cmdline[16384];
static size_t cmdline_len;
static bool disabled;                       /* open failed: said once, no more tries */
static bool reserved;                       /* fdguard holds the unnamed log (logfile.h) */
static bool created;                        /* the file of this generation exists */
static bool headed;                         /* and has its header */
static char log_path[OPT_STR_MAX + 4200];
static dev_t log_dev;
static ino_t log_ino;
static uint32_t gen = 1;                    /* log generation; new in each fork child */
static uint64_t seq;                        /* next snapshot number in this file */
static unsigned long long modules_seen;
static bool jit_said;
static pid_t scanner;                       /* the scanner child writing this log (X line) */
static _Atomic uint64_t written;

void logwrite_lock(void)
{
	pthread_mutex_lock(&lock);
	fdguard_lock();
}

void logwrite_unlock(void)
{
	fdguard_unlock();
	pthread_mutex_unlock(&lock);
}
uint64_t logwrite_written(void) { return atomic_load(&written); }

static void read_cmdline(void)
{
	ssize_t n = fmt_read_file("/proc/self/cmdline", cmdline, sizeof cmdline);
	cmdline_len = n > 0 ? (size_t)n : 0;
}

/* The log's descriptor, before the program runs (logfile.h). */
static void reserve(void)
{
	char first[sizeof pattern + 64];
	fmt_t f;
	fmt_init(&f, first, sizeof first);
	fmt_pattern(&f, pattern, (uint64_t)ag_pid, exe_name);
	reserved = !f.truncated && logfile_reserve(first) >= 0;
}

void logwrite_init(void)
{
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	const char *slash = strrchr(exe, '/');
	fmt_t f;
	fmt_init(&f, exe_name, sizeof exe_name);
	fmt_str(&f, slash ? slash + 1 : (exe[0] ? exe : "unknown"));
	read_cmdline();
	fmt_init(&f, pattern, sizeof pattern);
	if (ag_config.log[0] != '/') {
		char cwd[4096];
		if (getcwd(cwd, sizeof cwd)) {
			fmt_str(&f, cwd);
			fmt_chr(&f, '/');
		}
	}
	fmt_str(&f, ag_config.log);
	reserve();
}

static int open_log(void)
{
	char path[sizeof pattern + 64], first[sizeof path];
	fmt_t f;
	fmt_init(&f, first, sizeof first);
	fmt_pattern(&f, pattern, (uint64_t)ag_pid, exe_name);
	memcpy(path, first, f.len + 1);
	/* FIRST, FIRST.1 .. FIRST.99, then FIRST.PID.N: a fixed name shared by any number of
	 * processes (ALLOCGUARD_LOG=/x/fixed.log) always finds a free one. */
	for (uint64_t i = 1; i < 100 + 1000000; i++) {
		int fd = logfile_create_at(path, &reserved);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) == 0) {
				log_dev = st.st_dev;
				log_ino = st.st_ino;
			}
			memcpy(log_path, path, strlen(path) + 1);
			if (i > 1 && !logfile_earlier_image(&lb, first, (uint64_t)ag_pid)) {
				char msg[sizeof path * 2 + 64];
				fmt_t m;
				fmt_init(&m, msg, sizeof msg);
				fmt_str(&m, "log ");
				fmt_str(&m, first);
				fmt_str(&m, " exists; writing ");
				fmt_str(&m, path);
				fmt_str(&m, " instead");
				fmt_say(msg);
			}
			return fd;
		}
		if (errno != EEXIST && errno != ELOOP)
			break;
		fmt_init(&f, path, sizeof path);
		fmt_str(&f, first);
		fmt_chr(&f, '.');
		if (i >= 100) {
			fmt_u64(&f, (uint64_t)ag_pid);
			if (i > 100) {
				fmt_chr(&f, '.');
				fmt_u64(&f, i - 100);
			}
		} else {
			fmt_u64(&f, i);
		}
	}
	char msg[sizeof path + 128];
	fmt_t m;
	fmt_init(&m, msg, sizeof msg);
	fmt_str(&m, "cannot create log ");
	fmt_str(&m, path);
	fmt_str(&m, ": ");
	fmt_str(&m, strerrorname_np(errno));
	fmt_str(&m, "; no log for this process");
	fmt_say(msg);
	return -1;
}

static void write_header(void)
{
	char line[8192];
	fmt_t f;
	fmt_init(&f, line, sizeof line);
	fmt_str(&f, AG_LOG_MAGIC " ");
	fmt_u64(&f, AG_LOG_VERSION);
	logbuf_line(&lb, &f);
	fmt_init(&f, line, sizeof line);
	fmt_str(&f, "P ");
	fmt_u64(&f, (uint64_t)ag_pid);
	fmt_chr(&f, ' ');
	fmt_u64(&f, (uint64_t)ag_ppid);
	fmt_chr(&f, ' ');
	fmt_u64(&f, sys_wall_ns() - (sys_now_ns() - ag_start_ns));
	fmt_chr(&f, ' ');
	fmt_escaped(&f, exe);
	logbuf_line(&lb, &f);
	for (size_t off = 0; off < cmdline_len;) {
		const char *arg = cmdline + off;
		size_t n = strnlen(arg, cmdline_len - off);
		char tmp[sizeof cmdline];
		memcpy(tmp, arg, n);
		tmp[n] = '\0';
		fmt_init(&f, line, sizeof line);
		fmt_str(&f, "A ");
		fmt_escaped(&f, tmp);
		logbuf_line(&lb, &f);
		off += n + 1;
	}
	for (size_t i = 0; i < opt_count; i++) {
		fmt_init(&f, line, sizeof line);
		if (opt_log_line(&opt_table[i], &ag_config, &f))
			logbuf_line(&lb, &f);
	}
}

static int64_t count_out(int64_t units)
{
	return units <= 0 ? 0 : (units + COUNT_ONE / 2) / COUNT_ONE;
}

/* S lines for stacks this log has not seen yet; they must precede the snapshot. */
static void write_new_stacks(uint32_t limit)
{
	char line[32 + AG_LOG_MAX_FRAMES * 18];
	for (uint32_t id = 1; id < limit; id++) {
		stack_rec_t *r = stacktab_get(id);
		if (!r || r->log_gen == gen)
			continue;
		if (!atomic_load_explicit(&r->alloc_count, memory_order_relaxed) &&
		    !atomic_load_explicit(&r->refused, memory_order_acquire))
			continue;   /* interned but never used (lost an insert race) */
		fmt_t f;
		fmt_init(&f, line, sizeof line);
		fmt_str(&f, "S ");
		fmt_u64(&f, id);
		fmt_chr(&f, ' ');
		fmt_chr(&f, r->kind);
		for (int i = 0; i < r->depth; i++) {
			fmt_chr(&f, ' ');
			fmt_hex(&f, r->frames[i]);
		}
		logbuf_line(&lb, &f);
		r->log_gen = gen;
		r->last_live_bytes = r->last_live_count = 0;
		r->last_total_count = r->last_temp_count = 0;
		r->last_peak_bytes = r->last_peak_count = 0;
	}
}

/* A record of type head ("L ") and the numbers v, separated by spaces, into line. */
static void record(fmt_t *f, char *line, size_t len, const char *head, const uint64_t *v,
		   size_t n)
{
	fmt_init(f, line, len);
	fmt_str(f, head);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fmt_chr(f, ' ');
		fmt_u64(f, v[i]);
	}
}

static uint64_t write_records(uint32_t limit, bool leaks)
{
	uint64_t nrec = 0;
	char line[160], hline[LOGSIZES_LINE];
	for (uint32_t id = 1; id < limit; id++) {
		stack_rec_t *r = stacktab_get(id);
		if (!r || r->log_gen != gen)
			continue;
		stack_totals_t t;
		stacktab_read(r, &t);
		if (leaks && r->kind == AG_KIND_HEAP) {
			/* the scan's moment for the whole site, as its R line */
			t.live_bytes = (int64_t)r->judged_bytes;
			t.live_count = (int64_t)r->judged_count;
		}
		int64_t lb_ = t.live_bytes, lc = t.live_count;
		uint64_t tb = t.total_bytes, tc = t.total_count, xc = t.temp_count;
		fmt_t f;
		if (lb_ != r->last_live_bytes || lc != r->last_live_count ||
		    tc != r->last_total_count || xc != r->last_temp_count) {
			uint64_t v[] = { id, (uint64_t)(lb_ < 0 ? 0 : lb_), (uint64_t)count_out(lc), tb,
					 (uint64_t)count_out((int64_t)tc),
					 (uint64_t)count_out((int64_t)xc) };
			record(&f, line, sizeof line, "L ", v, sizeof v / sizeof v[0]);
			logbuf_line(&lb, &f);
			if (tc != r->last_total_count && logsizes_line(&f, hline, sizeof hline, r))
				logbuf_line(&lb, &f);
			r->last_live_bytes = lb_;
			r->last_live_count = lc;
			r->last_total_count = tc;
			r->last_temp_count = xc;
			nrec++;
		}
		if (leaks && (r->lost_bytes || r->lost_count)) {
			uint64_t v[] = { id, r->lost_bytes, (uint64_t)count_out((int64_t)r->lost_count),
					 r->indirect_bytes,
					 (uint64_t)count_out((int64_t)r->indirect_count) };
			record(&f, line, sizeof line, "R ", v, sizeof v / sizeof v[0]);
			logbuf_line(&lb, &f);
			nrec++;
		}
	}
	return nrec;
}

/* K: the peak and its totals by kind; T: what each stack had live at it, for stacks whose
 * figures changed since this file's previous snapshot.  Returns the number of T lines. */
static uint64_t write_peak(uint32_t limit)
{
	uint64_t epoch = peak_epoch(), n = 0;
	peak_totals_t p;
	peak_read(&p);
	char line[160];
	fmt_t f;
	uint64_t fields[] = { p.tracked, p.heap, p.mapped, p.swapped };
	record(&f, line, sizeof line, "K ", fields, sizeof fields / sizeof fields[0]);
	logbuf_line(&lb, &f);
	for (uint32_t id = 1; id < limit; id++) {
		stack_rec_t *r = stacktab_get(id);
		if (!r || r->log_gen != gen)
			continue;
		int64_t b, c;
		stacktab_read_peak(r, epoch, &b, &c);
		if (b == r->last_peak_bytes && c == r->last_peak_count)
			continue;
		uint64_t v[] = { id, (uint64_t)(b < 0 ? 0 : b), (uint64_t)count_out(c) };
		record(&f, line, sizeof line, "T ", v, sizeof v / sizeof v[0]);
		logbuf_line(&lb, &f);
		r->last_peak_bytes = b;
		r->last_peak_count = c;
		n++;
	}
	return n;
}

/* Z: the requested sizes so far, trailing empty buckets left out. */
static void write_sizes(void)
{
	uint64_t h[AG_SIZE_BUCKETS];
	churn_sizes(h);
	unsigned n = AG_SIZE_BUCKETS;
	while (n > 1 && !h[n - 1])
		n--;
	char line[32 + AG_SIZE_BUCKETS * 21];
	fmt_t f;
	record(&f, line, sizeof line, "Z ", h, n);
	logbuf_line(&lb, &f);
}

/* The next snapshot goes to a new file, which gets the whole header and every stack. */
static void new_generation(void)
{
	created = false;
	headed = false;
	gen++;
	seq = 0;
	lb.gz = false;   /* that file's stream is given up; the next file begins its own */
	modules_seen = 0;
	jit_said = false;
}

/* Our file by its path again, after the held descriptor was taken from us; -1 (and a new
 * generation) when the file was removed or replaced meanwhile. */
static int reopen_log(void)
{
	int fd = open(log_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		fdguard_brief(fd);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == log_dev && st.st_ino == log_ino)
		return fd;
	if (fd >= 0)
		fdguard_brief_close(fd);
	fmt_say3("log ", log_path, " was removed or replaced; starting a new log");
	new_generation();
	return -1;
}

/* The held descriptor if it is still this generation's file; -1 otherwise (when the file
 * was removed, also a new generation: the next snapshot starts a new log). */
static int held_log(void)
{
	int fd = fdguard_held();
	struct stat st;
	if (fd < 0)
		return -1;
	if (sandbox_filtered())
		return fd;   /* fstat may be punished: the held number is trusted */
	if (fstat(fd, &st) != 0 || st.st_dev != log_dev || st.st_ino != log_ino) {
		fdguard_forget();   /* the number is someone else's now: never close it */
		return -1;
	}
	if (st.st_nlink > 0)
		return fd;
	fdguard_forget();
	sys_close(fd);
	fmt_say3("log ", log_path, " was removed; starting a new log");
	new_generation();
	return -1;
}

/* This generation's log, created (with its header) if needed; -1 when logging is off. */
static int log_fd(void)
{
	int fd = -1;
	if (!disabled && created) {
		fd = held_log();
		if (fd < 0 && created) {
			fdguard_begin();   /* no program close between the open and the hold */
			fd = reopen_log();
			if (fd >= 0)
				fd = fdguard_hold(fd);
			fdguard_end();
		}
	}
	if (!disabled && !created) {
		fdguard_begin();
		fd = open_log();
		disabled = fd < 0;
		created = !disabled;
		if (created && fd != fdguard_held())
			fd = fdguard_hold(fd);
		fdguard_end();
	}
	lb.fd = fd;
	if (fd >= 0 && !headed) {
		static bool plain_said;
		if (!logbuf_begin(&lb, ag_config.log_compress != 0) && ag_config.log_compress &&
		    !plain_said) {
			fmt_say("cannot start the log's compression (no memory); writing it as text");
			plain_said = true;
		}
		write_header();
		modules_seen = modules_write(&lb, true);
		headed = true;
	}
	return fd;
}

void logwrite_create(void)
{
	int saved = errno;
	logwrite_lock();
	lb.err = 0;
	lb.len = 0;
	if (log_fd() >= 0) {
		if (modules_changed(modules_seen))
			modules_seen = modules_write(&lb, false);
		if (logbuf_flush(&lb) != 0)
			headed = false;   /* written again with the first snapshot */
	}
	lb.fd = -1;
	logwrite_unlock();
	errno = saved;
}

bool logwrite_trylock(void)
{
	bool ok = pthread_mutex_trylock(&lock) == 0;
	if (ok && !(ok = fdguard_trylock()))
		pthread_mutex_unlock(&lock);
	return ok;
}

void logwrite_scanner_forked(pid_t scanner_pid)
{
	scanner = scanner_pid;
	disabled = disabled || scanner_pid != sys_gettid();   /* the parent: the scanner's now */
}

int64_t logwrite_snapshot(int reason, bool leaks, const char *label)
{
	int saved = errno;
	int64_t result = -1;
	logwrite_lock();
	lb.err = 0;
	lb.len = 0;
	if (log_fd() < 0)
		goto out;
	if (modules_changed(modules_seen))
		modules_seen = modules_write(&lb, false);
	if (!jit_said && !sandbox_filtered())   /* else said, or access() may be punished */
		jit_said = modules_write_jit_map(&lb, ag_pid);
	/* the stacks before the events: a refusal's V line names a stack interned before it */
	uint32_t limit = stacktab_limit();
	jsprof_write_funcs(&lb, gen);
	write_new_stacks(limit);
	logevents_write(&lb);

	char line[256];
	fmt_t f;
	fmt_init(&f, line, sizeof line);
	if (reason == AG_REASON_EXIT) {
		reach_verdict_line(&f);
		if (scanner) {
			fmt_str(&f, " scanner=");
			fmt_u64(&f, (uint64_t)scanner);
		}
		logbuf_line(&lb, &f);
		fmt_init(&f, line, sizeof line);
	}
	fmt_str(&f, "B ");
	fmt_u64(&f, seq);
	fmt_chr(&f, ' ');
	fmt_u64(&f, sys_now_ns() - ag_start_ns);
	fmt_chr(&f, ' ');
	fmt_str(&f, ag_reason_name(reason));
	fmt_field(&f, label);
	logbuf_line(&lb, &f);
	uint64_t nrec = write_records(limit, leaks && reach_judged());
	nrec += write_peak(limit);
	write_sizes();
	account_totals_t t;
	account_read(&t);
	/* a request charged but not yet obtained (its stack being taken, or about to be
	 * refused) is in the totals but not the peaks: it does not count yet */
	if (t.heap > t.peak_heap)
		t.heap = t.peak_heap;
	if (t.mapped > t.peak_mapped)
		t.mapped = t.peak_mapped;
	if (t.tracked > t.peak_tracked)
		t.tracked = t.peak_tracked;
	uint64_t fields[] = { seq, t.tracked, t.heap, t.mapped, t.swapped, t.peak_tracked,
			      t.peak_heap, t.peak_mapped, nrec };
	record(&f, line, sizeof line, "E ", fields, sizeof fields / sizeof fields[0]);
	logbuf_line(&lb, &f);
	/* the last snapshot of this image's log ends the gzip member (zcat reads it whole);
	 * if more comes after all (an exit snapshot's atexit handlers exec), a new one starts */
	bool last = reason == AG_REASON_EXIT || reason == AG_REASON_EXEC ||
		    reason == AG_REASON_ABORT;
	if ((last ? logbuf_finish(&lb) : logbuf_flush(&lb)) == 0) {
		result = (int64_t)seq++;
		atomic_fetch_add(&written, 1);
	} else {
		fmt_say3("writing the log failed: ", strerrorname_np(lb.err), "; no further snapshots");
		disabled = true;
	}
	lb.fd = -1;
out:
	logwrite_unlock();
	errno = saved;
	return result;
}

void logwrite_exec(void)
{
	pthread_mutex_lock(&lock);
	bool has_log = created && !disabled;
	pthread_mutex_unlock(&lock);
	if (has_log)
		logwrite_snapshot(AG_REASON_EXEC, false, NULL);
}

void logwrite_child(void)
{
	pthread_mutex_init(&lock, NULL);
	fdguard_reinit_lock();
	int inherited = fdguard_held();   /* the parent's file: the child starts its own */
	fdguard_forget();
	if (inherited >= 0)
		sys_close(inherited);
	lb.fd = -1;
	lb.len = 0;
	lb.err = 0;
	lb.gz = false;   /* the parent's deflate state is the parent's: a new file, a new stream */
	disabled = false;
	new_generation();
	reserve();   /* still inside fork(): the child's program has not run yet */
}
