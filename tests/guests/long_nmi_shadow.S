/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: an NMI injected at an exit taken inside an interrupt shadow.
 * The OUT of 0xA1 runs in the shadow of STI, that of 0xB1 in the shadow of
 * MOV SS; the test injects an NMI at each. The handler reports 0xE02.
 * Each OUT is followed by a NOP (the one instruction a CPU that holds the
 * NMI for the shadow still runs first) and a report of 0xA2 or 0xB2.
 */
#include "guest.h"

	.code64
	.text
start:
	leaq	nmi_handler(%rip), %rax
	movl	$2, %ecx
	call	set_gate
	lidt	idt_desc
	cli
	movl	$0xA1, %eax
	sti
	outl	%eax, $PORT_REPORT	/* in the STI shadow */
	nop
	REPORT	0xA2
	cli
	movl	$0xB1, %eax
	movw	%ss, %cx
	movw	%cx, %ss
	outl	%eax, $PORT_REPORT	/* in the MOV SS shadow */
	nop
	REPORT	0xB2
	hlt

LONG_IDT_HELPERS

nmi_handler:
	pushq	%rax
	REPORT	0xE02
	popq	%rax
	iretq
