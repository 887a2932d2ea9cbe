/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: the TPR through CR8. Raises it to 5, writes 5 again, lowers
 * it to 2, reporting what CR8 reads after each change.
 */
#include "guest.h"

	.code64
	.text
start:
	movl	$5, %eax
	movq	%rax, %cr8
	movq	%cr8, %rax
	REPORT_EAX
	movl	$5, %ecx
	movq	%rcx, %cr8
	movl	$2, %edx
	movq	%rdx, %cr8
	movq	%cr8, %rbx
	movl	%ebx, %eax
	REPORT_EAX
	hlt
