/* stacks.c: stack capture with libunwind (see stacks.h).  unw_backtrace with a per-thread
 * cache is libunwind's fast path; frames inside liballocguard.so itself are dropped by
 * address, so the result does not depend on inlining.
 *
 * In front of it, a cache of chains already seen.  The guard's own frames keep frame
 * pointers, so the slot holding the program's return address into the hook is found in a
 * few loads.  A chain unwound once is remembered under (that slot's address, its return
 * address, kind) with, per frame, where its return address sat relative to that slot; it
 * is reused only when every one of those return addresses is found in place again, on the
 * part of this thread's stack that an unwind has walked.  Each return address is written by
 * the call that made the frame, so a different path differs in some slot (a stale copy of
 * the same address at the same place, left in a frame that grew, is the one way to fool
 * it).  The table is global and 4-way set-associative; a record is replaced under a sequence
 * lock. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "stacks.h"
#include "arch.h"
#include "fdguard.h"
#include "fmt.h"
#include "logfmt.h"
#include "modules.h"
#include "stacktab.h"
#include "state.h"
#include "threads.h"
#include "sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <link.h>
#include <string.h>
#include <stdatomic.h>
#include <stdbool.h>

static uintptr_t self_lo, self_hi;
static _Atomic bool ready;

/* arg: { probe address, lo, hi } */
static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t *m = arg, lo, hi;
	modules_range(info, &lo, &hi);
	if (m[0] < lo || m[0] >= hi)
		return 0;
	m[1] = lo;
	m[2] = hi;
	return 1;
}

void stacks_init(void)
{
	uintptr_t self[3] = { (uintptr_t)&stacks_init, 0, 0 };
	dl_iterate_phdr(find_module, self);
	self_lo = self[1];
	self_hi = self[2];
	/* Before libunwind's first call, which creates its validation pipe. */
	uintptr_t unw[3] = { (uintptr_t)&unw_init_local, 0, 0 };
	dl_iterate_phdr(find_module, unw);
	fdguard_init(unw[1], unw[2]);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	void *warm[8];
	unw_backtrace(warm, 8);   /* first unwind allocates libunwind's caches */
	atomic_store(&ready, true);
}

/* frames must have room for max + SELF_FRAMES entries: our own frames come first and are
 * dropped in place, so hooks need no second buffer on the program's stack. */
#define SELF_FRAMES 8

/* Up to max caller frames; returns the depth (0 when unwinding is not possible yet). */
static int stacks_capture(uintptr_t *frames, int max)
{
	if (!atomic_load_explicit(&ready, memory_order_acquire))
		return 0;
	ag_unsafe++;   /* libunwind takes the loader's lock */
	int n = unw_backtrace((void **)frames, max + SELF_FRAMES);
	ag_unsafe--;
	int skip = 0;
	while (skip < n && frames[skip] >= self_lo && frames[skip] < self_hi)
		skip++;
	int depth = n - skip < max ? n - skip : max;
	for (int i = 0; i < depth; i++)
		frames[i] = frames[skip + i] ? frames[skip + i] - 1 : 0;
	return depth;
}

#define CHAIN_FRAMES 64
#define CHAIN_SLOTS 4096u

typedef struct {
	_Atomic uint32_t seq;      /* odd while being written */
	uint32_t id;
	uint16_t n;
	char kind;
	uintptr_t slot0;           /* address of the first return address */
	uint32_t off[CHAIN_FRAMES];   /* of each return address, from slot0 */
	uintptr_t ret[CHAIN_FRAMES];
} chain_t;

static _Atomic(chain_t *) chains;
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));
static __thread int stack_known __attribute__((tls_model("initial-exec")));
static __thread int in_getattr __attribute__((tls_model("initial-exec")));

void stacks_getattr(int delta)
{
	in_getattr += delta;
}

/* The slot holding the return address from the hook into the program, by following the
 * guard's own frame pointers; NULL if the chain leaves the stack's order. */
static __attribute__((noinline)) const uintptr_t *program_slot(void)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	for (int i = 0; i < SELF_FRAMES + 8 && fp; i++) {
		uintptr_t ret = fp[1];
		if (ret < self_lo || ret >= self_hi)
			return &fp[1];
		const uintptr_t *up = (const uintptr_t *)fp[0];
		if (up <= fp)
			return NULL;
		fp = up;
	}
	return NULL;
}

