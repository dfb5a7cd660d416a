/* stacks.c: stack capture with libunwind (see stacks.h).  unw_backtrace with a per-thread
 * cache is libunwind's fast path; frames inside liballocguard.so itself are dropped by
 * address, so the result does not depend on inlining.
 *
 * In front of it, each thread's cache of the chains it has seen (chains.c).  The guard's
 * own frames keep frame pointers, so the slot holding the program's return address into the
 * hook is found exactly, in a few loads.  A chain is cached with the stack words an unwind
 * from that slot reads, and what they held (its pins): each return address where the
 * unwinder found it and, for a frame whose caller is found through its frame pointer (one
 * that allocas or realigns, and code without unwind information, such as JIT code), the
 * frame pointer's value where it was kept.  Why they are enough: the unwinder finds each
 * return address at a place given by the frame of the one before it, whose unwind rule
 * fixes the frame's size or names the frame pointer; when every pinned word holds what it
 * held, an unwind would read the same words and give the same frames, so a chain found
 * again is never another path's, even where a frame that grew keeps a stale copy of the
 * other path's return address.  Assumed: unwind rules use the stack pointer, the frame
 * pointer, or GCC's realigned frame (as compilers and JITs emit on x86_64), and the code at
 * a return address is the code that was there (a library unloaded and another loaded at
 * its address between two calls could fool it).  A chain through a signal frame, or not on
 * the thread's own stack, is unwound every time.
 *
 * The pins come from what earlier unwinds showed of each frame, per return address (its
 * fact, chain_fact_t, shared by every thread): chains.c walks the chain by the facts, and
 * a frame not known yet is stepped alone with a libunwind cursor started at it, from the
 * return address, stack pointer and frame pointer the walk reached (step_unknown), which
 * pins it and learns its fact.  So a chain is pinned the first time it is unwound, and
 * each frame costs libunwind's full step once per process, not once per chain. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "stacks.h"
#include "arch.h"
#include "chains.h"
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
	chains_init();
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

/* Where the cursor is: a frame's return address, stack and frame pointers, and where the
 * return address and the frame pointer were found (0: not in memory). */
typedef struct {
	unw_word_t ip, sp, fp;
	uintptr_t iploc, fploc;
} at_t;

static bool read_at(unw_cursor_t *c, at_t *a)
{
	unw_save_loc_t fl = { .type = UNW_SLT_NONE }, il = { .type = UNW_SLT_NONE };
	if (unw_get_reg(c, UNW_REG_IP, &a->ip) != 0 || unw_get_reg(c, UNW_REG_SP, &a->sp) != 0 ||
	    unw_get_reg(c, ARCH_UNW_FP, &a->fp) != 0 || unw_get_save_loc(c, ARCH_UNW_FP, &fl) != 0 ||
	    unw_get_save_loc(c, UNW_REG_IP, &il) != 0)
		return false;
	a->fploc = fl.type == UNW_SLT_MEMORY ? (uintptr_t)fl.u.addr : 0;
	a->iploc = il.type == UNW_SLT_MEMORY ? (uintptr_t)il.u.addr : 0;
	return true;
}

/* How frame a's caller is found, now that the cursor stepped from it to b: by the frame
 * pointer (its frame address is the frame pointer plus two words), as GCC realigns a frame
 * (the frame pointer points into the realigned frame and the word under it holds the frame
 * address, which only the frame pointer finds again), or else by the stack pointer (the
 * unwind rule adds a constant; a frame pointer inside the frame is then a register the
 * code uses for data).  BY_GUESS: code without unwind information (JIT code, V8's
 * builtins), which libunwind steps by the frame pointer (the return address above the word
 * it points to, the caller's frame pointer in that word) whatever the frame's size; its
 * step moves the cursor's stack pointer by two words only, where unw_backtrace's trace
 * takes the frame pointer plus two words, as for BY_FP. */
enum { BY_SP, BY_FP, BY_REALIGNED, BY_GUESS };

