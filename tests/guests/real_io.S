/* SPDX-License-Identifier: BSD-2-Clause */
/* Real mode: OUT of each size, IN from a port the test answers, HLT. */
#include "guest.h"
	.code16
	.text
start:
	movb	$0x11, %al
	outb	%al, $PORT_REPORT
	movw	$0x2233, %ax
	outw	%ax, $PORT_REPORT
	movl	$0x44556677, %eax
	outl	%eax, $PORT_REPORT
	movw	$PORT_REPORT, %dx
	movl	$0x8899AABB, %eax
	outl	%eax, %dx
	/* The test answers IN from port 0x60 with 0xC3. */
	xorl	%eax, %eax
	inb	$0x60, %al
	outl	%eax, $PORT_REPORT
	hlt
