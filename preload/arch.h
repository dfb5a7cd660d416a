/* arch.h: what is particular to an architecture: what a signal's saved context holds of a
 * thread's registers (general and vector, word by word, and the stack pointer), which the
 * thread stop (threadstop.c) takes as roots, and a raw system call (no libc wrapper, no
 * errno: async-signal-safe, and never bound to a hook of ours). */
#ifndef ALLOCGUARD_ARCH_H
#define ALLOCGUARD_ARCH_H

#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#if defined(__x86_64__)
/* 23 general registers and the 16 xmm registers (two words each).  The upper halves of
 * ymm/zmm registers live in the xsave area past fpregs and are not taken. */
#define REGS_MAX (NGREG + 32)

/* Copy the registers saved in uc into out (REGS_MAX words); returns how many, and the
 * interrupted stack pointer in *sp (0 when the context holds none). */
static inline int regs_from_context(const ucontext_t *uc, uintptr_t *out, uintptr_t *sp)
{
	int n = 0;
	for (int i = 0; i < NGREG; i++)
		out[n++] = (uintptr_t)uc->uc_mcontext.gregs[i];
	*sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
	if (fp) {
		memcpy(out + n, fp->_xmm, 32 * sizeof *out);
		n += 32;
	}
	return n;
}

/* -errno on failure, as the kernel returns it. */
static inline long arch_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#else
#error "allocguard: arch.h knows x86_64 only (register sets and raw system calls)"
#endif

#endif