static int rule_of(const at_t *a, const at_t *b, const chain_pins_t *p)
{
	uintptr_t cfa = b->sp, w = sizeof(uintptr_t);
	if (a->fp + 2 * w == cfa)
		return BY_FP;
	if (cfa == a->sp + 2 * w && b->fploc == a->fp && b->iploc == a->fp + w)
		return BY_GUESS;
	if (a->fp >= a->sp + w && a->fp < cfa && a->fp - w >= p->slot0 &&
	    *(const uintptr_t *)(a->fp - w) == cfa)
		return BY_REALIGNED;
	return BY_SP;
}

/* The fact of frame a, now that the cursor stepped from it to b (false: none to learn). */
static bool fact_of_step(const at_t *a, const at_t *b, int rule, chain_fact_t *f)
{
	uintptr_t cfa = b->sp;
	*f = (chain_fact_t){ .ip = a->ip };
	if (rule == BY_FP)
		f->how = CHAIN_FP;
	else if (rule == BY_SP && cfa > a->sp && cfa - a->sp <= INT32_MAX)
		f->how = CHAIN_SP, f->cfa = (int32_t)(cfa - a->sp);
	else
		return false;
	if (b->fploc != a->fploc) {
		if (!b->fploc || b->fploc < a->sp || b->fploc >= cfa || cfa - b->fploc > UINT16_MAX)
			return false;
		f->fpsave = (uint16_t)(cfa - b->fploc);
	}
	if (!b->iploc || b->iploc < a->sp || b->iploc >= cfa || cfa - b->iploc > UINT16_MAX)
		return false;
	f->ipsave = (uint16_t)(cfa - b->iploc);
	return true;
}

/* One frame out, pinning and learning: the caller's return address where the unwinder found
 * it; where that address followed from the frame pointer (BY_FP, BY_GUESS: every frame
 * without unwind information), the frame pointer's value where it was kept (and for a
 * realigned frame, the word under it).  A frame found by the stack pointer has a size
 * fixed by its return address (its unwind rule), so pinning the return addresses in order
 * pins where the next one is.  fpreg: where the cursor's context holds the frame pointer,
 * which a frame that leaves it in the register leaves at a->fploc.  false at the end of the
 * stack (an end on a null frame pointer pins that null). */
static bool step_pinned(unw_cursor_t *c, at_t *a, uintptr_t fpreg, chain_pins_t *p)
{
	at_t b;
	chain_fact_t f;
	bool sig = unw_is_signal_frame(c) > 0;
	int rc = unw_step(c);
	if (rc <= 0) {
		if (rc < 0 || sig || (!a->fp && !a->fploc)) {
			p->n = -1;
			return false;
		}
		if (!a->fp)
			chains_pin(p, a->fploc, 0);
		chains_learn(&(chain_fact_t){ .ip = a->ip, .how = CHAIN_END, .fp0 = !a->fp });
		return false;
	}
	if (!read_at(c, &b)) {
		p->n = -1;
		return false;
	}
	if (b.fploc == fpreg)
		b.fploc = a->fploc;
	int rule = rule_of(a, &b, p);
	if (rule == BY_GUESS) {
		b.sp = a->fp + 2 * sizeof(uintptr_t);   /* where unw_backtrace goes on from */
		rule = BY_FP;
	}
	if (sig)
		p->n = -1;
	else if (fact_of_step(a, &b, rule, &f))
		chains_learn(&f);
	if (!b.iploc)
		p->n = -1;
	chains_pin(p, b.iploc, b.ip);
	if (rule != BY_SP) {
		if (!a->fploc)
			p->n = -1;
		else
			chains_pin(p, a->fploc, a->fp);
		if (rule == BY_REALIGNED)
			chains_pin(p, a->fp - sizeof(uintptr_t), b.sp);
	}
	*a = b;
	return true;
}

/* Frame k of a chain (frames, depth of them), whose fact is not known, stepped with the
 * unwinder from where p's walk is (its return address, stack pointer and frame pointer:
 * all a step by a rule of the stack or frame pointer reads), pinning it and learning its
 * fact; p's walk moves to frame k + 1.  p->n < 0 when it cannot be pinned, or the
 * unwinder does not find the frames given (or a chain that ended goes on). */
