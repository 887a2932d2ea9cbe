/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: MSRs the kernel owns, and unknown ones that exit. */
#include "guest.h"
	.code64
	.text
start:
	movl	$0xC0000080, %ecx	/* EFER: in the kernel */
	rdmsr
	REPORT_EAX
	movl	$0x277, %ecx		/* PAT: in the kernel */
	movl	$0x00070406, %eax
	movl	$0x00070106, %edx
	wrmsr
	rdmsr
	movl	%edx, %eax
	REPORT_EAX
	movl	$0x10, %ecx		/* TSC: in the kernel, moves forward */
	rdmsr
	movl	%eax, %esi
	rdmsr
	subl	%esi, %eax
	REPORT_EAX
	movl	$0x4B564D00, %ecx	/* unknown: WRMSR exit */
	movl	$0x89ABCDEF, %eax
	movl	$0x01234567, %edx
	wrmsr
	movl	$0x4B564D01, %ecx	/* unknown: RDMSR exit, test answers */
	rdmsr
	REPORT_EAX
	movl	%edx, %eax
	REPORT_EAX
	movl	$0xFFFFFFFF, %ecx	/* as NetBSD's tests end */
	rdmsr
	hlt
