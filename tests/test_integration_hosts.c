/* test_integration_hosts.c: real hosts under the preload (issue 2): python3, sqlite3 and
 * node doing real work print byte-identical output and exit codes to a bare run while the
 * guard records their allocations; node's reported peak against its measured max RSS; a
 * multi-threaded program forking and exec'ing from threads finishes, each child logging. */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define MiB (1024ull * 1024)

static char *dir;
static char logpat[512];

static void setup(void)
{
	cr_assert(th_have_preload(), "%s is missing: build the preload first", th_preload());
	dir = strdup(th_tmpdir("hosts"));
	snprintf(logpat, sizeof logpat, "ALLOCGUARD_LOG=%s/ag.%%p.log", dir);
}

static void teardown(void)
{
	th_rmtree(dir);
	free(dir);
}

TestSuite(integration_hosts, .init = setup, .fini = teardown, .timeout = 240);

static size_t all_logs_complete(int require_exit);

/* The log in dir whose process ran an executable whose name starts with exe_prefix, with its
 * exit snapshot; fails the test when there is not exactly one. */
static void load_log_of(th_log_t *out, const char *exe_prefix)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v), found = 0;
	for (size_t i = 0; i < n; i++) {
		th_log_t log;
		if (th_log_load(&log, v[i])) {
			th_log_free(&log);
			continue;
		}
		const char *b = strrchr(log.exe, '/');
		b = b ? b + 1 : log.exe;
		if (!strncmp(b, exe_prefix, strlen(exe_prefix))) {
			if (found++)
				th_log_free(out);
			*out = log;
			cr_expect_not(log.damaged, "%s is damaged: %s", v[i], log.damage);
		} else {
			th_log_free(&log);
		}
	}
	th_strv_free(v, n);
	cr_assert_eq(found, 1, "expected one log of a %s process in %s, found %zu (of %zu logs)",
		     exe_prefix, dir, found, n);
}

/* Allocations recorded at the last snapshot: (count, bytes) summed over heap stacks. */
static void recorded(const th_log_t *log, uint64_t *count, uint64_t *bytes)
{
	*count = *bytes = 0;
	for (size_t i = 0; i < log->nstacks; i++) {
		if (log->stacks[i].kind != 'h')
			continue;
		*count += log->val[i].total_count;
		*bytes += log->val[i].total_bytes;
	}
}

/* Run argv bare and guarded; same stdout bytes and exit status; the guarded process (exe
 * name exe_prefix) logged at least min_allocs allocations, exactly (O sample 0). */
static void same_output(const char *const *argv, const char *const *extra_env,
			const char *exe_prefix, uint64_t min_allocs)
{
	const char *env[16];
	size_t k = 0;
	for (; extra_env && extra_env[k]; k++)
		env[k] = extra_env[k];
	env[k] = logpat;
	env[k + 1] = NULL;
	th_run_t bare, guarded;
	cr_assert_eq(th_run(&bare, argv, env, 0, 120), 0, "cannot start %s", argv[0]);
	cr_assert(bare.exited, "bare %s: %s", argv[0], th_run_desc(&bare));
	cr_assert_gt(bare.outlen, 0, "bare %s printed nothing: %s", argv[0], th_run_desc(&bare));
	cr_assert_eq(th_run(&guarded, argv, env, 1, 120), 0);
	cr_assert(guarded.exited, "guarded %s: %s", argv[0], th_run_desc(&guarded));
	cr_expect_eq(guarded.code, bare.code, "exit status %d under the guard, %d bare (stderr: %s)",
		     guarded.code, bare.code, guarded.err);
	cr_expect(guarded.outlen == bare.outlen && !memcmp(guarded.out, bare.out, bare.outlen),
		  "stdout differs under the guard:\n--- bare\n%s\n--- guarded\n%s", bare.out,
		  guarded.out);
	th_log_t log;
	load_log_of(&log, exe_prefix);
	cr_expect_geq(th_log_find(&log, "exit"), 0, "no exit snapshot in %s's log", exe_prefix);
	const char *sample = th_log_opt(&log, "sample");
	cr_expect(sample && !strcmp(sample, "0"), "O sample is %s, expected 0", sample ? sample : "absent");
	uint64_t count, bytes;
	recorded(&log, &count, &bytes);
	cr_expect_geq(count, min_allocs, "%s: only %llu allocations (%llu bytes) recorded", exe_prefix,
		      (unsigned long long)count, (unsigned long long)bytes);
	th_log_free(&log);
	th_run_free(&bare);
	th_run_free(&guarded);
}

