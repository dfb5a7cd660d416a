/* logfmt.h: the snapshot log format, shared by the preload (writer) and the analyzer
 * (reader).  This comment is the format's documentation; change both sides together and
 * bump AG_LOG_VERSION on any incompatible change.
 *
 * A log is UTF-8/ASCII text, one record per line, fields separated by one space, each line
 * ending in '\n'.  Numbers are unsigned decimal unless marked hex (lowercase, no "0x").
 * Strings (paths, argv) are percent-escaped: bytes <= 0x20, '%' and >= 0x7f become %XX, so a
 * string is always one field.  The first character of a line is its record type:
 *
 *   AGLOG <version>                       first line of every log
 *   P <pid> <ppid> <start_unix_ns> <exe>  the process (exe = /proc/self/exe target); ppid
 *                                         is the parent when the process started (the
 *                                         forking process, or the parent at exec)
 *   A <arg>                               one per argv element, in order
 *   O <name> <value>                      an effective option, e.g. "O cap 209715200",
 *                                         "O warn 80", "O critical 90", "O on_cap fail",
 *                                         "O sample 0", "O depth 64", "O interval_ms 1000",
 *                                         "O leak_check no" (no exit scan ran: the exit
 *                                         snapshot has no R lines and reachability is
 *                                         unknown; absent in older logs = yes)
 *   M <bias> <lo> <hi> <build_id|-> <path>  a loaded module (hex bias/lo/hi): addresses in
 *                                         [lo, hi) belong to it; bias is dlpi_addr, so
 *                                         addr - bias is the ELF virtual address.  Re-sent
 *                                         when modules are loaded later (dlopen), and
 *                                         for modules dlclose'd since a stack saw them.
 *   U <bias> <lo> <hi> <stack> <path>     the module of that M line (hex bias/lo/hi) was
 *                                         unloaded before stack id <stack> was interned:
 *                                         frames of stacks with ids >= <stack> in [lo, hi)
 *                                         belong to a module loaded there later.
 *   S <id> <kind> <addr>...               a stack, written once before its first use.  kind
 *                                         is h (heap: malloc family), m (anonymous mmap) or
 *                                         s (swapped model file).  addrs are hex call-site
 *                                         addresses (return address - 1), innermost first,
 *                                         the guard's own frames already removed.  An h
 *                                         stack with no addresses holds the blocks that
 *                                         were allocated before the guard's constructor.
 *   F <addr> <line> <column> <name> <script>
 *                                         a JS function of node's heap profile (version
 *                                         3): addr (hex, AG_JS_ADDR_BASE and above, never
 *                                         a real address) stands for it in j stacks; line
 *                                         and column (1-based, 0 = unknown) are where the
 *                                         function starts in script.  An empty name or
 *                                         script is written "-" (a lone "-" as %2D).
 *   J <path>                              a JIT symbol map (node --perf-basic-prof:
 *                                         /tmp/perf-PID.map) that the analyzer may read
 *   V <t_ns> <kind> <tracked_bytes> <request> <stack>
 *                                         a cap event: kind is warn, critical or cap;
 *                                         tracked_bytes as it was (a refused request's
 *                                         are those before it); the request that crossed
 *                                         (or was refused) and, for a refused request,
 *                                         its stack (0: none; its S line comes first).
 *                                         Version 1 logs have the first three only.
 *   W <t_ns> <bytes> <mode> <path>        a swapped model file: mode is eager, lazy, or
 *                                         eager-fallback (lazy asked, userfaultfd refused),
 *                                         or passthrough-<why> when it was left file-backed
 *   B <seq> <t_ns> <reason> [<label>]     begin snapshot seq (0, 1, 2, ... in this file);
 *                                         reason: start interval signal warn critical cap
 *                                         abort exit exec (the image is replaced: the
 *                                         last snapshot of this log, reachability unknown)
 *                                         label (asked by the program through
 *                                         allocguard_snapshot: the label follows, escaped,
 *                                         1..AG_LABEL_MAX bytes, no '@')
 *   L <stack> <live_bytes> <live_count> <total_bytes> <total_count> [<temporary>]
 *                                         a stack's aggregates at this snapshot.  Delta
 *                                         encoded: only stacks that changed since the
 *                                         previous complete snapshot of this file appear;
 *                                         absent stacks keep their previous values.
 *                                         total_count is the allocation calls (realloc
 *                                         included); temporary (version 2; absent in
 *                                         version 1 logs) is how many of them were freed by
 *                                         the same thread before its next allocation.
 *   R <stack> <lost_bytes> <lost_count> [<indirect_bytes> <indirect_count>]
 *                                         exit snapshots only: of the stack's live blocks
 *                                         (or, for m stacks, its committed mapping pieces),
 *                                         these were unreachable (lost) at exit; the rest
 *                                         of its live bytes were still reachable.  A stack
 *                                         with live blocks and no R line lost nothing; R
 *                                         is written when lost bytes or blocks are not 0
 *                                         (a lost malloc(0) is 0 bytes in 1 block).  The
 *                                         optional pair (written since allocguard knows it;
 *                                         absent in older logs = 0) is the part of the lost
 *                                         figures that was lost only because lost blocks
 *                                         point to it (memcheck's "indirectly lost").
 *   X <verdict> <stopped> <not_stopped> [<why>=<n>...] [scanner=<pid>]
 *                                         before an exit snapshot's B line: whether its
 *                                         scan judged.  verdict: judged (R lines hold),
 *                                         or why not: seccomp (a filter is in force: no
 *                                         scan), unreadable (process_vm_readv refused),
 *                                         nested (exit inside the guard's own code),
 *                                         busy, no-memory, skipped (not asked); then
 *                                         lost and reachable are unknown, never
 *                                         "reachable".  stopped: the other threads whose
 *                                         registers were roots; not_stopped: those scanned
 *                                         by their whole stack, registers not (why: in a
 *                                         system call, halted, blocks the signal,
 *                                         seccomp, no-answer, too-many).  scanner: the
 *                                         copy-on-write child that ran the scan and wrote
 *                                         this snapshot (absent: the process itself).  A
 *                                         log with no X line (older writers) was judged.
 *   K <peak_tracked> <heap> <mapped> <swapped>
 *                                         the peak of tracked bytes so far and the totals
 *                                         by kind at that moment (they add up to it); one
 *                                         per snapshot, before its T lines.
 *   T <stack> <bytes> <count>             what the stack had live at the moment of that
 *                                         peak.  Delta encoded like L: only stacks whose
 *                                         figures changed since the previous complete
 *                                         snapshot of this file; absent stacks keep theirs
 *                                         (0 before their first T line).  Exact for a
 *                                         single-threaded program; with threads a site may
 *                                         be off by at most one block per other thread
 *                                         allocating or freeing as the peak moved (see
 *                                         preload/peak.c).
 *   Z <n0> <n1> ... <nk>                  (version 2) requested sizes of the malloc family
 *                                         so far, at most one per snapshot: n0 calls of
 *                                         size 0, then nk calls of a size in
 *                                         [2^(k-1), 2^k - 1]; trailing empty buckets left
 *                                         out (at most AG_SIZE_BUCKETS numbers).
 *   H <stack> <bucket>:<calls> ...        (version 4) a heap stack's requested sizes so far:
 *                                         <calls> of its allocation calls asked for a size
 *                                         in bucket <bucket> (as in Z), only the buckets
 *                                         that are not empty, in increasing order.  With
 *                                         sampling, the sampled calls by their weight
 *                                         (estimates, like L's counts).  Written right after
 *                                         the stack's L line whenever its total_count moved,
 *                                         and whole (not a delta): the stack's last H line
 *                                         in a complete snapshot is its histogram.  Not
 *                                         counted in E's nrec.
 *   E <seq> <tracked> <heap> <mapped> <swapped> <peak_tracked> <peak_heap> <peak_mapped> <nrec>
 *                                         end of snapshot seq: totals in bytes, and nrec =
 *                                         the number of L, R and T lines since its B line.
 *                                         peak_heap and peak_mapped are each kind's own
 *                                         highest, not a split of peak_tracked (K is).
 *                                         The figures agree: tracked = heap + mapped +
 *                                         swapped; each peak is at least its total and
 *                                         never below the previous snapshot's; peak_tracked
 *                                         is at least peak_heap and peak_mapped.  A reader
 *                                         raises figures that disagree (older writers) and
 *                                         says so; that is not damage.
 *
 * t_ns is nanoseconds since the process started (CLOCK_MONOTONIC).  With sampling
 * ("O sample N", N > 0) L/R byte and count figures are unbiased estimates; E totals are
 * always exact.
 *
 * Durability rule: a snapshot counts only when its E line is complete (ends in '\n') and
 * matches its B line and record count.  A log cut at any byte therefore yields exactly the
 * complete snapshots before the cut.  Lines of other types are usable once complete.
 *
 * Container: the text above is written as a gzip stream (RFC 1952; deflate, level 1) unless
 * ALLOCGUARD_LOG_COMPRESS=0, which writes it plain; a reader tells them apart by the gzip
 * magic (1f 8b) and reads both.  The writer does a sync flush (Z_SYNC_FLUSH: the stream so
 * far ends on a byte boundary with 00 00 ff ff, and inflates to every byte written) after
 * the header and after every snapshot's E line, so a snapshot is durable, as in a text log,
 * once its flush is on disk.  The last snapshot of an image's log (exit, exec, abort) ends
 * the gzip member (Z_FINISH: its CRC-32 and length follow); text written after that (more
 * snapshots after all, or `allocguard run` naming node's JIT map in a J line) is a further
 * gzip member, or, after an unfinished stream, a stored deflate block continuing it.  A
 * reader inflates as it reads: a stream cut anywhere yields the text before the cut, read
 * by the durability rule; a stream that fails to inflate (a changed byte, a bad CRC) is
 * damage where its text stops, and the complete snapshots before it are used.  The records
 * are the same in both containers (AG_LOG_VERSION is not the container's). */
