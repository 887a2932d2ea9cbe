/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode with an IDT (and the GDT the test sets up): handlers report
 * what they received.
 *   #GP (13): reports 0xE13 then the error code
 *   NMI (2):  reports 0xE02
 *   vector 0x30: reports 0xE30
 * The main program runs with interrupts off, reports 1, turns them on
 * (STI; NOP), reports 2, halts; then reports 3 and halts again.
 */
#include "guest.h"

	.code64
	.text
start:
	/* Interrupt gates, selector 0x08, present, DPL 0. */
	leaq	gp_handler(%rip), %rax
	movl	$13, %ecx
	call	set_gate
	leaq	nmi_handler(%rip), %rax
	movl	$2, %ecx
	call	set_gate
	leaq	int30_handler(%rip), %rax
	movl	$0x30, %ecx
	call	set_gate
	lidt	idt_desc
	REPORT	1
	sti
	nop
	REPORT	2
	hlt
	REPORT	3
	hlt

LONG_IDT_HELPERS

gp_handler:
	pushq	%rax
	REPORT	0xE13
	movl	8(%rsp), %eax
	REPORT_EAX
	popq	%rax
	addq	$8, %rsp		/* the error code */
	iretq
nmi_handler:
	pushq	%rax
	REPORT	0xE02
	popq	%rax
	iretq
int30_handler:
	pushq	%rax
	REPORT	0xE30
	popq	%rax
	iretq
