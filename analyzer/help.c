/* help.c: the man-page-grade help texts of build/allocguard, overall and per subcommand;
 * the `run` options and the README's options table are generated from the one options
 * table (preload/options.def) so they cannot drift from what the preload accepts. */
#include "cli.h"
#include "logfmt.h"
#include "options.h"

#include <string.h>

static const char overall[] =
"NAME\n"
"    allocguard - an allocation guard and heap profiler for unmodified programs\n"
"\n"
"SYNOPSIS\n"
"    allocguard run [OPTIONS] -- COMMAND [ARGS...]\n"
"    allocguard report LOG... [--json] [--top N]\n"
"    allocguard leaks  LOG... [--json] [--top N] [--fail-on SIZE] [--lost-only]\n"
"                      [--suppressions FILE]... [--no-default-suppressions]\n"
"                      [--print-suppressions]\n"
"    allocguard growth LOG... [--json] [--top N]\n"
"    allocguard diff   LOG_A[@N|@LABEL] LOG_B[@M|@LABEL] [--json] [--top N]\n"
"    allocguard export --format pprof|collapsed|massif|json [--snapshot N|LABEL|peak]\n"
"                      [-o FILE] LOG\n"
"    allocguard plot   LOG... -o FILE.svg|FILE.html\n"
"    allocguard help [COMMAND] | --help | --version\n"
"\n"
"DESCRIPTION\n"
"    allocguard runs a program with liballocguard.so preloaded.  The library tracks every\n"
"    heap allocation and anonymous mapping by call stack, enforces an optional cap on the\n"
"    tracked bytes, and writes snapshots to a log: periodically, on `kill -USR2 PID`, at\n"
"    the warn and critical thresholds, and at exit, when it also decides which blocks are\n"
"    still reachable from the program's memory and which are lost.  The other commands read\n"
"    those logs offline and name call sites by function and file:line (DWARF debug info),\n"
"    module+offset without it, and JIT names from node's --perf-basic-prof map.\n"
"\n"
"COMMANDS\n"
"    run      run a command under the guard, then summarize its logs on stderr\n"
"    report   process summary: peak by kind and what was live at it by site, final, cap\n"
"             events, swapped files, top sites\n"
"    leaks    blocks live at exit by call site, lost or still reachable, largest first\n"
"    growth   per call site trend across the snapshots: growing, plateau, flat, shrinking\n"
"    diff     per call site difference between two snapshots of one run or of two runs\n"
"    export   one log as pprof, massif, collapsed stacks (flame graphs) or JSON\n"
"    plot     tracked bytes and the top sites over time, as SVG or a self-contained page\n"
"    help     this page, or `allocguard help COMMAND` for one command\n"
"\n"
"    leaks, growth and report read each LOG in turn (say, a run's parent and children:\n"
"    allocguard leaks allocguard.server.*.log); with --json, several logs give an array of\n"
"    the per-log documents, and leaks --fail-on counts the lost bytes of them all.\n"
"\n"
"SITES\n"
"    A site is where the program allocated: the first frame of its own code after folding\n"
"    (function, file and line; the JS function for node).  Every report ranks sites and\n"
"    shows under each its call paths (the distinct stacks that reach it), largest first.\n"
"    In JSON each site has \"site\" (that frame), \"frames\" (its largest path) and\n"
"    \"paths\" ([{\"bytes\", \"count\", \"frames\"}]).\n"
"\n"
"COMMON OPTIONS\n"
"    --json        machine-readable output (shapes documented per command)\n"
"    --top N       show the N largest sites (default 10 for humans, all in JSON)\n"
"    --paths N     call paths shown under each site (default 3)\n"
"    --frames N    frames shown per site (default 3), after folding allocator and runtime\n"
"                  frames (libc, operator new, pymalloc, V8/node) so the program's own come\n"
"                  first.  JSON keeps every frame\n"
"    --all-frames  fold nothing: frames as recorded\n"
"    --color, --no-color\n"
"                  colour is used only when stdout is a terminal and NO_COLOR is unset\n"
"\n"
"EXIT STATUS\n"
"    0  success\n"
"    1  a --fail-on / --fail-on-leak threshold was crossed\n"
"    2  bad usage, a bad option value or suppression file, a log that cannot be used at\n"
"       all; with --fail-on / --fail-on-leak, a command that left no log to judge or a\n"
"       process whose exit scan did not judge (lost and reachable unknown)\n"
"    run exits with the command's status, 128+N when it was killed by signal N.\n"
"\n"
"DAMAGED LOGS\n"
"    A log cut short or damaged never crashes the reader: the complete snapshots before the\n"
"    damage are used and one line `allocguard: FILE:LINE: what is wrong` says where it\n"
"    stopped.  A file with nothing usable gets that line and exit status 2.\n"
"\n"
"ENVIRONMENT\n"
"    ALLOCGUARD_*  the settings listed by `allocguard run --help`, read by the library\n"
"    NO_COLOR      when set, never colour the output\n"
"\n"
"FILES\n"
"    liballocguard.so   looked for beside the allocguard executable, then in ../lib\n"
"    allocguard.%e.%p.log   the default log of each process (%e executable, %p pid)\n"
"\n"
"EXAMPLES\n"
"    allocguard run --cap 2G -- ./server --port 8080\n"
"    allocguard leaks allocguard.server.4242.log --fail-on 0\n"
"    allocguard growth --top 5 allocguard.server.4242.log\n"
"    allocguard diff before.log after.log@3 --json\n";