static const char py_work[] =
	"import hashlib, json, re, sys, zlib, collections\n"
	"rows = [{'id': i, 'name': 'n%05d' % (i * 7919 % 50000), 'v': [i % 7, i % 11]} for i in range(150000)]\n"
	"rows.sort(key=lambda r: (r['name'], r['id']))\n"
	"blob = json.dumps(rows[:60000], sort_keys=True).encode()\n"
	"back = json.loads(blob)\n"
	"c = collections.Counter(r['name'][:4] for r in rows)\n"
	"words = re.findall(r'n\\d{3}', blob.decode()[:1000000])\n"
	"z = zlib.compress(blob, 6)\n"
	"print(len(rows), rows[0]['id'], rows[-1]['name'], len(blob), hashlib.sha256(blob).hexdigest())\n"
	"print(len(back), sorted(c.items())[:5], len(words), len(z), zlib.crc32(zlib.decompress(z)))\n"
	"big = {('k%d' % i): list(range(i % 50)) for i in range(50000)}\n"
	"print(sum(len(v) for v in big.values()), hashlib.md5(repr(sorted(big)[:1000]).encode()).hexdigest())\n"
	"sys.stdout.flush()\n"
	"sys.exit(3)\n";

/* The real interpreter, not a wrapper script (pyenv shims), so one log is python's. */
static void python_exe(char *exe, size_t len)
{
	if (!th_have_cmd("python3"))
		cr_skip_test("python3 is not installed");
	const char *q[] = { "python3", "-c", "import sys; print(sys.executable, end='')", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, q, NULL, 0, 30), 0);
	cr_assert(r.exited && r.code == 0 && r.outlen, "python3: %s", th_run_desc(&r));
	snprintf(exe, len, "%s", r.out);
	th_run_free(&r);
}

/* pymalloc serves small objects from its own arenas: few malloc calls. */
Test(integration_hosts, python3_same_output)
{
	char exe[4096];
	python_exe(exe, sizeof exe);
	const char *argv[] = { exe, "-c", py_work, NULL };
	const char *env[] = { "PYTHONHASHSEED=0", NULL };
	same_output(argv, env, "python", 10000);
}

/* With PYTHONMALLOC=malloc every object is a malloc call: millions of them. */
Test(integration_hosts, python3_malloc_same_output)
{
	char exe[4096];
	python_exe(exe, sizeof exe);
	const char *argv[] = { exe, "-c", py_work, NULL };
	const char *env[] = { "PYTHONHASHSEED=0", "PYTHONMALLOC=malloc", NULL };
	same_output(argv, env, "python", 1000000);
}

static const char sql_work[] =
	"CREATE TABLE t(id INTEGER PRIMARY KEY, grp INT, name TEXT, val REAL);\n"
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 150000)\n"
	"INSERT INTO t SELECT x, x % 97, 'name-' || (x*7919 % 100003), (x % 1000) / 8.0 FROM c;\n"
	"CREATE INDEX t_name ON t(name);\n"
	"CREATE INDEX t_grp ON t(grp, val);\n"
	"SELECT grp, count(*), sum(val), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 5;\n"
	"SELECT count(DISTINCT name) FROM t;\n"
	"CREATE TABLE u AS SELECT name, group_concat(id) AS ids FROM t GROUP BY name HAVING count(*) > 1;\n"
	"SELECT count(*), sum(length(ids)) FROM u;\n"
	"SELECT a.grp, count(*) FROM t a JOIN t b ON a.name = b.name AND a.id < b.id GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 3;\n"
	"WITH RECURSIVE f(n, a, b) AS (SELECT 1, 0, 1 UNION ALL SELECT n+1, b, (a+b) % 1000000007 FROM f WHERE n < 5000) SELECT max(b), sum(a) FROM f;\n"
	"SELECT substr(group_concat(name, ','), 1, 60) FROM (SELECT name FROM t ORDER BY name DESC LIMIT 1000);\n"
	"DELETE FROM t WHERE id % 3 = 0;\n"
	"VACUUM;\n"
	"SELECT count(*), total(val) FROM t;\n";

