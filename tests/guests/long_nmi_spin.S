/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode, an IDT with an NMI handler; counts in RAM forever.
 *   main:        reports 1, then counts at DATA_BASE
 *   NMI handler: reports 0xE02, then counts at DATA_BASE + 8 and never
 *                returns (the guest's NMIs stay blocked), with IF as the
 *                main loop had it
 * With RBX != 0 (set by the test, see spin_ticks()) both loops also write
 * a character to PORT_CHAR each time the count has no bit of RBX set: an
 * exit now and then, for CPUs that stop a guest for nothing else.
 */
#include "guest.h"

	.code64
	.text
start:
	leaq	nmi_handler(%rip), %rax
	movl	$2, %ecx
	call	set_gate
	lidt	idt_desc
	REPORT	1
	movl	$DATA_BASE, %edi
	jmp	count

nmi_handler:
	REPORT	0xE02
	/* IF as the main loop had it (Bochs' VMX needs IF=1 to stop us). */
	testl	$0x200, 16(%rsp)
	jz	count_handler
	sti
count_handler:
	movl	$DATA_BASE + 8, %edi

/* Count at (rdi) forever, with an exit when the count & rbx is 0. */
count:
	incq	(%rdi)
	testq	%rbx, %rbx
	jz	count
	testq	%rbx, (%rdi)
	jnz	count
	movb	$'.', %al
	outb	%al, $PORT_CHAR
	jmp	count

LONG_IDT_HELPERS