static const char run_head[] =
"NAME\n"
"    allocguard run - run a command under the allocation guard\n"
"\n"
"SYNOPSIS\n"
"    allocguard run [OPTIONS] [--] COMMAND [ARGS...]\n"
"\n"
"DESCRIPTION\n"
"    Runs COMMAND with liballocguard.so preloaded (prepended to any LD_PRELOAD), forwards\n"
"    SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it, and exits with its status\n"
"    (128+N when it was killed by signal N).  Child processes inherit the guard and write\n"
"    their own logs.  After the command ends, a summary goes to stderr: peak, cap events,\n"
"    lost bytes with the top lost sites, and the paths of the logs written.\n"
"\n"
"    The summary judges only the processes of the tree this run started (the command and\n"
"    its descendants, by the pid and parent pid each log records), never older logs in\n"
"    the same directory, and names the command by what it finally exec'd (a wrapper\n"
"    script that execs python is summarised as python).  A process image that execs\n"
"    before its first snapshot leaves no log; one that had a log ends it with an \"exec\"\n"
"    snapshot.  Child processes are listed by what matters (lost bytes, cap events,\n"
"    largest peak), three at most; the logs of small children (nothing lost, no cap\n"
"    event, peak under 1 MiB: shell subshells and the like) and of a small wrapper's\n"
"    image that exec'd the program are removed after the summary, so a pipeline leaves\n"
"    only the logs worth reading.\n"
"\n"
"    Every option below is also read from its environment variable (the option wins).  A\n"
"    bad value is never ignored: the command is not started, one line names the option and\n"
"    the expected form, and the exit status is 2.\n"
"\n"
"OPTIONS\n";

static const char run_tail[] =
"    --fail-on-leak SIZE\n"
"        exit 1 when the command exits 0 but more than SIZE bytes were lost at exit\n"
"        (summed over all its processes, after suppressions); run only, no environment\n"
"        variable.  A command that left no log (a static or setuid program, or one a\n"
"        wrapper exec'd; a log that could not be created), or a process whose exit scan\n"
"        did not judge (a seccomp filter), was not judged: exit 2\n"
"    --no-default-suppressions\n"
"        do not apply the shipped suppressions (share/allocguard/default.supp: leaks of\n"
"        bash, dash and coreutils themselves, so a wrapper script never fails the gate).\n"
"        Lost bytes a --suppressions rule matches do not count for --fail-on-leak; the\n"
"        summary says how much each rule took\n"
"    -q, --quiet\n"
"        no summary after the command ends (small children's logs are still removed)\n"
"    -v, --verbose\n"
"        list every child process in the summary\n"
"    --keep-logs\n"
"        keep the logs of small child processes and exec'd wrappers\n"
"    --options-table\n"
"        print the options as a Markdown table (for the README) and exit\n"
"\n"
"VALUES\n"
"    SIZE      bytes with an optional K, M, G or T suffix (powers of 1024), or N% of the\n"
"              memory the process may use: its cgroup's limit when set, else physical memory\n"
"    DURATION  250ms, 2s, 1m; 0 turns the periodic snapshots off\n"
"    PCT       a whole number from 1 to 100; warn must be below critical\n"
"\n"
"EXAMPLES\n"
"    allocguard run --cap 512M --on-cap abort -- python3 train.py\n"
"    allocguard run --interval 100ms --out /tmp/ag.%e.%p.log -- ./server\n"
"    allocguard run --fail-on-leak 0 -- ./unit_tests\n";

