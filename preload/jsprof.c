/* jsprof.c: node's JS heap figures (see jsprof.h).  Invariants: a function's address is
 * AG_JS_ADDR_BASE + 16 * its index and never changes; a slot's entries are sorted by stack
 * id and are exactly what this module last added to those stacks for that isolate, so a new
 * read changes each stack by the difference and a closed isolate takes back all it added. */
#include "jsprof.h"
#include "fmt.h"
#include "logfmt.h"
#include "options.h"
#include "stacktab.h"
#include "state.h"
#include "sys.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_FUNCS (1u << 18)
#define FUNC_SLOTS (MAX_FUNCS * 2)
#define ARENA_BYTES (64u << 20)
#define MAX_ENTRIES (1u << 16)      /* stacks per isolate's profile */
#define REFRESH_WAIT_MS 100

typedef struct {
	uint32_t line, col;
	uint32_t name, script;          /* offsets into the arena */
	uint64_t hash;
} jsfunc_t;

typedef struct {
	uint32_t stack;
	uint64_t bytes, count;          /* count in COUNT_ONE units */
} entry_t;

typedef struct {
	bool open;
	void (*poke)(void *arg);
	void *arg;
	entry_t *e;
	size_t n;
	_Atomic uint64_t reads;
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static jsfunc_t *funcs;
static uint32_t *func_slots;         /* open addressing: index + 1, 0 = empty */
static uint32_t nfuncs;
static char *arena;
static size_t arena_len;
static uint32_t written_gen, written_upto;
static slot_t slots[JSPROF_MAX_ISOLATES];
static bool said_full;
static _Atomic bool exiting;

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

static bool tables_ready(void)
{
	if (funcs)
		return true;
	funcs = sys_alloc(MAX_FUNCS * sizeof *funcs, true);
	func_slots = sys_alloc(FUNC_SLOTS * sizeof *func_slots, true);
	arena = sys_alloc(ARENA_BYTES, true);
	return funcs && func_slots && arena;
}

static uint32_t arena_put(const char *s)
{
	size_t n = strlen(s) + 1;
	if (arena_len + n > ARENA_BYTES)
		return UINT32_MAX;
	memcpy(arena + arena_len, s, n);
	arena_len += n;
	return (uint32_t)(arena_len - n);
}

static bool same_func(const jsfunc_t *f, uint64_t h, const char *name, const char *script,
		      uint32_t line, uint32_t col)
{
	return f->hash == h && f->line == line && f->col == col &&
	       strcmp(arena + f->name, name) == 0 && strcmp(arena + f->script, script) == 0;
}

static void say_full(const char *what)
{
	if (!said_full)
		fmt_say3("node: ", what, " is full; further JS functions are not named");
	said_full = true;
}

/* The function's address: interned once per process.  0 when the tables are full. */
EXPORT uint64_t allocguard_node_func(const char *name, const char *script, int line, int col)
{
	name = name ? name : "";
	script = script ? script : "";
	uint32_t ln = line > 0 ? (uint32_t)line : 0, cl = col > 0 ? (uint32_t)col : 0;
	uint64_t h = hash_str(hash_str(0xcbf29ce484222325ull ^ ln ^ (uint64_t)cl << 32, name),
			      script);
	uint64_t addr = 0;
	pthread_mutex_lock(&lock);
	if (!tables_ready())
		goto out;
	for (uint32_t i = (uint32_t)h & (FUNC_SLOTS - 1);; i = (i + 1) & (FUNC_SLOTS - 1)) {
		uint32_t k = func_slots[i];
		if (k && same_func(&funcs[k - 1], h, name, script, ln, cl)) {
			addr = AG_JS_ADDR_BASE + 16ull * (k - 1);
			break;
		}
		if (k)
			continue;
		uint32_t no = arena_put(name), so = no == UINT32_MAX ? no : arena_put(script);
		if (nfuncs >= MAX_FUNCS - 1 || so == UINT32_MAX) {
			say_full(nfuncs >= MAX_FUNCS - 1 ? "the JS function table" : "the JS name arena");
			break;
		}
		funcs[nfuncs] = (jsfunc_t){ ln, cl, no, so, h };
		func_slots[i] = ++nfuncs;
		addr = AG_JS_ADDR_BASE + 16ull * (nfuncs - 1);
		break;
	}
out:
	pthread_mutex_unlock(&lock);
	return addr;
}

/* A JS call stack (function addresses, innermost first) as a stack id; 0 when full. */
EXPORT uint32_t allocguard_node_stack(const uint64_t *addrs, int n)
{
	if (n < 0 || n > AG_LOG_MAX_FRAMES)
		return 0;
	int was = ag_hook.in;
	ag_hook.in = 1;
	uint32_t id = stacktab_intern(AG_KIND_JS, (const uintptr_t *)addrs, n);
	ag_hook.in = was;
	return id;
}

/* A slot for one isolate: poke(arg) asks it for a read (any thread).  -1 when none left. */
EXPORT int allocguard_node_open(void (*poke)(void *arg), void *arg)
{
	int got = -1;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < JSPROF_MAX_ISOLATES && got < 0; i++) {
		if (slots[i].open)
			continue;
		if (!slots[i].e && !(slots[i].e = sys_alloc(MAX_ENTRIES * sizeof(entry_t), true)))
			break;
		slots[i].open = true;
		slots[i].poke = poke;
		slots[i].arg = arg;
		slots[i].n = 0;
		got = i;
	}
	pthread_mutex_unlock(&lock);
	return got;
}

