/* arch_x86_64.h: x86_64's part of the preload (included through arch.h only): the raw
 * system call, the spin-wait hint, the GOT relocation types, the callee-saved registers, a
 * context to unwind from and the syscall(2) hook's entry.  Stack capture also relies on
 * x86_64's call instruction leaving each return address in the slot just below the
 * caller's frame (stacks.c). */
#ifndef ALLOCGUARD_ARCH_X86_64_H
#define ALLOCGUARD_ARCH_X86_64_H

#include <elf.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

/* A system call that no hook can intercept; returns -errno on failure, as the kernel. */
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

/* What a signal's saved context holds of a thread's registers, for the thread stop
 * (threadstop.c), which takes them as roots: 23 general registers and the 16 xmm
 * registers (two words each).  The upper halves of ymm/zmm registers live in the xsave
 * area past fpregs and are not taken. */
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

#define ARCH_CPU_RELAX() __builtin_ia32_pause()

/* Relocations that bind a GOT slot or a data word to a function (gotpatch.c). */
#define ARCH_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define ARCH_R_GLOB_DAT R_X86_64_GLOB_DAT
#define ARCH_R_ABS64 R_X86_64_64

/* libunwind's numbers of the callee-saved registers (needs <libunwind.h>). */
#define ARCH_UNW_CALLEE_SAVED \
	UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12, UNW_X86_64_R13, UNW_X86_64_R14, \
	UNW_X86_64_R15
/* The frame-pointer register (a frame that keeps one has its return address right above
 * the word it points to, and its caller's value in that word). */
#define ARCH_UNW_FP UNW_X86_64_RBP

/* A context for libunwind to start at a frame of which only the return address into it
 * (ip), its stack pointer and its frame pointer are known (on x86_64 unw_context_t is
 * ucontext_t).  The other callee-saved registers are given the stack pointer: a frame
 * whose unwind rule named one would read the stack there, not a wild address.  Returns
 * where the context keeps the frame pointer. */
static inline uintptr_t arch_frame_context(ucontext_t *uc, uintptr_t ip, uintptr_t sp,
					   uintptr_t fp)
{
	memset(uc, 0, sizeof *uc);
	greg_t *g = uc->uc_mcontext.gregs;
	g[REG_RIP] = (greg_t)ip;
	g[REG_RSP] = (greg_t)sp;
	g[REG_RBP] = (greg_t)fp;
	g[REG_RBX] = g[REG_R12] = g[REG_R13] = g[REG_R14] = g[REG_R15] = (greg_t)sp;
	return (uintptr_t)&g[REG_RBP];
}

/* syscall(2) must stay glibc's frameless leaf for everyone else (a raw clone or vfork
 * returns through it on another stack), so the check and the pass-through are assembly:
 * a call from libunwind jumps to fdguard_syscall, and syscall(SYS_seccomp, ...) to
 * priv_seccomp_syscall (hooks_priv.c), with the arguments untouched.  Expanded in
 * unwindshim.c. */
#define ARCH_STR2(x) #x
#define ARCH_STR(x) ARCH_STR2(x)
#define ARCH_SYSCALL_HOOK_ASM \
	".text\n" \
	".globl syscall\n" \
	".type syscall, @function\n" \
	".p2align 4\n" \
	"syscall:\n" \
	"	.cfi_startproc\n" \
	"	movq (%rsp), %rax\n" \
	"	subq fdguard_unw_lo(%rip), %rax\n" \
	"	cmpq fdguard_unw_len(%rip), %rax\n" \
	"	jb fdguard_syscall\n" \
	"	cmpq $" ARCH_STR(SYS_seccomp) ", %rdi\n" \
	"	je priv_seccomp_syscall\n" \
	"	movq %rdi, %rax\n" \
	"	movq %rsi, %rdi\n" \
	"	movq %rdx, %rsi\n" \
	"	movq %rcx, %rdx\n" \
	"	movq %r8, %r10\n" \
	"	movq %r9, %r8\n" \
	"	movq 8(%rsp), %r9\n" \
	"	syscall\n" \
	"	cmpq $-4095, %rax\n" \
	"	jae 1f\n" \
	"	ret\n" \
	"1:	movq %rax, %rdi\n" \
	"	jmp fdguard_syscall_error\n" \
	"	.cfi_endproc\n" \
	".size syscall, .-syscall\n"

#endif
