/* stacks.c: stack capture with libunwind (see stacks.h).  unw_backtrace with a per-thread
 * cache is libunwind's fast path; frames inside liballocguard.so itself are dropped by
 * address, so the result does not depend on inlining. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "stacks.h"
#include "fdguard.h"
#include "logfmt.h"
#include "modules.h"
#include "stacktab.h"
#include "state.h"
#include "threads.h"

#include <dlfcn.h>
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
	int n = unw_backtrace((void **)frames, max + SELF_FRAMES);
	int skip = 0;
	while (skip < n && frames[skip] >= self_lo && frames[skip] < self_hi)
		skip++;
	int depth = n - skip < max ? n - skip : max;
	for (int i = 0; i < depth; i++)
		frames[i] = frames[skip + i] ? frames[skip + i] - 1 : 0;
	return depth;
}

uint32_t stacks_here(char kind)
{
	threads_note();
	int max = (int)ag_config.depth;
	if (max <= 0 || max > AG_LOG_MAX_FRAMES)
		max = AG_LOG_MAX_FRAMES;
	uintptr_t frames[max + SELF_FRAMES];   /* 576 bytes at the default depth */
	int depth = stacks_capture(frames, max);
	if (depth <= 0)
		return 0;
	/* a new stack may be the first sign of a dlopen'ed object: remember it now, while it
	 * is loaded (the id read before interning orders it after any earlier dlclose) */
	uint32_t next = stacktab_limit();
	uint32_t id = stacktab_intern(kind, frames, depth);
	if (id >= next)
		modules_note(next);
	return id;
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
static const int saved_regs[] = {
#if defined(__x86_64__)
	UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12, UNW_X86_64_R13, UNW_X86_64_R14,
	UNW_X86_64_R15,
#elif defined(__aarch64__)
	UNW_AARCH64_X19, UNW_AARCH64_X20, UNW_AARCH64_X21, UNW_AARCH64_X22, UNW_AARCH64_X23,
	UNW_AARCH64_X24, UNW_AARCH64_X25, UNW_AARCH64_X26, UNW_AARCH64_X27, UNW_AARCH64_X28,
	UNW_AARCH64_X29,
#endif
};

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