Test(integration_hosts, sqlite3_same_output)
{
	if (!th_have_cmd("sqlite3"))
		cr_skip_test("sqlite3 is not installed");
	const char *argv[] = { "sqlite3", ":memory:", sql_work, NULL };
	same_output(argv, NULL, "sqlite3", 100000);
}

Test(integration_hosts, node_same_output)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	const char *argv[] = { "node", th_root("examples/node_work.js"), NULL };
	same_output(argv, NULL, "node", 10000);
}

/* V8 reserves far more than it commits: the guard must count what is committed, so the
 * reported peak tracks the max RSS the kernel measured. */
Test(integration_hosts, node_peak_vs_max_rss)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	const char *argv[] = { "node", th_root("examples/node_work.js"), NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_assert(r.exited && r.code == 0, "node: %s", th_run_desc(&r));
	th_log_t log;
	load_log_of(&log, "node");
	cr_assert_gt(log.nsnaps, 0, "no snapshot in node's log");
	double peak = (double)log.snaps[log.nsnaps - 1].e[TH_PEAK_TRACKED];
	double rss = (double)r.ru.ru_maxrss * 1024;
	double ratio = peak / rss;
	cr_expect(ratio >= 0.4 && ratio <= 1.5,
		  "peak tracked %.1f MiB vs max RSS %.1f MiB: ratio %.2f outside 0.4..1.5 "
		  "(peak heap %.1f MiB, peak mapped %.1f MiB)", peak / MiB, rss / MiB, ratio,
		  (double)log.snaps[log.nsnaps - 1].e[TH_PEAK_HEAP] / MiB,
		  (double)log.snaps[log.nsnaps - 1].e[TH_PEAK_MAPPED] / MiB);
	th_log_free(&log);
	th_run_free(&r);
}

/* A log in dir written by process pid, with its exit snapshot. */
static int pid_logged(pid_t pid, uint64_t ppid, char *why, size_t whylen)
{
	char **v, prefix[64];
	snprintf(prefix, sizeof prefix, "ag.%d.", (int)pid);
	size_t n = th_list(dir, prefix, &v);
	int ok = 0;
	snprintf(why, whylen, "no log file named %s*", prefix);
	for (size_t i = 0; i < n && !ok; i++) {
		th_log_t log;
		if (th_log_load(&log, v[i]) == 0 && log.pid == (uint64_t)pid &&
		    th_log_find(&log, "exit") >= 0 && !log.damaged &&
		    (!ppid || log.ppid == ppid))
			ok = 1;
		else
			snprintf(why, whylen, "%s: pid %llu ppid %llu, %zu snapshots, exit snapshot %s%s%s",
				 v[i], (unsigned long long)log.pid, (unsigned long long)log.ppid,
				 log.nsnaps, th_log_find(&log, "exit") >= 0 ? "yes" : "no",
				 log.damaged ? ", damaged: " : "", log.damaged ? log.damage : "");
		th_log_free(&log);
	}
	th_strv_free(v, n);
	return ok;
}

