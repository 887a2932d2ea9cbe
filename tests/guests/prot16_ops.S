/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 16-bit protected mode (a code segment with D=0): the default operand
 * size is 16 bits, 32-bit operations need the 0x66 prefix. Arithmetic,
 * OUT and IN of each size, CPUID; then HLT.
 */
#include "guest.h"
	.code16
	.text
start:
	movw	$0xFFFF, %ax
	incw	%ax			/* wraps at 16 bits */
	movzwl	%ax, %eax
	outl	%eax, $PORT_REPORT	/* 0 */
	movl	$0x12345678, %eax	/* needs 0x66 here */
	outl	%eax, $PORT_REPORT
	movw	$300, %ax
	movb	$7, %cl
	divb	%cl			/* AL = 42, AH = 6 */
	movzwl	%ax, %eax
	outl	%eax, $PORT_REPORT	/* 0x062A */
	movb	$0x5C, %al
	outb	%al, $PORT_REPORT
	movw	$0x6D7E, %ax
	outw	%ax, $PORT_REPORT
	movl	$0xFFFFFFFF, %eax
	inb	$0x60, %al
	outl	%eax, $PORT_REPORT
	movl	$0xFFFFFFFF, %eax
	inw	$0x60, %ax
	outl	%eax, $PORT_REPORT
	inl	$0x60, %eax
	outl	%eax, $PORT_REPORT
	xorl	%eax, %eax
	cpuid
	movl	%ebx, %eax
	outl	%eax, $PORT_REPORT
	call	1f
	hlt
1:	movl	$0x16, %eax
	outl	%eax, $PORT_REPORT
	ret
