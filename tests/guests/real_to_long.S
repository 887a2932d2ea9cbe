/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * From real mode to protected mode to long mode with 4-level paging, as a
 * boot loader does it: GDT, CR0.PE, page tables, CR4.PAE, EFER.LME (WRMSR,
 * handled by the kernel), CR0.PG. Reports at each step.
 */
#include "guest.h"
#define PT	0x10000		/* PML4, PDPT, PD built here */

	.code16
	.text
start:
	cli
	REPORT	0x16
	lgdtl	gdt_desc
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $prot32

	.code32
prot32:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	$0xFF0, %esp
	REPORT	0x32
	/* Identity map 0-2 MiB with one 2 MiB page. */
	movl	$PT, %edi
	xorl	%eax, %eax
	movl	$(3 * 4096 / 4), %ecx
	rep stosl
	movl	$(PT + 0x1000 + 3), PT
	movl	$(PT + 0x2000 + 3), PT + 0x1000
	movl	$0x83, PT + 0x2000
	movl	$PT, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	$0xC0000080, %ecx	/* EFER */
	rdmsr
	orl	$0x100, %eax		/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000000, %eax	/* PG */
	movl	%eax, %cr0
	ljmpl	$0x18, $long64

	.code64
long64:
	REPORT	0x64
	/* EFER as the guest reads it: LME and LMA, no SVME. */
	movl	$0xC0000080, %ecx
	rdmsr
	REPORT_EAX
	movq	$0x123456789, %rax
	shrq	$4, %rax
	REPORT_EAX
	hlt

	.balign	8
gdt:
	.quad	0
	.quad	0x00CF9A000000FFFF	/* 0x08: code32 */
	.quad	0x00CF92000000FFFF	/* 0x10: data */
	.quad	0x00AF9A000000FFFF	/* 0x18: code64 */
gdt_desc:
	.word	gdt_desc - gdt - 1
	.long	gdt