#ifndef ALLOCGUARD_LOGFMT_H
#define ALLOCGUARD_LOGFMT_H

#include <stddef.h>

#define AG_LOG_MAGIC "AGLOG"
/* 2: L's temporary field, Z lines, V's request and stack; 3: F lines and j stacks, B
 * labels, X lines; 4: H lines.  A reader takes every version up to its own. */
#define AG_LOG_VERSION 4

/* Requested sizes in power-of-two buckets (Z lines): bucket 0 is size 0, bucket k >= 1
 * holds [2^(k-1), 2^k - 1]. */
#define AG_SIZE_BUCKETS 65
static inline unsigned ag_size_bucket(unsigned long long n)
{
	return n ? 64u - (unsigned)__builtin_clzll(n) : 0u;
}
static inline unsigned long long ag_size_bucket_min(unsigned k)
{
	return k ? 1ull << (k - 1) : 0;
}
static inline unsigned long long ag_size_bucket_max(unsigned k)
{
	return k == 0 ? 0 : k == 64 ? ~0ull : (1ull << k) - 1;
}

/* The words of the format, one list per family, each X(NAME, "word"): both sides take
 * their enums and names from here (ag_FAM_name() turns a value into its word,
 * ag_FAM_parse(w, n) the n bytes at w into its value, -1 when unknown). */