static void sort_entries(entry_t *e, size_t n)
{
	/* shell sort: no allocation, and profiles are small */
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
		for (size_t i = gaps[g]; i < n; i++) {
			entry_t t = e[i];
			size_t j = i;
			for (; j >= gaps[g] && e[j - gaps[g]].stack > t.stack; j -= gaps[g])
				e[j] = e[j - gaps[g]];
			e[j] = t;
		}
}

static void change(uint32_t stack, uint64_t ob, uint64_t oc, uint64_t nb, uint64_t nc)
{
	if (nb > ob || nc > oc)
		stacktab_alloc(stack, nb > ob ? nb - ob : 0, nc > oc ? nc - oc : 0);
	if (nb < ob || nc < oc)
		stacktab_free(stack, nb < ob ? ob - nb : 0, nc < oc ? oc - nc : 0);
}

/* Replace the slot's figures with new ones (merged from a sorted copy). */
static void replace(slot_t *s, entry_t *nw, size_t nn)
{
	sort_entries(nw, nn);
	size_t i = 0, j = 0;
	while (i < s->n || j < nn) {
		if (j == nn || (i < s->n && s->e[i].stack < nw[j].stack)) {
			change(s->e[i].stack, s->e[i].bytes, s->e[i].count, 0, 0);
			i++;
		} else if (i == s->n || nw[j].stack < s->e[i].stack) {
			change(nw[j].stack, 0, 0, nw[j].bytes, nw[j].count);
			j++;
		} else {
			change(nw[j].stack, s->e[i].bytes, s->e[i].count, nw[j].bytes, nw[j].count);
			i++, j++;
		}
	}
	memcpy(s->e, nw, nn * sizeof *nw);
	s->n = nn;
}

/* The isolate's whole profile now: stacks[i] holds bytes[i] in counts[i] objects (counts
 * may be estimates).  Repeated stacks are summed.  0, or an errno value. */
EXPORT int allocguard_node_put(int slot, const uint32_t *stacks, const uint64_t *bytes,
			       const uint64_t *counts, size_t n)
{
	static entry_t tmp[MAX_ENTRIES];
	if (slot < 0 || slot >= JSPROF_MAX_ISOLATES)
		return EINVAL;
	if (n > MAX_ENTRIES)
		n = MAX_ENTRIES;
	int was = ag_hook.in;
	ag_hook.in = 1;
	pthread_mutex_lock(&lock);
	slot_t *s = &slots[slot];
	int rc = s->open ? 0 : EINVAL;
	size_t m = 0;
	for (size_t i = 0; !rc && i < n; i++)
		if (stacks[i] && bytes[i])
			tmp[m++] = (entry_t){ stacks[i], bytes[i],
					      (counts[i] ? counts[i] : 1) * COUNT_ONE };
	if (!rc) {
		sort_entries(tmp, m);
		size_t k = 0;
		for (size_t i = 0; i < m; i++) {
			if (k && tmp[k - 1].stack == tmp[i].stack) {
				tmp[k - 1].bytes += tmp[i].bytes;
				tmp[k - 1].count += tmp[i].count;
			} else {
				tmp[k++] = tmp[i];
			}
		}
		replace(s, tmp, k);
		atomic_fetch_add(&s->reads, 1);
	}
	pthread_mutex_unlock(&lock);
	ag_hook.in = was;
	return rc;
}

