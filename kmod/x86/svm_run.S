/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SVM world switch.
 *
 * nvmm_svm_vmrun(vmcb_pa, gprs, hostsave_pa) runs with GIF=0 (CLGI) and
 * RFLAGS.IF=1, so that physical interrupts and NMIs stop the guest but reach
 * the host only after STGI. It saves the host's VMSAVE state (FS, GS, TR,
 * LDTR, KernelGSBase, the SYSCALL and SYSENTER MSRs) in hostsave_pa, loads
 * the guest's from the VMCB, runs the guest with its general registers from
 * gprs[] (indexed like NVMM_X64_GPR_*; RAX, RSP, RIP and RFLAGS live in the
 * VMCB), and undoes all of that after #VMEXIT. Nothing of the guest's
 * register values survives the return.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define GPR(n)	((n) * 8)
#define RCX	1
#define RDX	2
#define RBX	3
#define RBP	5
#define RSI	6
#define RDI	7
#define R8	8
#define R9	9
#define R10	10
#define R11	11
#define R12	12
#define R13	13
#define R14	14
#define R15	15

.section .noinstr.text, "ax"

SYM_FUNC_START(nvmm_svm_vmrun)
	push	%rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx

	/* After #VMEXIT: 8(%rsp) = hostsave_pa, (%rsp) = gprs. */
	push	%rdx
	push	%rsi

	/* Host state out, guest state in. */
	mov	%rdx, %rax
1:	vmsave	%rax
2:	mov	%rdi, %rax
3:	vmload	%rax
4:
	/* Guest registers; RSI last, it is the base. */
	mov	GPR(RCX)(%rsi), %rcx
	mov	GPR(RDX)(%rsi), %rdx
	mov	GPR(RBX)(%rsi), %rbx
	mov	GPR(RBP)(%rsi), %rbp
	mov	GPR(RDI)(%rsi), %rdi
	mov	GPR(R8)(%rsi), %r8
	mov	GPR(R9)(%rsi), %r9
	mov	GPR(R10)(%rsi), %r10
	mov	GPR(R11)(%rsi), %r11
	mov	GPR(R12)(%rsi), %r12
	mov	GPR(R13)(%rsi), %r13
	mov	GPR(R14)(%rsi), %r14
	mov	GPR(R15)(%rsi), %r15
	mov	GPR(RSI)(%rsi), %rsi

	/* RAX = vmcb_pa; #VMEXIT restores it, with RSP, from the host save. */
5:	vmrun	%rax
6:
	push	%rax
	mov	8(%rsp), %rax
	mov	%rcx, GPR(RCX)(%rax)
	mov	%rdx, GPR(RDX)(%rax)
	mov	%rbx, GPR(RBX)(%rax)
	mov	%rbp, GPR(RBP)(%rax)
	mov	%rsi, GPR(RSI)(%rax)
	mov	%rdi, GPR(RDI)(%rax)
	mov	%r8, GPR(R8)(%rax)
	mov	%r9, GPR(R9)(%rax)
	mov	%r10, GPR(R10)(%rax)
	mov	%r11, GPR(R11)(%rax)
	mov	%r12, GPR(R12)(%rax)
	mov	%r13, GPR(R13)(%rax)
	mov	%r14, GPR(R14)(%rax)
	mov	%r15, GPR(R15)(%rax)
	pop	%rax

	/* Guest state out, host state in: GS base and per-CPU data again. */
7:	vmsave	%rax
8:	mov	8(%rsp), %rax
9:	vmload	%rax
10:
	/* Before any RET: the guest may have poisoned the RSB. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE

	/* Retbleed and SRSO: untrain RET before the host returns anywhere. */
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT

	/* No guest value may steer the host's speculation. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%ebx, %ebx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d

	add	$16, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

	/*
	 * An SVM instruction faults only if SVM was turned off under us,
	 * which the emergency reboot path may do: carry on if so.
	 */
20:	cmpb	$0, nvmm_rebooting(%rip)
	jne	2b
	ud2
30:	cmpb	$0, nvmm_rebooting(%rip)
	jne	4b
	ud2
50:	cmpb	$0, nvmm_rebooting(%rip)
	jne	6b
	ud2
70:	cmpb	$0, nvmm_rebooting(%rip)
	jne	8b
	ud2
90:	cmpb	$0, nvmm_rebooting(%rip)
	jne	10b
	ud2

	_ASM_EXTABLE(1b, 20b)
	_ASM_EXTABLE(3b, 30b)
	_ASM_EXTABLE(5b, 50b)
	_ASM_EXTABLE(7b, 70b)
	_ASM_EXTABLE(9b, 90b)
SYM_FUNC_END(nvmm_svm_vmrun)
