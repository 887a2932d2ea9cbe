/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: CPUID for each (leaf, subleaf) pair of 32-bit words at
 * DATA_BASE, R14 pairs; report EAX, EBX, ECX, EDX of each; HLT.
 */
#include "guest.h"
	.code64
	.text
start:
	movq	$DATA_BASE, %rsi
1:	testl	%r14d, %r14d
	jz	2f
	movl	(%rsi), %eax
	movl	4(%rsi), %ecx
	cpuid
	REPORT_EAX
	movl	%ebx, %eax
	REPORT_EAX
	movl	%ecx, %eax
	REPORT_EAX
	movl	%edx, %eax
	REPORT_EAX
	addq	$8, %rsi
	decl	%r14d
	jmp	1b
2:	hlt
