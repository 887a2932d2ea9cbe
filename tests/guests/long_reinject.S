/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode with an IDT, for events whose delivery faults in the nested
 * page table (the test points RSP at a page the guest never touched):
 *   vector 0x30: reports 0xE30     #GP (13): reports 0xE13, the error
 *   #UD (6): reports 0xE06, resumes after the 2-byte UD2
 * The main program touches what delivery reads (IDT, GDT) beforehand,
 * then reports 1..5 with a HLT after each; the test injects between them,
 * and the guest itself raises a software interrupt and a #UD.
 */
#include "guest.h"
#define GDT	0x76000			/* VM_GDT_BASE */

	.code64
	.text
start:
	leaq	int30_handler(%rip), %rax
	movl	$0x30, %ecx
	call	set_gate
	leaq	gp_handler(%rip), %rax
	movl	$13, %ecx
	call	set_gate
	leaq	ud_handler(%rip), %rax
	movl	$6, %ecx
	call	set_gate
	lidt	idt_desc
	movq	GDT + 8, %rax		/* the GDT page is mapped now */
	REPORT	1
	hlt
	REPORT	2			/* the test injected 0x30 */
	hlt
	REPORT	3			/* the test injected #GP */
	hlt
	int	$0x30
	REPORT	4
	hlt
	ud2
	REPORT	5
	hlt

LONG_IDT_HELPERS

int30_handler:
	pushq	%rax
	REPORT	0xE30
	popq	%rax
	iretq
gp_handler:
	pushq	%rax
	REPORT	0xE13
	movl	8(%rsp), %eax
	REPORT_EAX
	popq	%rax
	addq	$8, %rsp
	iretq
ud_handler:
	pushq	%rax
	REPORT	0xE06
	addq	$2, 8(%rsp)
	popq	%rax
	iretq
