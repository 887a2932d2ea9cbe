/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 32-bit protected mode: PAE paging turned on by a MOV to CR0 that also
 * sets CD (so that VMX exits on it and the kernel does it), with CR3 at a
 * PDPT the test filled. An IDT sends #GP to a handler that reports 0xE13
 * and the error code, then halts. With valid PDPTEs the code reports 0x33
 * in paging mode and halts.
 */
#include "guest.h"
#define PDPT	(DATA_BASE + 0x3000)

	.code32
	.text
start:
	/* IDT entry 13: 32-bit interrupt gate to gp, selector 0x08. */
	movl	$gp, %eax
	movw	%ax, IDT + 13 * 8
	movw	$0x08, IDT + 13 * 8 + 2
	movw	$0x8E00, IDT + 13 * 8 + 4
	shrl	$16, %eax
	movw	%ax, IDT + 13 * 8 + 6
	lidt	idt_desc
	REPORT	0x32
	movl	$PDPT, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	%cr0, %eax
	orl	$0xC0000000, %eax	/* PG, CD */
	movl	%eax, %cr0
	REPORT	0x33
	hlt
gp:
	REPORT	0xE13
	popl	%eax
	REPORT_EAX
	hlt

	.balign	8
idt_desc:
	.word	256 * 8 - 1
	.long	IDT