static const char leaks_help[] =
"NAME\n"
"    allocguard leaks - blocks live at exit, by call site, lost or still reachable\n"
"\n"
"SYNOPSIS\n"
"    allocguard leaks LOG... [--json] [--top N] [--fail-on SIZE] [--lost-only]\n"
"                     [--suppressions FILE]... [--no-default-suppressions]\n"
"                     [--print-suppressions]\n"
"\n"
"DESCRIPTION\n"
"    Reads the exit snapshot of LOG (the last snapshot when the process did not exit, and\n"
"    says so) and lists what was still allocated, by call stack.  Each stack's blocks are\n"
"    split into lost (no pointer to them was left in the program's memory at exit: a leak)\n"
"    and still reachable (pointed to from globals, stacks, the exiting thread's registers\n"
"    or other reachable blocks), as valgrind's memcheck does.  Lost blocks that only other\n"
"    lost blocks point to are \"lost (indirect)\" (memcheck's indirectly lost): fix the\n"
"    direct ones first.  Lost sites come first (direct, then indirect), then reachable\n"
"    ones, each largest first.  Anonymous mappings are judged the same way ([mmap] sites);\n"
"    blocks allocated before the guard started are on the site \"(before allocguard\n"
"    started)\".  With sampling on, figures are estimates and the output says so.\n"
"\n"
"OPTIONS\n"
"    --json          {\"total\": {\"bytes\", \"count\"}, \"lost\": {...}, \"indirectly_lost\": {...},\n"
"                    \"reachable\": {...}, \"sites\": [{\"bytes\", \"count\", \"reachable\",\n"
"                    \"indirect\" (lost sites only), \"kind\", \"before_start\" (only on the\n"
"                    site of blocks older than the guard, whose frames are []),\n"
"                    \"frames\": [frame...]}]},\n"
"                    sites largest first\n"
"                    frame: {\"function\", \"file\", \"line\", \"module\", \"address\"}, file and line\n"
"                    null without debug info\n"
"    --top N         show the N largest sites (default 10; JSON: all)\n"
"    --fail-on SIZE  exit 1 when more than SIZE bytes were lost (for test harnesses);\n"
"                    exit 2 when a log's exit scan did not judge (lost unknown)\n"
"    --lost-only     only the lost sites (none when the log has no exit snapshot: without\n"
"                    the exit scan nothing can be called lost)\n"
"    --suppressions FILE\n"
"                    (repeatable; also ALLOCGUARD_SUPPRESSIONS, ':'-separated) lost sites a\n"
"                    rule matches (leak:PATTERN, LeakSanitizer's syntax, on any frame's\n"
"                    function, module path or source file) leave the verdict; each rule\n"
"                    used is listed with its bytes (JSON: \"suppressed\": {\"bytes\",\n"
"                    \"count\", \"rules\": [{\"file\", \"line\", \"pattern\", \"bytes\",\n"
"                    \"count\"}]}).  The shipped defaults (bash, dash, coreutils) apply too\n"
"    --no-default-suppressions\n"
"                    do not apply the shipped defaults\n"
"    --print-suppressions\n"
"                    after the report, a ready leak: entry per lost site (its first frame\n"
"                    shown), as valgrind's --gen-suppressions (JSON: \"suppression\")\n";

