/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: the TSC. RBX times: RDTSC, report EDX then EAX. Then RDMSR
 * of IA32_TSC (reported the same way), WRMSR of R13 to it, RDTSC again;
 * HLT.
 */
#include "guest.h"
	.code64
	.text
start:
1:	rdtsc
	movl	%eax, %esi
	movl	%edx, %eax
	REPORT_EAX
	movl	%esi, %eax
	REPORT_EAX
	decl	%ebx
	jnz	1b
	movl	$0x10, %ecx
	rdmsr
	movl	%eax, %esi
	movl	%edx, %eax
	REPORT_EAX
	movl	%esi, %eax
	REPORT_EAX
	movl	$0x10, %ecx
	movl	%r13d, %eax
	movq	%r13, %rdx
	shrq	$32, %rdx
	wrmsr
	rdtsc
	movl	%eax, %esi
	movl	%edx, %eax
	REPORT_EAX
	movl	%esi, %eax
	REPORT_EAX
	hlt
