/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode, the VMX twin of long_excp.S: the instructions VMX makes exit
 * that are not I/O, MSRs or CPUID. MONITOR and MWAIT exit to the test; the
 * VMX instructions, GETSEC, VMFUNC and RDTSCP must raise #UD in the guest,
 * RDPMC #GP, and INVD/WBINVD do nothing. The handlers report the vector,
 * the faulting RIP (low 32 bits) and for #GP the error code, then resume
 * R15 bytes further (the length of the faulting instruction).
 */
#include "guest.h"

	.code64
	.text
start:
	leaq	ud_handler(%rip), %rax
	movl	$6, %ecx
	call	set_gate
	leaq	gp_handler(%rip), %rax
	movl	$13, %ecx
	call	set_gate
	lidt	idt_desc
	REPORT	1
	movl	$DATA_BASE, %eax
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	monitor
	REPORT	2
	xorl	%eax, %eax
	xorl	%ecx, %ecx
	mwait
	REPORT	3
	/* Memory operands point at scratch RAM; nothing is written. */
	movl	$(DATA_BASE + 0x800), %eax
	xorl	%ecx, %ecx
	movl	$3, %r15d
	vmcall
	vmlaunch
	vmresume
	vmxoff
	vmptrld	(%rax)
	vmptrst	(%rax)
	vmread	%rax, %rcx
	vmwrite	%rcx, %rax
	.byte	0x0F, 0x01, 0xD4	/* vmfunc */
	rdtscp
	movl	$(DATA_BASE + 0x800), %eax
	movl	$4, %r15d
	vmclear	(%rax)
	vmxon	(%rax)
	movl	$5, %r15d
	invept	(%rax), %rcx
	invvpid	(%rax), %rcx
	movl	$2, %r15d
	getsec
	xorl	%ecx, %ecx
	rdpmc
	invd
	wbinvd
	REPORT	4
	hlt

LONG_IDT_HELPERS

ud_handler:
	pushq	%rax
	REPORT	0xE06
	movl	8(%rsp), %eax		/* RIP */
	REPORT_EAX
	addq	%r15, 8(%rsp)
	popq	%rax
	iretq
gp_handler:
	pushq	%rax
	REPORT	0xE13
	movl	16(%rsp), %eax		/* RIP */
	REPORT_EAX
	movl	8(%rsp), %eax		/* error code */
	REPORT_EAX
	addq	%r15, 16(%rsp)
	popq	%rax
	addq	$8, %rsp
	iretq
