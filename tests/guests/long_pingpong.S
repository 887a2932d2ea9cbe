/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode, one program for two VCPUs: they take turns incrementing the
 * counter at DATA_BASE up to R13, VCPU RBX (0 or 1) on the values of its
 * parity; a VCPU waits for its turn spinning on PAUSE, as a lock waiter
 * does. Reports how many PAUSEs it ran, then HLT.
 */
#include "guest.h"
	.code64
	.text
start:
	xorl	%esi, %esi
1:	movl	DATA_BASE, %eax
	cmpl	%r13d, %eax
	jae	3f
	movl	%eax, %edx
	andl	$1, %edx
	cmpl	%ebx, %edx
	jne	2f
	incl	%eax
	movl	%eax, DATA_BASE
	jmp	1b
2:	pause
	incl	%esi
	jmp	1b
3:	movl	%esi, %eax
	REPORT_EAX
	hlt