/* Stack kinds as written in S lines. */
#define AG_KIND_HEAP 'h'
#define AG_KIND_MMAP 'm'
#define AG_KIND_SWAP 's'
#define AG_KIND_JS 'j'

/* F addresses: above every user-space and kernel address a stack can hold. */
#define AG_JS_ADDR_BASE 0xfff0000000000000ull

/* Snapshot reasons, as written in B lines. */
#define AG_REASON_LIST(X) \
	X(START, "start") X(INTERVAL, "interval") X(SIGNAL, "signal") X(WARN, "warn") \
	X(CRITICAL, "critical") X(CAP, "cap") X(ABORT, "abort") X(EXIT, "exit") X(EXEC, "exec") \
	X(LABEL, "label")

/* The exit scan's verdicts, as written in X lines. */
#define AG_VERDICT_LIST(X) \
	X(JUDGED, "judged") X(SECCOMP, "seccomp") X(UNREADABLE, "unreadable") \
	X(NESTED, "nested") X(BUSY, "busy") X(NO_MEMORY, "no-memory") X(SKIPPED, "skipped")

/* Cap events, as written in V lines. */
#define AG_CAP_EVENT_LIST(X) X(WARN, "warn") X(CRITICAL, "critical") X(CAP, "cap")

/* Swap modes, as written in W lines; the first two are also the swap_mode option's values
 * ("O swap_mode").  A reader keeps any other passthrough-<why> it meets (AG_SWAP_PASSTHROUGH
 * is the prefix). */