static uint32_t chain_index(uintptr_t slot0, uintptr_t ret0, char kind)
{
	uint64_t h = (slot0 >> 3) * UINT64_C(0x9e3779b97f4a7c15) ^ ret0 ^ (uint64_t)kind;
	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	return (uint32_t)(h >> 40) & (CHAIN_SLOTS - 1);
}

/* Chains come in sets of CHAIN_WAYS: look-alike paths (one slot and return address, other
 * callers further out) share a set instead of evicting each other. */
#define CHAIN_WAYS 4u

static uint32_t chain_try(chain_t *c, uintptr_t slot0, char kind)
{
	uint32_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
	if ((seq & 1) || c->slot0 != slot0 || c->kind != kind || !c->n || c->n > CHAIN_FRAMES)
		return 0;
	uint16_t n = c->n;
	if (stack_known != 1 || slot0 < stack_lo || slot0 + c->off[n - 1] + sizeof(uintptr_t) > stack_hi)
		return 0;
	for (uint16_t k = 0; k < n; k++)
		if (*(const uintptr_t *)(slot0 + c->off[k]) != c->ret[k])
			return 0;
	uint32_t id = c->id;
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&c->seq, memory_order_relaxed) == seq ? id : 0;
}

static uint32_t chain_find(const uintptr_t *slot, char kind)
{
	chain_t *t = atomic_load_explicit(&chains, memory_order_acquire);
	if (!t || !slot)
		return 0;
	uintptr_t slot0 = (uintptr_t)slot;
	chain_t *set = &t[chain_index(slot0, *slot, kind) & ~(CHAIN_WAYS - 1)];
	for (uint32_t w = 0; w < CHAIN_WAYS; w++) {
		uint32_t id = chain_try(&set[w], slot0, kind);
		if (id)
			return id;
	}
	return 0;
}

static void chain_keep(const uintptr_t *slot, char kind, const uintptr_t *frames,
		       const uintptr_t *at, int n, uint32_t id)
{
	chain_t *t = atomic_load_explicit(&chains, memory_order_acquire);
	if (!t) {
		chain_t *fresh = sys_alloc(CHAIN_SLOTS * sizeof *fresh, true);
		if (!fresh)
			return;
		if (!atomic_compare_exchange_strong(&chains, &t, fresh)) {
			sys_free(fresh, CHAIN_SLOTS * sizeof *fresh);
		} else {
			t = fresh;
		}
	}
	uintptr_t slot0 = (uintptr_t)slot;
	static __thread unsigned turn __attribute__((tls_model("initial-exec")));
	chain_t *c = &t[(chain_index(slot0, frames[0] + 1, kind) & ~(CHAIN_WAYS - 1)) +
			(turn++ & (CHAIN_WAYS - 1))];
	uint32_t seq = atomic_load_explicit(&c->seq, memory_order_relaxed);
	if ((seq & 1) || !atomic_compare_exchange_strong(&c->seq, &seq, seq + 1))
		return;   /* another thread is writing it */
	c->slot0 = slot0;
	c->kind = kind;
	c->id = id;
	c->n = (uint16_t)n;
	for (int k = 0; k < n; k++) {
		c->off[k] = (uint32_t)(at[k] - slot0);
		c->ret[k] = frames[k] + 1;
	}
	atomic_store_explicit(&c->seq, seq + 2, memory_order_release);
}

/* Where each return address of a chain unw_backtrace gave sits: the first slot above the
 * previous one that holds it, within this thread's stack.  false when one is not found. */
static bool find_slots(uintptr_t slot0, const uintptr_t *frames, int n, uintptr_t *at,
		       uintptr_t hi)
{
	uintptr_t p = slot0;
	for (int k = 0; k < n; k++) {
		uintptr_t want = frames[k] + 1;
		while (p + sizeof(uintptr_t) <= hi && *(const uintptr_t *)p != want)
			p += sizeof(uintptr_t);
		if (p + sizeof(uintptr_t) > hi || p - slot0 > UINT32_MAX)
			return false;
		at[k] = p;
		p += sizeof(uintptr_t);
	}
	return true;
}