/* The isolate is going away: what it held is released. */
EXPORT void allocguard_node_close(int slot)
{
	if (slot < 0 || slot >= JSPROF_MAX_ISOLATES)
		return;
	int was = ag_hook.in;
	ag_hook.in = 1;
	pthread_mutex_lock(&lock);
	slot_t *s = &slots[slot];
	if (s->open) {
		replace(s, NULL, 0);
		s->open = false;
		s->poke = NULL;
	}
	pthread_mutex_unlock(&lock);
	ag_hook.in = was;
}

/* The settings the addon follows: node (0 off, 1 on, 2 inspector only), node_gc, the
 * snapshot interval (ms) and the stack depth. */
EXPORT void allocguard_node_config(int *mode, int *gc, uint64_t *interval_ms, int *depth)
{
	*mode = (int)ag_config.node;
	*gc = (int)ag_config.node_gc;
	*interval_ms = ag_config.interval;
	*depth = (int)ag_config.depth;
}

/* node's main thread is exiting (its 'exit' event): workers are being stopped, and what
 * they held goes with them before the exit snapshot. */
EXPORT void allocguard_node_exiting(void)
{
	atomic_store(&exiting, true);
}

bool jsprof_exiting(void)
{
	return atomic_load_explicit(&exiting, memory_order_relaxed);
}

void jsprof_refresh(void)
{
	uint64_t before[JSPROF_MAX_ISOLATES];
	bool asked[JSPROF_MAX_ISOLATES] = { false };
	bool any = false;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < JSPROF_MAX_ISOLATES; i++) {
		if (!slots[i].open || !slots[i].poke)
			continue;
		before[i] = atomic_load(&slots[i].reads);
		slots[i].poke(slots[i].arg);
		asked[i] = any = true;
	}
	pthread_mutex_unlock(&lock);
	for (int ms = 0; any && ms < REFRESH_WAIT_MS; ms += 2) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		any = false;
		for (int i = 0; i < JSPROF_MAX_ISOLATES; i++)
			any |= asked[i] && slots[i].open && atomic_load(&slots[i].reads) == before[i];
	}
}

/* An escaped string field; empty as "-", and a string that is "-" as "%2D". */
static void put_str(fmt_t *f, const char *s)
{
	if (!*s)
		fmt_chr(f, '-');
	else if (strcmp(s, "-") == 0)
		fmt_str(f, "%2D");
	else
		fmt_escaped(f, s);
}

bool jsprof_trylock(void) { return pthread_mutex_trylock(&lock) == 0; }
void jsprof_unlock(void) { pthread_mutex_unlock(&lock); }

void jsprof_write_funcs(logbuf_t *lb, uint32_t gen)
{
	pthread_mutex_lock(&lock);
	if (written_gen != gen) {
		written_gen = gen;
		written_upto = 0;
	}
	char line[2 * 3 * 512 + 64];
	for (; written_upto < nfuncs; written_upto++) {
		const jsfunc_t *fn = &funcs[written_upto];
		fmt_t f;
		fmt_init(&f, line, sizeof line);
		fmt_str(&f, "F ");
		fmt_hex(&f, AG_JS_ADDR_BASE + 16ull * written_upto);
		fmt_chr(&f, ' ');
		fmt_u64(&f, fn->line);
		fmt_chr(&f, ' ');
		fmt_u64(&f, fn->col);
		fmt_chr(&f, ' ');
		put_str(&f, arena + fn->name);
		fmt_chr(&f, ' ');
		put_str(&f, arena + fn->script);
		logbuf_line(lb, &f);
	}
	pthread_mutex_unlock(&lock);
}
