/* helpers.h: what the integration tests share: run a command (optionally under the preload)
 * with a timeout and capture its output, exit status and rusage; scratch directories; and a
 * tiny, strict, test-local reader of snapshot logs (preload/logfmt.h), independent of the
 * analyzer so each side checks the other.  Nothing here is Criterion-specific. */
#ifndef ALLOCGUARD_TEST_HELPERS_H
#define ALLOCGUARD_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* ---- running programs ---- */

typedef struct {
	char *out, *err;            /* NUL-terminated captured stdout / stderr */
	size_t outlen, errlen;
	int status;                 /* raw wait status */
	int exited, code;           /* WIFEXITED, WEXITSTATUS */
	int signaled, sig;          /* WIFSIGNALED, WTERMSIG */
	int timed_out;              /* killed by the helper after the timeout */
	pid_t pid;
	struct rusage ru;           /* of the child itself (wait4) */
} th_run_t;

/* Run argv (argv[0] looked up in PATH) with the test runner's environment minus
 * LD_PRELOAD and every ALLOCGUARD_* variable, plus env_add ("NAME=VALUE", NULL-terminated;
 * may be NULL).  With preload, LD_PRELOAD=$AG_BUILD/liballocguard.so is set in the child
 * only.  The child runs in its own process group, which is SIGKILLed after timeout_s.
 * Returns 0, or an errno value when the child could not be started. */
int th_run(th_run_t *r, const char *const *argv, const char *const *env_add, int preload,
	   int timeout_s);
void th_run_free(th_run_t *r);
/* One line describing how the run ended, for assertion messages. */
const char *th_run_desc(const th_run_t *r);

/* $AG_BUILD/rel and $AG_ROOT/rel, in a ring of 64 static buffers. */
const char *th_build(const char *rel);
const char *th_root(const char *rel);
const char *th_preload(void);
int th_have_preload(void);
/* Is cmd on PATH? */
int th_have_cmd(const char *cmd);

/* ---- scratch files ---- */

/* A fresh directory /tmp/agtest-TAG-XXXXXX (static buffer per call, caller copies). */
char *th_tmpdir(const char *tag);
/* rm -rf dir, unless AG_KEEP is set in the environment. */
void th_rmtree(const char *dir);
/* Whole file, NUL-terminated; NULL on error.  A gzip file (a compressed log) is given
 * inflated: its text up to the end, a cut or damage. */
char *th_slurp(const char *path, size_t *len);
/* Whole file as it is on disk, NUL-terminated; NULL on error. */
char *th_slurp_raw(const char *path, size_t *len);
/* Inflate the gzip stream (any number of members) in the n bytes at raw: the text up to its
 * end, a cut (*status 1) or damage (*status 2); 0 = whole.  NUL-terminated, caller frees. */
char *th_gunzip(const char *raw, size_t n, size_t *len, int *status);
/* Paths of regular files in dir whose names start with prefix (sorted; caller frees with
 * th_strv_free).  Returns the count. */
size_t th_list(const char *dir, const char *prefix, char ***out);
void th_strv_free(char **v, size_t n);
/* The line of s that starts with marker (from the marker to the line's end), in a static
 * buffer; NULL when there is none. */
const char *th_line_from(const char *s, const char *marker);
/* Number of lines in s that start with prefix. */
size_t th_count_lines(const char *s, const char *prefix);
/* Number of lines in s. */
size_t th_nlines(const char *s);
/* The value after "key=" on a "key=value" word in s (e.g. stdout "got=123"); -1 if none. */
long long th_kv(const char *s, const char *key);

/* ---- swapped files (W lines) ---- */

typedef struct {
	uint64_t bytes;
	char mode[64];
	char path[900];
} th_swap_t;

/* The W lines of every log in dir whose name starts with prefix, in file order: up to max
 * into out; returns how many there are in all. */
size_t th_swaps(const char *dir, const char *prefix, th_swap_t *out, size_t max);

/* ---- the log reader ---- */

typedef struct {
	uint64_t live_bytes, live_count, total_bytes, total_count;
	uint64_t lost_bytes, lost_count;
	uint64_t peak_bytes, peak_count;     /* live at the peak (T lines) */
	uint64_t indirect_bytes, indirect_count;   /* part of lost (R lines' optional pair) */
} th_val_t;