static const char growth_help[] =
"NAME\n"
"    allocguard growth - per call site trend across the snapshots\n"
"\n"
"SYNOPSIS\n"
"    allocguard growth LOG... [--json] [--top N]\n"
"\n"
"DESCRIPTION\n"
"    For each call site, its live bytes over the snapshots taken while the program ran,\n"
"    the first, last and peak values, a slope in bytes/s and a verdict:\n"
"      growing    still rising at the end: a leak (slope: the rate it grows at now)\n"
"      plateau    rose, then levelled off: a pool or cache that warmed up (slope: the\n"
"                 level's, about 0)\n"
"      flat       no trend beyond noise: churn, or constant (slope shown as 0)\n"
"      shrinking  falling (slope: the rate it falls at)\n"
"    Stacks that pass through the same functions at different lines are one site, and\n"
"    its label names every line (\"fill (pool.c:12, 15)\").  Sorted by slope, steepest\n"
"    first.\n"
"\n"
"METHOD\n"
"    Floor: the series is cut into blocks (about twice as long as the site's working set\n"
"    takes to rise and fall, at most 32 blocks) and each block keeps its minimum, so\n"
"    memory given back within a block cannot hide memory never given back, and one spike\n"
"    cannot make a trend.\n"
"    Change point: a line that bends once is fitted to the floor at every knee that leaves\n"
"    15% of the run after it, and kept when it fits far better than one line (F test):\n"
"    a rise before the knee and a level after it is a plateau; a rise after it, growth.\n"
"    Trend: otherwise Mann-Kendall's rank test on the floor (z >= 3, corrected for\n"
"    neighbouring blocks that move together) says whether it rises or falls beyond noise.\n"
"    A trend must also amount to 10% of the floor's peak.  Rates are Theil-Sen slopes\n"
"    (the median of the slopes between every two points) of a finer floor, so a few\n"
"    wild snapshots do not move them.  Each site is judged, and so is each of its call\n"
"    paths: a path growing inside a site that is not (a leak at the same line as a\n"
"    churning cache) is shown growing under its site, with its own slope, and ranks it.\n"
"    Pure noise reads as a trend in about 0.1% of sites; take snapshots often (run\n"
"    --interval 20ms to 100ms) and for long enough.\n"
"    The program's exit is left out: the exit snapshot (when 3 others exist), and the\n"
"    last interval snapshots when the process's tracked bytes fell, in them, to below\n"
"    half their level and never rose again before exit (a runtime's teardown: at most a\n"
"    quarter of the snapshots); the human output says how many.\n"
"\n"
"OPTIONS\n"
"    --json   {\"snapshots\", \"duration_s\", \"teardown_snapshots\", \"sites\": [{\"verdict\",\n"
"             \"slope_bytes_per_s\", \"first_bytes\", \"last_bytes\", \"peak_bytes\", \"stack\",\n"
"             \"stacks\": [every stack id of the site], \"growing_path\", \"site\",\n"
"             \"frames\", \"paths\": [{\"verdict\", \"slope_bytes_per_s\", ..., \"frames\"}]}]}\n"
"    --top N  show the N steepest sites (default 10; JSON: all)\n";

static const char diff_help[] =
"NAME\n"
"    allocguard diff - per call site difference between two snapshots\n"
"\n"
"SYNOPSIS\n"
"    allocguard diff LOG_A[@N|@LABEL] LOG_B[@M|@LABEL] [--json] [--top N]\n"
"\n"
"DESCRIPTION\n"
"    Compares the live bytes and blocks per call site in snapshot N of LOG_A (default: its\n"
"    last) with snapshot M of LOG_B (default: its last).  The two may be the same log.\n"
"    @LABEL names the last snapshot the program took with allocguard_snapshot(LABEL).\n"
"    Sites are matched by their site frame (function, file and line, or module and offset\n"
"    without symbols), not by raw addresses, so two runs line up despite ASLR.\n"
"    Sorted by the size of the change, largest first.\n"
"\n"
"OPTIONS\n"
"    --json   {\"sites\": [{\"delta_bytes\", \"delta_count\", \"site\", \"frames\",\n"
"             \"paths\"}]}\n"
"    --top N  show the N largest changes (default 10; JSON: all)\n";

