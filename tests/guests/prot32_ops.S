/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 32-bit protected mode, flat segments, no paging: arithmetic, OUT and IN
 * of each size (the test answers IN from port 0x60), CPUID, the stack, the
 * code selector; then HLT.
 */
#include "guest.h"
	.code32
	.text
start:
	movl	$7, %eax
	movl	$6, %ecx
	imull	%ecx, %eax
	REPORT_EAX			/* 42 */
	movl	$1000, %eax
	xorl	%edx, %edx
	movl	$7, %ecx
	divl	%ecx
	REPORT_EAX			/* 142 */
	movl	%edx, %eax
	REPORT_EAX			/* 6 */
	movl	$0x80000000, %eax
	sarl	$4, %eax
	REPORT_EAX			/* 0xF8000000 */
	movl	$0xFFFFFFFF, %eax
	addl	$2, %eax
	setc	%al
	movzbl	%al, %eax
	REPORT_EAX			/* 1: carry */
	/* OUT of each size, then through DX. */
	movb	$0xA1, %al
	outb	%al, $PORT_REPORT
	movw	$0xB2C3, %ax
	outw	%ax, $PORT_REPORT
	movl	$0xD4E5F607, %eax
	outl	%eax, $PORT_REPORT
	movw	$PORT_REPORT, %dx
	movl	$0x12345678, %eax
	outl	%eax, %dx
	/* IN of each size. */
	movl	$0xFFFFFFFF, %eax
	inb	$0x60, %al
	REPORT_EAX
	movl	$0xFFFFFFFF, %eax
	inw	$0x60, %ax
	REPORT_EAX
	movw	$0x60, %dx
	inl	%dx, %eax
	REPORT_EAX
	/* CPUID: the maximum basic leaf and the vendor's first word. */
	xorl	%eax, %eax
	cpuid
	REPORT_EAX
	movl	%ebx, %eax
	REPORT_EAX
	/* The stack, and CS. */
	pushl	$0xCAFE
	popl	%eax
	REPORT_EAX
	xorl	%eax, %eax
	movw	%cs, %ax
	REPORT_EAX			/* 0x08 */
	hlt
