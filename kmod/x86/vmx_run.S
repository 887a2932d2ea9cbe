/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VMX world switch, and the call of the host's NMI handler after an
 * NMI stopped a guest.
 *
 * nvmm_vmx_run(gprs, host_rsp, launched) runs with IRQs off and the VCPU's
 * VMCS current. It records its stack pointer as the VMCS host RSP (only
 * when it differs from *host_rsp, the value the VMCS holds), loads the
 * guest's general registers from gprs[] (indexed like NVMM_X64_GPR_*; RSP,
 * RIP and RFLAGS live in the VMCS), clears the CPU buffers (VERW, where the
 * kernel asks for it for VM entries) and enters with VMRESUME if launched,
 * else VMLAUNCH. The VM exit lands on nvmm_vmx_exit (the VMCS host RIP),
 * with the stack as it was at the entry: the guest's registers go back to
 * gprs[], none of their values survives the return. Returns 0 after a VM
 * exit, 1 if the VMLAUNCH/VMRESUME failed (the VM-instruction error field
 * of the VMCS says why).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

#define GPR(n)	((n) * 8)
#define RAX	0
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

#define VMCS_HOST_RSP	0x6c14

.section .noinstr.text, "ax"

SYM_FUNC_START(nvmm_vmx_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* gprs, for after the exit: at (%rsp) when the exit lands. */
	push	%rdi

	/* The exit finds the stack as it is now. */
	cmp	%rsp, (%rsi)
	je	1f
	mov	%rsp, (%rsi)
	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
1:
	/* CF = launched; nothing below changes CF (VERW changes only ZF). */
	bt	$0, %edx

	mov	%rdi, %rax
	mov	GPR(RCX)(%rax), %rcx
	mov	GPR(RDX)(%rax), %rdx
	mov	GPR(RBX)(%rax), %rbx
	mov	GPR(RBP)(%rax), %rbp
	mov	GPR(RSI)(%rax), %rsi
	mov	GPR(RDI)(%rax), %rdi
	mov	GPR(R8)(%rax), %r8
	mov	GPR(R9)(%rax), %r9
	mov	GPR(R10)(%rax), %r10
	mov	GPR(R11)(%rax), %r11
	mov	GPR(R12)(%rax), %r12
	mov	GPR(R13)(%rax), %r13
	mov	GPR(R14)(%rax), %r14
	mov	GPR(R15)(%rax), %r15
	mov	GPR(RAX)(%rax), %rax

	/* MDS and friends: no host data left in the CPU buffers. */
	VM_CLEAR_CPU_BUFFERS

	jc	.Lresume

	/* The exit lands on nvmm_vmx_exit, with the stack of here. */
	UNWIND_HINT_SAVE
.Llaunch:
	vmlaunch
	jmp	.Lfail
.Lresume:
	vmresume
	jmp	.Lfail

	_ASM_EXTABLE(.Llaunch, .Lfault)
	_ASM_EXTABLE(.Lresume, .Lfault)

SYM_INNER_LABEL(nvmm_vmx_exit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	push	%rax
	mov	8(%rsp), %rax
	pop	GPR(RAX)(%rax)
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
	xor	%ebx, %ebx

.Lout:
	/* gprs */
	pop	%rax

	/* No guest value may steer the host's speculation. */
	xor	%eax, %eax
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%ebp, %ebp
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

	/*
	 * Before any RET: the guest may have filled the RSB (retpolines,
	 * IBRS), or one CALL must retire first (eIBRS: PBRSB).
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE
	CLEAR_BRANCH_HISTORY_VMEXIT

	mov	%ebx, %eax
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET

.Lfail:
	mov	$1, %ebx
	jmp	.Lout

	/*
	 * VMLAUNCH/VMRESUME fault only if VMX was turned off under us, which
	 * the reboot path may do: fail the entry then.
	 */
.Lfault:
	cmpb	$0, nvmm_rebooting(%rip)
	jne	.Lfail
	ud2
SYM_FUNC_END(nvmm_vmx_run)

.section .text, "ax"

/*
 * nvmm_vmx_nmi(), IRQs off, right after a VM exit caused by an NMI: the NMI
 * was not delivered to the host; call the host's handler as the CPU would
 * have, with an interrupt frame (SS, RSP, RFLAGS, CS, RIP) on a 16-byte
 * aligned stack. The handler returns with IRET, to the instruction after
 * the CALL, with RSP = RBP.
 */
SYM_FUNC_START(nvmm_vmx_nmi)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	call	asm_exc_nmi_noist
	mov	%rbp, %rsp
	pop	%rbp
	RET
SYM_FUNC_END(nvmm_vmx_nmi)