typedef struct {
	uint64_t id;
	char kind;
	size_t nframes;
	uint64_t *frames;
} th_stack_t;

typedef struct {
	uint64_t bias, lo, hi;
	char path[512];
} th_module_t;

/* E fields, in order: tracked heap mapped swapped peak_tracked peak_heap peak_mapped */
enum { TH_TRACKED, TH_HEAP, TH_MAPPED, TH_SWAPPED, TH_PEAK_TRACKED, TH_PEAK_HEAP,
       TH_PEAK_MAPPED, TH_NE };

typedef struct {
	uint64_t seq, t_ns;
	char reason[16];
	uint64_t e[TH_NE];
	size_t end;                 /* offset just past the E line's '\n' */
	uint64_t digest;            /* hash of the whole per-stack state after this snapshot */
} th_snap_t;

typedef struct {
	char kind[16];
	uint64_t t_ns, bytes;
} th_event_t;

typedef struct {
	int version;
	uint64_t pid, ppid;
	char exe[1024];
	char opts[64][2][64];       /* O name value */
	size_t nopts;
	th_module_t *mods;
	size_t nmods;
	th_stack_t *stacks;
	size_t nstacks;
	th_val_t *val;              /* per stack, state after the last complete snapshot */
	th_snap_t *snaps;
	size_t nsnaps;
	th_event_t *events;
	size_t nevents;
	uint64_t at_peak[4];        /* the last K line: peak_tracked heap mapped swapped */
	char verdict[16];           /* the last X line: the exit scan's verdict ("" = none) */
	uint64_t threads_stopped, threads_not_stopped;
	uint64_t scanner;           /* the X line's scanner child, 0 = the scan ran in the process */
	uint64_t *hk;               /* stack id + 1 -> index (open addressing) */
	size_t *hv, hcap;
	size_t good;                /* bytes of complete lines read */
	int damaged;                /* a complete line was malformed; reading stopped there */
	char damage[200];
} th_log_t;

/* Parse len bytes.  Only complete lines count; a snapshot counts when its E line is
 * complete and matches its B line and record count.  Returns 0 when the header is usable
 * (even if damaged later), -1 otherwise.  Never reads past len. */
int th_log_parse(th_log_t *log, const char *buf, size_t len);
int th_log_load(th_log_t *log, const char *path);
/* Run argv under the guard (env_add, and ALLOCGUARD_LOG into a fresh directory named after
 * tag) for at most timeout_s, and load the one log it wrote; the directory is removed.
 * Returns 0, or -1 with the reason in why (the run failed to start, not exactly one log,
 * a log that does not read).  *r holds the run either way: th_run_free it. */
int th_run_one_log(const char *tag, const char *const *argv, const char *const *env_add,
		   int timeout_s, th_run_t *r, th_log_t *log, char *why, size_t wlen);
/* The same under `allocguard run -q` (which waits for the exit scan's child): *r is run's. */
int th_run_one_log_run(const char *tag, const char *const *argv, const char *const *env_add,
		       int timeout_s, th_run_t *r, th_log_t *log, char *why, size_t wlen);
void th_log_free(th_log_t *log);
const char *th_log_opt(const th_log_t *log, const char *name);
/* Index of the last snapshot with this reason, or -1. */
long th_log_find(const th_log_t *log, const char *reason);
size_t th_log_events(const th_log_t *log, const char *kind);
/* Live and lost bytes summed over the heap stacks at the last snapshot read. */
void th_log_heap_sums(const th_log_t *log, uint64_t *live, uint64_t *lost);
/* (sampled live estimate - exact heap total) / exact, at the exit snapshot: the live bytes
 * of the heap stacks against the E line's heap figure; NAN without an exit snapshot. */
double th_log_estimate_error(const th_log_t *log);

/* ---- symbols of an executable (nm) ---- */

typedef struct {
	uint64_t addr, size;
	char name[128];
} th_sym_t;

typedef struct {
	th_sym_t *syms;
	size_t n;
} th_syms_t;

int th_syms_load(th_syms_t *s, const char *path);
void th_syms_free(th_syms_t *s);
/* The function of the executable `exe` (its M line) containing the innermost frame of
 * stack st that lies in that executable; NULL if none. */
const char *th_stack_func(const th_log_t *log, const th_stack_t *st, const th_syms_t *syms,
			  const char *exe);

#endif