static uint32_t intern(char kind, const uintptr_t *frames, int depth)
{
	/* a new stack may be the first sign of a dlopen'ed object: remember it now, while it
	 * is loaded (the id read before interning orders it after any earlier dlclose) */
	uint32_t next = stacktab_limit();
	ag_unsafe++;   /* the table's chunk lock, and the loader's in modules_note */
	uint32_t id = stacktab_intern(kind, frames, depth);
	if (id >= next)
		modules_note(next);
	ag_unsafe--;
	return id;
}

/* libc's pthread_getattr_np, not the hook of that name in this library. */
static int real_getattr(pthread_t th, pthread_attr_t *attr)
{
	static int (*fn)(pthread_t, pthread_attr_t *);
	if (!fn)
		fn = (int (*)(pthread_t, pthread_attr_t *))dlsym(RTLD_NEXT, "pthread_getattr_np");
	return fn ? fn(th, attr) : ENOSYS;
}

/* This thread's own stack, once: chains are cached and reused only there (not on a
 * sigaltstack or a fiber's stack), so every slot read lies in memory that stays mapped.
 * pthread_getattr_np allocates, so it is asked only from a heap hook, after the real
 * allocator returned (never from an mmap the allocator makes while holding its lock). */
static void know_stack(bool may_ask)
{
	if (!stack_known && may_ask && !in_getattr) {
		pthread_attr_t a;
		void *lo;
		size_t size;
		stack_known = -1;
		ag_unsafe++;
		int rc = real_getattr(pthread_self(), &a);
		ag_unsafe--;
		if (rc == 0) {
			if (pthread_attr_getstack(&a, &lo, &size) == 0) {
				stack_lo = (uintptr_t)lo;
				stack_hi = (uintptr_t)lo + size;
				stack_known = 1;
			}
			pthread_attr_destroy(&a);
		}
	}
}

static bool on_own_stack(uintptr_t slot0, bool may_ask)
{
	know_stack(may_ask);
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	return stack_known == 1 && sp >= stack_lo && slot0 > sp && slot0 < stack_hi;
}

/* libunwind's unw_backtrace needs about 3.3 KB of stack (a cursor and a context of 1 KB
 * each, and its frames); below this much left, the frame-pointer walk instead. */
#define UNWIND_ROOM (12 * 1024)
static _Atomic bool low_stack_seen, low_stack_said;
/* A fork child made while its thread was inside libunwind (fork from a signal handler): the
 * loader's lock is held there by a thread that does not exist in the child. */
static bool unwind_off;

void stacks_postfork_child(bool inside_unwind)
{
	if (inside_unwind) {
		unwind_off = true;
		atomic_store(&low_stack_seen, true);
	}
}

/* Is there room below us to unwind?  If not, [*lo, *hi) is the stack we are on. */
static bool room_to_unwind(bool may_ask, uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	know_stack(may_ask && !unwind_off);
	if (stack_known == 1 && sp >= stack_lo && sp < stack_hi) {
		*lo = stack_lo;
		*hi = stack_hi;
		if (unwind_off)
			return false;
	} else if (unwind_off) {
		*lo = sp;
		*hi = sp;   /* unknown: only the caller's frame */
		return false;
	} else {
		stack_t ss;   /* a signal handler's alternate stack, or one we cannot size */
		if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
			return true;   /* a fiber's stack: unwound as any (docs/design-safety.md) */
		*lo = (uintptr_t)ss.ss_sp;
		*hi = (uintptr_t)ss.ss_sp + ss.ss_size;
	}
	return sp < *lo || sp - *lo >= UNWIND_ROOM;
}

/* The program's frames by their frame pointers, reading only [sp, hi): as deep as the
 * program keeps frame pointers and this stack goes (a handler's frames on its own stack). */
static int fp_walk(uintptr_t *frames, int max, uintptr_t hi)
{
	const uintptr_t *slot = program_slot();
	if (!slot || max <= 0)
		return 0;
	frames[0] = slot[0] - 1;
	int n = 1;
	uintptr_t fp = slot[-1], below = (uintptr_t)slot;
	while (n < max && fp > below && fp % sizeof(uintptr_t) == 0 && fp + 16 <= hi) {
		uintptr_t ret = ((const uintptr_t *)fp)[1];
		if (!ret)
			break;
		frames[n++] = ret - 1;
		below = fp;
		fp = ((const uintptr_t *)fp)[0];
	}
	atomic_store_explicit(&low_stack_seen, true, memory_order_relaxed);
	return n;
}