#define AG_SWAP_FILL_LIST(X) X(EAGER, "eager") X(LAZY, "lazy")
#define AG_SWAP_MODE_LIST(X) \
	AG_SWAP_FILL_LIST(X) X(EAGER_FALLBACK, "eager-fallback") \
	X(PASSTHROUGH_SHARED_WRITABLE, "passthrough-shared-writable") \
	X(PASSTHROUGH_MEMORY, "passthrough-memory")
#define AG_SWAP_PASSTHROUGH "passthrough-"

/* On-cap actions, as written in "O on_cap" (and given to ALLOCGUARD_ON_CAP). */
#define AG_ON_CAP_LIST(X) X(FAIL, "fail") X(ABORT, "abort") X(WARN, "warn")

/* Switches, as written in "O leak_check" (and given to ALLOCGUARD_LEAK_CHECK). */
#define AG_YES_NO_LIST(X) X(NO, "no") X(YES, "yes")

#define AG_WORD_STR(name, word) word,

/* Enum, name and parse functions for one list: ag_<fam>_t with values <PREFIX>_<NAME> and
 * <PREFIX>_COUNT. */
#define AG_WORDS(fam, PREFIX, LIST)                                                      \
	typedef enum { LIST(AG_WORDS_ENUM_##PREFIX) PREFIX##_COUNT } ag_##fam##_t;         \
	static inline const char *ag_##fam##_name(int v)                                  \
	{                                                                                 \
		static const char *const names[] = { LIST(AG_WORD_STR) };                 \
		return v >= 0 && v < PREFIX##_COUNT ? names[v] : "?";                     \
	}                                                                                 \
	static inline int ag_##fam##_parse(const char *w, size_t n)                       \
	{                                                                                 \
		static const char *const names[] = { LIST(AG_WORD_STR) };                 \
		for (int i = 0; i < PREFIX##_COUNT; i++)                                  \
			if (ag_word_is(names[i], w, n))                                   \
				return i;                                                 \
		return -1;                                                                \
	}

/* Is the n bytes at w exactly word? */
static inline int ag_word_is(const char *word, const char *w, size_t n)
{
	size_t i = 0;
	while (i < n && word[i] && word[i] == w[i])
		i++;
	return i == n && !word[i];
}

#define AG_WORDS_ENUM_AG_REASON(name, word) AG_REASON_##name,
#define AG_WORDS_ENUM_AG_CAP_EV(name, word) AG_CAP_EV_##name,
#define AG_WORDS_ENUM_AG_VERDICT(name, word) AG_VERDICT_##name,
#define AG_WORDS_ENUM_AG_SWAP(name, word) AG_SWAP_##name,
#define AG_WORDS_ENUM_AG_ON_CAP(name, word) AG_ON_CAP_##name,
#define AG_WORDS_ENUM_AG_YN(name, word) AG_YN_##name,
AG_WORDS(reason, AG_REASON, AG_REASON_LIST)
AG_WORDS(cap_event, AG_CAP_EV, AG_CAP_EVENT_LIST)
AG_WORDS(verdict, AG_VERDICT, AG_VERDICT_LIST)
AG_WORDS(swap_mode, AG_SWAP, AG_SWAP_MODE_LIST)
AG_WORDS(on_cap, AG_ON_CAP, AG_ON_CAP_LIST)
AG_WORDS(yes_no, AG_YN, AG_YES_NO_LIST)

#define AG_LOG_MAX_FRAMES 256
#define AG_LABEL_MAX 64

#endif