Test(integration_hosts, forker_no_deadlock_each_child_logs)
{
	const char *argv[] = { th_build("examples/forker"), "3", "3", "16", NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 90), 0);
	cr_assert_not(r.timed_out, "forker hung (deadlock?) and was killed after 90 s; stdout:\n%s\n"
		      "stderr:\n%s", r.out, r.err);
	cr_assert(r.exited && r.code == 0, "forker: %s\nstdout:\n%s", th_run_desc(&r), r.out);
	cr_expect(strstr(r.out, "children=48 normal=48"), "%s", r.out);
	/* a child forked outside any unwind unwinds as its parent does (our prefork locks
	 * are not an unwind in progress) */
	cr_expect_null(strstr(r.err, "little stack left"), "%s", r.err);

	char why[700];
	cr_expect(pid_logged(r.pid, 0, why, sizeof why), "the parent's log: %s", why);
	size_t checked = 0;
	for (const char *l = r.out; l && *l;) {
		int pid;
		char kind[32], st[32];
		if (sscanf(l, "child %d %31s %31s", &pid, kind, st) == 3 && !strcmp(st, "ok")) {
			checked++;
			/* children must log as themselves, not in a copy of the parent's log */
			uint64_t ppid = (uint64_t)r.pid;
			cr_expect(pid_logged(pid, ppid, why, sizeof why), "child %d (%s): %s", pid, kind,
				  why);
		}
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	cr_expect_eq(checked, 48, "checked %zu children", checked);
	cr_expect_geq(all_logs_complete(0), 49, "the parent and 48 children");
	th_run_free(&r);
}

/* Every log in dir is mode 0600, undamaged and (require_exit) ends with its exit snapshot;
 * returns how many there are.  (An image replaced by exec has no exit snapshot.) */
static size_t all_logs_complete(int require_exit)
{
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	for (size_t i = 0; i < n; i++) {
		th_log_t log;
		struct stat st;
		cr_expect(stat(v[i], &st) == 0 && (st.st_mode & 07777) == 0600, "%s: mode %o", v[i],
			  st.st_mode & 07777);
		cr_expect_eq(th_log_load(&log, v[i]), 0, "%s", v[i]);
		cr_expect_not(log.damaged, "%s: %s", v[i], log.damage);
		if (require_exit)
			cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1,
				     "%s (%s, pid %llu): no final exit snapshot", v[i], log.exe,
				     (unsigned long long)log.pid);
		th_log_free(&log);
	}
	th_strv_free(v, n);
	return n;
}

static const char node_children[] =
	"const { execFileSync } = require('child_process');\n"
	"let out = '';\n"
	"const keep = [];\n"
	"for (let i = 0; i < 8; i++) {\n"
	"  for (let j = 0; j < 20000; j++) keep.push({ i, j, s: 'x' + j });\n"
	"  out += execFileSync(process.execPath, ['-e', `console.log(${i} * 2)`]).toString().trim() + ',';\n"
	"}\n"
	"console.log(out, keep.length);\n";

/* libuv forks and execs while V8's threads run: every node process logs on its own. */
Test(integration_hosts, node_child_processes)
{
	if (!th_have_cmd("node"))
		cr_skip_test("node is not installed");
	const char *argv[] = { "node", "-e", node_children, NULL };
	const char *env[] = { logpat, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	cr_expect_str_eq(r.out, "0,2,4,6,8,10,12,14, 160000\n");
	cr_expect_eq(all_logs_complete(1), 9, "expected 9 logs (node and 8 children)");
	th_run_free(&r);
}

static const char py_children[] =
	"import subprocess, threading, sys\n"
	"from concurrent.futures import ThreadPoolExecutor\n"
	"stop = False\n"
	"def churn():\n"
	"    x = []\n"
	"    while not stop:\n"
	"        x.append({'a': [1] * 50, 's': 'y' * 100})\n"
	"        if len(x) > 5000: x.clear()\n"
	"ts = [threading.Thread(target=churn) for _ in range(2)]\n"
	"for t in ts: t.start()\n"
	"def run(i):\n"
	"    return subprocess.run([sys.executable, '-c', 'print(%d * 3)' % i], capture_output=True, text=True).stdout.strip()\n"
	"with ThreadPoolExecutor(4) as ex:\n"
	"    res = list(ex.map(run, range(12)))\n"
	"stop = True\n"
	"for t in ts: t.join()\n"
	"print(','.join(res))\n";

/* subprocess from a thread pool while other threads allocate through malloc. */
Test(integration_hosts, python_threads_spawn_children)
{
	char exe[4096];
	python_exe(exe, sizeof exe);
	const char *argv[] = { exe, "-c", py_children, NULL };
	const char *env[] = { logpat, "PYTHONMALLOC=malloc", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 120), 0);
	cr_assert_not(r.timed_out, "python hung: %s", th_run_desc(&r));
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	cr_expect_str_eq(r.out, "0,3,6,9,12,15,18,21,24,27,30,33\n");
	cr_expect_eq(all_logs_complete(1), 13, "expected 13 logs (python and 12 children)");
	th_run_free(&r);
}