static const char report_help[] =
"NAME\n"
"    allocguard report - the process summary of one log\n"
"\n"
"SYNOPSIS\n"
"    allocguard report LOG... [--json] [--top N]\n"
"\n"
"DESCRIPTION\n"
"    Shows the process (pid, command line), the number of snapshots, the peak of the\n"
"    tracked bytes split into heap, mapped and swapped bytes at that moment, what each\n"
"    site had live at the peak (exact for a single-threaded program; with threads off by\n"
"    at most one block per other thread allocating at that moment), the final figures,\n"
"    the cap with its thresholds and every warn, critical and cap event with its time, the\n"
"    model files whose mappings were served by chunked reads, the sites live at the last\n"
"    snapshot, and the churn: calls to allocation functions (realloc included) and\n"
"    temporary allocations (freed by the same thread before its next allocation, as\n"
"    heaptrack counts them), in total and by site (\"most allocation calls\", \"most\n"
"    temporary allocations\").  A refused request is named with its call stack.\n"
"    --frames N, --paths N, --all-frames: see allocguard --help.\n"
"\n"
"OPTIONS\n"
"    --json   {\"pid\", \"command\", \"snapshots\", \"peak\": {\"bytes\", \"heap_bytes\",\n"
"             \"mapped_bytes\", \"swapped_bytes\"}, \"peak_sites\": [{\"bytes\", \"count\",\n"
"             \"site\", \"frames\", \"paths\"}], \"final\": {\"bytes\"}, \"cap\": {\"bytes\",\n"
"             \"warn_pct\", \"critical_pct\", \"events\": [{\"kind\", \"t_s\", \"bytes\",\n"
"             \"request\", \"site\", \"frames\"}]}, \"swapped\": [{\"path\", \"bytes\",\n"
"             \"mode\"}], \"allocations\": {\"calls\", \"temporary\"}, \"sizes\": [{\"min\",\n"
"             \"max\", \"count\"}], \"sites\": [{... \"allocations\", \"temporary\"}]}\n"
"    --top N  show the N largest sites (default 10; JSON: all)\n";

static const char export_help[] =
"NAME\n"
"    allocguard export - one log in the formats other profilers read\n"
"\n"
"SYNOPSIS\n"
"    allocguard export --format pprof|collapsed|massif|json [--snapshot N|peak]\n"
"                      [--sample-index TYPE] [-o FILE] LOG\n"
"\n"
"DESCRIPTION\n"
"    pprof      gzip'd profile.proto of one snapshot for `go tool pprof`, Pyroscope and\n"
"               Parca.  Sample types alloc_objects, alloc_space (everything allocated so\n"
"               far), inuse_objects, inuse_space (live at the snapshot; the default).\n"
"               Mappings carry build-ids; locations are symbolized (inlined calls are\n"
"               lines of one location); each sample has a label kind=heap|mmap|swap.\n"
"               Two exports compare with `go tool pprof -diff_base=A.pb.gz B.pb.gz`.\n"
"    collapsed  `root;caller;...;leaf BYTES` lines of one snapshot (live bytes by\n"
"               default) for flamegraph.pl, speedscope and inferno.\n"
"    massif     the massif.out format for ms_print and massif-visualizer: one snapshot\n"
"               per allocguard snapshot (total = tracked bytes), a detailed tree at the\n"
"               peak (whose total is report's peak) and at the last snapshot.\n"
"    json       the whole log: process, options, modules, events, swapped files, every\n"
"               site with its frames, every snapshot with its totals and the sites that\n"
"               changed since the previous one (a site absent keeps its figures).\n"
"\n"
"OPTIONS\n"
"    --snapshot N|LABEL|peak\n"
"                        pprof and collapsed: snapshot N, the last one the program labeled\n"
"                        LABEL (allocguard_snapshot), or the one holding the most tracked\n"
"                        bytes (default: the last)\n"
"    --sample-index TYPE pprof: the default sample type; collapsed: the value written\n"
"                        (alloc_objects, alloc_space, inuse_objects, inuse_space)\n"
"    -o FILE             write FILE (replaced whole) instead of stdout\n"
"\n"
"EXAMPLES\n"
"    allocguard export --format pprof -o heap.pb.gz app.log && go tool pprof -top heap.pb.gz\n"
"    allocguard export --format pprof --snapshot 2 -o a.pb.gz app.log\n"
"    go tool pprof -top -diff_base=a.pb.gz heap.pb.gz     # what grew since snapshot 2\n"
"    allocguard export --format massif -o massif.out app.log && ms_print massif.out\n";

