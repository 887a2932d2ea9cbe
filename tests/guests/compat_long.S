/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode, state set by the test as a NetBSD program sets it (tests/emu/
 * compat.c): reports a marker, the result of an SSE addition (1.0 + 1.0)
 * and, when RBX is 1 (CR4.OSXSAVE set), XCR0 as the guest reads it.
 */
#include "guest.h"
	.code64
	.text
start:
	REPORT	0xC0DE0064
	movl	$0x3F800000, %eax
	movd	%eax, %xmm0
	addss	%xmm0, %xmm0
	movd	%xmm0, %eax
	REPORT_EAX
	cmpq	$1, %rbx
	jne	1f
	xorl	%ecx, %ecx
	xgetbv
	REPORT_EAX
1:	hlt