/* The log of pid in dir (ag.PID.log), waiting up to timeout_s for its exit snapshot (for
 * processes the test cannot wait for, such as daemons).  0 when it is there. */
static int wait_exit_log(th_log_t *log, pid_t pid, int timeout_s)
{
	char path[700];
	snprintf(path, sizeof path, "%s/ag.%d.log", dir, (int)pid);
	for (int i = 0; i < timeout_s * 10; i++) {
		if (th_log_load(log, path) == 0) {
			if (th_log_find(log, "exit") >= 0)
				return 0;
			th_log_free(log);
		}
		usleep(100 * 1000);
	}
	return -1;
}

/* A daemon (a fork child in its own session) allocating 4 KiB every 100 ms: the interval
 * was checked only every 256th allocation, so it had no periodic snapshot at all. */
Test(integration_hosts, slow_daemon_snapshots_on_time)
{
	const char *argv[] = { th_build("examples/slowdaemon"), "12", NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=200ms", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 30), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	long long pid = th_kv(r.out, "daemon");
	cr_assert_gt(pid, 0, "no daemon pid in %s", r.out);
	th_log_t log;
	cr_assert_eq(wait_exit_log(&log, (pid_t)pid, 30), 0, "the daemon's log has no exit snapshot");
	size_t intervals = 0;
	for (size_t i = 0; i < log.nsnaps; i++)
		intervals += strcmp(log.snaps[i].reason, "interval") == 0;
	/* About 1.2 s at 200 ms: at least 3 even on a loaded machine. */
	cr_expect_geq(intervals, 3, "only %zu interval snapshots in ~1.2 s", intervals);
	long sig = th_log_find(&log, "signal");
	cr_expect_geq(sig, 0, "SIGUSR2 was not served");
	/* The SIGUSR2 half-way used to be what started the writer: intervals come before it. */
	cr_expect(sig > 0 && strcmp(log.snaps[0].reason, "interval") == 0,
		  "no interval snapshot in the ~0.6 s before the SIGUSR2");
	th_log_free(&log);
	th_run_free(&r);
}

/* A raw clone() child runs none of fork()'s handlers: it used to write under the parent's
 * pid into a second file of the parent's name. */
Test(integration_hosts, raw_clone_child_has_its_own_log)
{
	const char *argv[] = { th_build("examples/rawclone"), NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=100ms", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s", th_run_desc(&r));
	long long parent = th_kv(r.out, "parent"), child = th_kv(r.out, "child");
	cr_assert(parent > 0 && child > 0, "%s", r.out);
	th_log_t log;
	cr_assert_eq(wait_exit_log(&log, (pid_t)child, 1), 0, "no log with an exit snapshot for "
		     "the clone child %lld", child);
	cr_expect_eq(log.pid, (uint64_t)child);
	cr_expect_eq(log.ppid, (uint64_t)parent);
	cr_expect_geq(th_log_find(&log, "interval"), 0, "the clone child had no periodic snapshot");
	/* It allocated 30 x 4 KiB and freed none. */
	long ex = th_log_find(&log, "exit");
	cr_expect_geq(log.snaps[ex].e[TH_HEAP], 30 * 4096ull);
	th_log_free(&log);
	cr_assert_eq(wait_exit_log(&log, (pid_t)parent, 1), 0);
	cr_expect_eq(log.pid, (uint64_t)parent);
	cr_expect_not(log.damaged, "%s", log.damage);
	cr_expect_eq(th_log_find(&log, "exit"), (long)log.nsnaps - 1);
	th_log_free(&log);
	char **v;
	size_t n = th_list(dir, "ag.", &v);
	cr_expect_eq(n, 2, "expected the parent's and the child's logs, found %zu", n);
	th_strv_free(v, n);
	th_run_free(&r);
}

/* exit() with little stack left, before any snapshot (the first one creates the log, the
 * deepest path): the exit snapshot's 20-25 KB of frames used to overflow a 16 KiB thread
 * stack or a small sigaltstack (SIGSEGV).  The exiting thread's frames are still scanned. */
static void small_stack_exit(const char *mode)
{
	const char *argv[] = { th_build("examples/smallstack"), mode, NULL };
	const char *env[] = { logpat, "ALLOCGUARD_INTERVAL=0", NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 7, "%s: %s", mode, th_run_desc(&r));
	th_log_t log;
	cr_assert_eq(wait_exit_log(&log, r.pid, 1), 0, "%s: no exit snapshot", mode);
	long ex = th_log_find(&log, "exit");
	cr_expect_geq(log.snaps[ex].e[TH_HEAP], 3000, "%s: the 3 blocks of 1000", mode);
	uint64_t lost = 0;
	for (size_t i = 0; i < log.nstacks; i++)
		lost += log.val[i].lost_bytes;
	cr_expect_geq(lost, 1000, "%s: the exit scan found none of the 3 lost blocks", mode);
	th_log_free(&log);
	th_run_free(&r);
}

Test(integration_hosts, exit_from_a_16k_thread_stack)
{
	small_stack_exit("thread");
}

Test(integration_hosts, exit_from_a_small_sigaltstack)
{
	small_stack_exit("altstack");
}

/* A root program that drops to nobody or chroots after start-up: the log (by root, in a
 * directory nobody may write) used to be reopened by path for every snapshot, so every one
 * after the drop was lost, and with no snapshot before it there was no log at all. */
static void privilege_drop(const char *mode, const char *interval)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	char empty[700];
	snprintf(empty, sizeof empty, "%s/empty-%s", dir, mode);
	cr_assert_eq(mkdir(empty, 0755), 0);
	const char *argv[] = { th_build("examples/privdrop"), mode, empty, NULL };
	const char *env[] = { logpat, interval, NULL };
	th_run_t r;
	cr_assert_eq(th_run(&r, argv, env, 1, 60), 0);
	cr_assert(r.exited && r.code == 0, "%s: %s", mode, th_run_desc(&r));
	cr_assert_eq(th_kv(r.out, "dropped"), 1, "%s", r.out);
	th_log_t log;
	cr_assert_eq(wait_exit_log(&log, r.pid, 1), 0, "%s: no exit snapshot; stderr: %s", mode,
		     r.err);
	cr_expect_not(log.damaged, "%s", log.damage);
	long sig = th_log_find(&log, "signal"), ex = th_log_find(&log, "exit");
	cr_expect_geq(sig, 0, "%s: the snapshot asked for after the drop is missing", mode);
	cr_expect_geq(log.snaps[ex].e[TH_HEAP], 30 * 1000ull, "%s", mode);
	cr_expect_eq(r.err[0], '\0', "%s: %s", mode, r.err);
	th_log_free(&log);
	th_run_free(&r);
}

/* Snapshots before the drop: the log exists, the later ones were lost. */
Test(integration_hosts, log_survives_setuid_to_nobody)
{
	privilege_drop("setuid", "ALLOCGUARD_INTERVAL=100ms");
}

/* No snapshot before the drop: there was no log at all. */
Test(integration_hosts, log_created_before_setuid_to_nobody)
{
	privilege_drop("setuid", "ALLOCGUARD_INTERVAL=0");
}

Test(integration_hosts, log_survives_chroot)
{
	privilege_drop("chroot", "ALLOCGUARD_INTERVAL=0");
}
