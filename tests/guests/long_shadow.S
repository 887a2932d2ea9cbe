/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: interrupt shadows. An OUT right after STI (with IF clear
 * before) and right after MOV SS exits inside the shadow; one after a NOP
 * outside it. Then HLT. At "nops" (offset 0x40): four NOPs and HLT, for
 * the test to start at with a shadow of its own.
 */
#include "guest.h"
	.code64
	.text
start:
	cli
	movl	$1, %eax
	sti
	outl	%eax, $PORT_REPORT	/* in the STI shadow */
	cli
	movl	$2, %eax
	movw	%ss, %cx
	movw	%cx, %ss
	outl	%eax, $PORT_REPORT	/* in the MOV SS shadow */
	movl	$3, %eax
	nop
	nop
	outl	%eax, $PORT_REPORT	/* no shadow */
	hlt
	.org	0x40
nops:
	nop
	nop
	nop
	nop
	hlt
	.org	0x60
sti_nops:
	sti
	nop
	nop
	nop
	hlt
