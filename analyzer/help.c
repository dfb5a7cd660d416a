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
"    allocguard leaks  LOG... [--json] [--top N] [--fail-on SIZE]\n"
"    allocguard growth LOG... [--json] [--top N]\n"
"    allocguard diff   LOG_A[@N] LOG_B[@M] [--json] [--top N]\n"
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
"    report   process summary: peak by kind, final, cap events, swapped files, top sites\n"
"    leaks    blocks live at exit by call site, lost or still reachable, largest first\n"
"    growth   per call site trend across the snapshots: growing, plateau, flat, shrinking\n"
"    diff     per call site difference between two snapshots of one run or of two runs\n"
"    help     this page, or `allocguard help COMMAND` for one command\n"
"\n"
"    leaks, growth and report read each LOG in turn (say, a run's parent and children:\n"
"    allocguard leaks allocguard.server.*.log); with --json, several logs give an array of\n"
"    the per-log documents, and leaks --fail-on counts the lost bytes of them all.\n"
"\n"
"COMMON OPTIONS\n"
"    --json        machine-readable output (shapes documented per command)\n"
"    --top N       show the N largest sites (default 10 for humans, all in JSON)\n"
"    --color, --no-color\n"
"                  colour is used only when stdout is a terminal and NO_COLOR is unset\n"
"\n"
"EXIT STATUS\n"
"    0  success\n"
"    1  a --fail-on / --fail-on-leak threshold was crossed\n"
"    2  bad usage, a bad option value, or a log that cannot be used at all\n"
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
"    Every option below is also read from its environment variable (the option wins).  A\n"
"    bad value is never ignored: the command is not started, one line names the option and\n"
"    the expected form, and the exit status is 2.\n"
"\n"
"OPTIONS\n";

static const char run_tail[] =
"    --fail-on-leak SIZE\n"
"        exit 1 when the command exits 0 but more than SIZE bytes were lost at exit\n"
"        (summed over all its processes); run only, no environment variable\n"
"    -q, --quiet\n"
"        no summary after the command ends\n"
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
"    allocguard leaks LOG... [--json] [--top N] [--fail-on SIZE]\n"
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
"    --fail-on SIZE  exit 1 when more than SIZE bytes were lost (for test harnesses)\n";

static const char growth_help[] =
"NAME\n"
"    allocguard growth - per call site trend across the snapshots\n"
"\n"
"SYNOPSIS\n"
"    allocguard growth LOG... [--json] [--top N]\n"
"\n"
"DESCRIPTION\n"
"    For each call stack, its live bytes over the snapshots taken while the program ran\n"
"    (the exit snapshot, which shows teardown, is left out when 3 others exist), a\n"
"    least-squares slope in bytes/s, the first, last and peak values, and a verdict:\n"
"      growing    still rising at the end: a steady leak (slope: its current rate)\n"
"      plateau    rose earlier, level now: a pool or cache that warmed up\n"
"      flat       no trend beyond noise: churn, or constant\n"
"      shrinking  falling\n"
"    A trend counts only when it amounts to at least 10% of the site's peak over the run\n"
"    and stands 4 standard errors above the noise.  Sorted by slope, steepest first.  Take\n"
"    snapshots often enough (run --interval) for the verdicts to mean something.\n"
"\n"
"OPTIONS\n"
"    --json   {\"snapshots\", \"duration_s\", \"sites\": [{\"verdict\", \"slope_bytes_per_s\",\n"
"             \"first_bytes\", \"last_bytes\", \"peak_bytes\", \"frames\": [...]}]}\n"
"    --top N  show the N steepest sites (default 10; JSON: all)\n";

static const char diff_help[] =
"NAME\n"
"    allocguard diff - per call site difference between two snapshots\n"
"\n"
"SYNOPSIS\n"
"    allocguard diff LOG_A[@N] LOG_B[@M] [--json] [--top N]\n"
"\n"
"DESCRIPTION\n"
"    Compares the live bytes and blocks per call site in snapshot N of LOG_A (default: its\n"
"    last) with snapshot M of LOG_B (default: its last).  The two may be the same log.\n"
"    Sites are matched by their symbolized frames (function, file and line, or module and\n"
"    offset without symbols), not by raw addresses, so two runs line up despite ASLR.\n"
"    Sorted by the size of the change, largest first.\n"
"\n"
"OPTIONS\n"
"    --json   {\"sites\": [{\"delta_bytes\", \"delta_count\", \"frames\": [...]}]}\n"
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
"    tracked bytes and of heap and mapped bytes, the final figures, the cap with its\n"
"    thresholds and every warn, critical and cap event with its time, the model files\n"
"    whose mappings were served by chunked reads, and the sites live at the last snapshot.\n"
"\n"
"OPTIONS\n"
"    --json   {\"pid\", \"command\", \"snapshots\", \"peak\": {\"bytes\", \"heap_bytes\",\n"
"             \"mapped_bytes\"}, \"final\": {\"bytes\"}, \"cap\": {\"bytes\", \"warn_pct\",\n"
"             \"critical_pct\", \"events\": [{\"kind\", \"t_s\", \"bytes\"}]},\n"
"             \"swapped\": [{\"path\", \"bytes\", \"mode\"}], \"sites\": [...]}\n"
"    --top N  show the N largest sites (default 10; JSON: all)\n";

void help_run_options(FILE *out)
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
	      "bytes exceed SIZE | off |\n", out);
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
			 : strcmp(topic, "report") == 0 ? report_help : NULL;
	if (!text)
		return 2;
	fputs(text, out);
	return 0;
}