static const char plot_help[] =
"NAME\n"
"    allocguard plot - tracked bytes and the top sites over time\n"
"\n"
"SYNOPSIS\n"
"    allocguard plot LOG... -o FILE.svg|FILE.html\n"
"\n"
"DESCRIPTION\n"
"    FILE.svg: tracked bytes at each snapshot (with heap, mapped and swapped bytes when\n"
"    there are any, and the highest seen so far), the warn, critical and cap lines, a dot\n"
"    per warn, critical and cap event, and below it the live bytes of the five largest\n"
"    sites stacked.  Every series carries its figures (data-points=\"t_s:bytes ...\").\n"
"    FILE.html: one self-contained page (no network) with the plot and the text of\n"
"    report, leaks and growth.\n"
"\n"
"    Several logs (a run's parent and children: allocguard plot allocguard.app.*.log) share\n"
"    one clock (their start times): the plot shows their sum on top and each process as a\n"
"    band below; the page adds one section per process.\n";

static void help_run_options(FILE *out)
{
	for (size_t i = 0; i < opt_count; i++) {
		const opt_desc_t *d = &opt_table[i];
		fprintf(out, "    --%s %s\n        %s\n        environment %s, default '%s'\n",
			d->flag, opt_type_name(d), d->doc, d->env, d->def);
	}
}

static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

void help_options_table(FILE *out)
{
	fputs("| `run` option | environment variable | meaning | default |\n", out);
	fputs("|---|---|---|---|\n", out);
	for (size_t i = 0; i < opt_count; i++) {
		const opt_desc_t *d = &opt_table[i];
		fprintf(out, "| `--%s ", d->flag);
		md_cell(out, opt_type_name(d));
		fprintf(out, "` | `%s` | ", d->env);
		md_cell(out, d->doc);
		fputs(" | `", out);
		md_cell(out, d->def);
		fputs("` |\n", out);
	}
	fputs("| `--fail-on-leak SIZE` | (run only) | exit 1 when the command exits 0 but lost "
	      "bytes (after suppressions) exceed SIZE; exit 2 when the command left no log (not "
	      "judged) | off |\n", out);
	fputs("| `--no-default-suppressions` | (run and leaks) | do not apply the shipped default "
	      "suppressions (bash, dash, coreutils) | off |\n", out);
	fputs("| `-q`, `--quiet` | (run only) | no summary after the command ends | off |\n", out);
	fputs("| `-v`, `--verbose` | (run only) | list every child process in the summary | off |\n",
	      out);
	fputs("| `--keep-logs` | (run only) | keep the logs of small child processes and of a "
	      "small wrapper's image that exec'd the program (nothing lost, no cap event, peak "
	      "under 1 MiB), which `run` removes otherwise | off |\n", out);
}

int help_print(FILE *out, const char *topic)
{
	if (!topic) {
		fputs(overall, out);
		fprintf(out, "\nVERSION\n    allocguard %s, log format %d\n", ALLOCGUARD_VERSION,
			AG_LOG_VERSION);
		return 0;
	}
	if (strcmp(topic, "run") == 0) {
		fputs(run_head, out);
		help_run_options(out);
		fputs(run_tail, out);
		return 0;
	}
	const char *text = strcmp(topic, "leaks") == 0 ? leaks_help
			 : strcmp(topic, "growth") == 0 ? growth_help
			 : strcmp(topic, "diff") == 0 ? diff_help
			 : strcmp(topic, "report") == 0 ? report_help
			 : strcmp(topic, "export") == 0 ? export_help
			 : strcmp(topic, "plot") == 0 ? plot_help : NULL;
	if (!text)
		return 2;
	fputs(text, out);
	return 0;
}