void stacks_say_pending(void)
{
	if (atomic_load(&low_stack_seen) && !atomic_exchange(&low_stack_said, true))
		fmt_say("allocations made with little stack left (a signal handler's alternate "
			"stack, a nearly full thread stack) have their stacks recorded by frame "
			"pointers only, possibly shorter");
}

uint32_t stacks_here_from(char kind, const uintptr_t *slot)
{
	threads_note();
	int max = (int)ag_config.depth;
	if (max <= 0 || max > AG_LOG_MAX_FRAMES)
		max = AG_LOG_MAX_FRAMES;
	if (max > CHAIN_FRAMES) {
		slot = NULL;
	} else {
		if (!slot || (*slot >= self_lo && *slot < self_hi))
			slot = program_slot();
		uint32_t id = chain_find(slot, kind);
		if (id)
			return id;
	}
	uintptr_t frames[max + SELF_FRAMES];   /* 576 bytes at the default depth */
	uintptr_t lo = 0, hi = 0;
	if (!room_to_unwind(kind == AG_KIND_HEAP, &lo, &hi)) {
		int n = fp_walk(frames, max, hi);
		return n > 0 ? intern(kind, frames, n) : 0;
	}
	int depth = stacks_capture(frames, max);
	if (depth <= 0)
		return 0;
	uint32_t id = intern(kind, frames, depth);
	uintptr_t at[CHAIN_FRAMES];
	/* cached only when the frame pointers and the unwinder agree on the first frame */
	if (id && slot && *slot == frames[0] + 1 && on_own_stack((uintptr_t)slot, kind == AG_KIND_HEAP) &&
	    find_slots((uintptr_t)slot, frames, depth, at, stack_hi))
		chain_keep(slot, kind, frames, at, depth, id);
	return id;
}

uint32_t stacks_here(char kind)
{
	return stacks_here_from(kind, NULL);
}

static bool runtime_module(uintptr_t ip)
{
	if (ip >= self_lo && ip < self_hi)
		return true;
	Dl_info di;
	if (!dladdr((void *)ip, &di) || !di.dli_fname)
		return false;
	const char *base = strrchr(di.dli_fname, '/');
	base = base ? base + 1 : di.dli_fname;
	return strncmp(base, "libc.so", 7) == 0 || strncmp(base, "ld-linux", 8) == 0 ||
	       strncmp(base, "libpthread.so", 13) == 0;
}

/* Set while the exiting thread's snapshot runs on the writer's own stack. */
static __thread const ucontext_t *exit_context __attribute__((tls_model("initial-exec")));

void stacks_exit_context(const ucontext_t *uc)
{
	exit_context = uc;
}

/* Callee-saved registers: what the program's frame still holds after its callees return. */
static const int saved_regs[] = { ARCH_UNW_CALLEE_SAVED };

uintptr_t stacks_program_frame(uintptr_t *regs, int *nregs)
{
	unw_context_t uc;
	unw_cursor_t c;
	*nregs = 0;
	if (exit_context)
		memcpy(&uc, exit_context, sizeof uc);   /* on x86_64 unw_context_t is ucontext_t */
	else if (unw_getcontext(&uc) != 0)
		return 0;
	if (unw_init_local(&c, &uc) != 0)
		return 0;
	for (int depth = 0; depth < 256 && unw_step(&c) > 0; depth++) {
		unw_word_t ip = 0, sp = 0;
		unw_get_reg(&c, UNW_REG_IP, &ip);
		unw_get_reg(&c, UNW_REG_SP, &sp);
		if (runtime_module((uintptr_t)ip - 1))
			continue;
		for (size_t i = 0; i < sizeof saved_regs / sizeof *saved_regs; i++) {
			unw_word_t v;
			if (*nregs < STACKS_SAVED_REGS && unw_get_reg(&c, saved_regs[i], &v) == 0)
				regs[(*nregs)++] = (uintptr_t)v;
		}
		return (uintptr_t)sp;
	}
	return 0;
}