static __attribute__((noinline)) void step_unknown(const uintptr_t *frames, int k, int depth,
						   bool ended, chain_pins_t *p)
{
	unw_context_t uc;
	unw_cursor_t c;
	at_t a = { .ip = frames[k] + 1, .sp = p->sp, .fp = *(const uintptr_t *)p->fploc,
		   .fploc = p->fploc };
	uintptr_t fpreg = arch_frame_context(&uc, a.ip, a.sp, a.fp);
	ag_unsafe++;   /* libunwind takes the loader's lock */
	bool more = unw_init_local(&c, &uc) == 0 && step_pinned(&c, &a, fpreg, p);
	ag_unsafe--;
	if (k == depth - 1 ? more || !ended : !more || a.ip - 1 != frames[k + 1] ||
	    a.fploc < p->slot0 - sizeof(uintptr_t) || a.fploc > p->hi - sizeof(uintptr_t))
		p->n = -1;
	p->sp = a.sp;
	p->fploc = a.fploc;
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

/* Cache a chain just unwound: pinned from the facts of its frames, each frame whose fact
 * is not known yet stepped with the unwinder (and learnt).  A function of its own, so that
 * its 1.5 KB of pins take stack only when there was room to unwind. */
static __attribute__((noinline)) void cache_chain(char kind, const uintptr_t *slot,
						  const uintptr_t *frames, int depth, int max,
						  uint32_t id)
{
	if (!chains_worth_pinning(slot, kind, id))
		return;
	chain_pins_t p = { .slot0 = (uintptr_t)slot, .hi = stack_hi };
	bool ended = depth < max;
	for (int k = 0; (k = chains_pin_known(frames, k, depth, ended, &p)) < depth; k++)
		step_unknown(frames, k, depth, ended, &p);
	chains_keep(slot, kind, p.off, p.val, p.n, id);
}

/* A chain walked by the facts of its frames alone (no unwind), interned and cached: its
 * id, or 0 when a frame's fact is not known.  A function of its own for its pins' stack,
 * as cache_chain. */
static __attribute__((noinline)) uint32_t walk_known(char kind, const uintptr_t *slot,
						 uintptr_t *frames, int max)
{
	chain_pins_t p = { .slot0 = (uintptr_t)slot, .hi = stack_hi };
	int depth = chains_walk_known(max, frames, &p);
	uint32_t id = depth > 0 ? intern(kind, frames, depth) : 0;
	if (id)
		chains_keep(slot, kind, p.off, p.val, p.n, id);
	return id;
}

/* A chain this thread has not seen (or saw differently): walked by the facts of its frames
 * when they are all known, else unwound; interned, and cached when it runs on this
 * thread's own stack and can be pinned. */
static __attribute__((noinline)) uint32_t unwind_here(char kind, const uintptr_t *slot)
{
	threads_note();   /* a thread's first stack always comes here: its cache starts empty */
	int max = (int)ag_config.depth;
	if (max <= 0 || max > AG_LOG_MAX_FRAMES)
		max = AG_LOG_MAX_FRAMES;
	uintptr_t frames[max + SELF_FRAMES];   /* 576 bytes at the default depth */
	uintptr_t lo = 0, hi = 0;
	if (!room_to_unwind(kind == AG_KIND_HEAP, &lo, &hi)) {
		int n = fp_walk(frames, max, hi);
		return n > 0 ? intern(kind, frames, n) : 0;
	}
	bool own = slot && max <= CHAIN_FRAMES && on_own_stack((uintptr_t)slot, kind == AG_KIND_HEAP);
	uint32_t id = own ? walk_known(kind, slot, frames, max) : 0;
	if (id)
		return id;
	int depth = stacks_capture(frames, max);
	id = depth > 0 ? intern(kind, frames, depth) : 0;
	if (id && own)
		cache_chain(kind, slot, frames, depth, max, id);
	return id;
}

uint32_t stacks_here_from(char kind, const uintptr_t *slot)
{
	if (!slot || (*slot >= self_lo && *slot < self_hi))
		slot = program_slot();
	if (slot) {
		uint32_t id = chains_find(slot, kind);
		if (id)
			return id;
	}
	return unwind_here(kind, slot);
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
