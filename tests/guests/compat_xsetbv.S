/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode, CR4.OSXSAVE set by the test: XSETBV to RBX (XCR0), then
 * report CPUID(0xD, 0).EBX (the XSAVE size for XCR0 now), XGETBV, and
 * CPUID(0xD, 1).EAX and EBX (XSAVEC offered; its compacted size).
 */
#include "guest.h"
	.code64
	.text
start:
	xorl	%ecx, %ecx
	movl	%ebx, %eax
	xorl	%edx, %edx
	xsetbv
	movl	$0xD, %eax
	xorl	%ecx, %ecx
	cpuid
	movl	%ebx, %eax
	REPORT_EAX
	xorl	%ecx, %ecx
	xgetbv
	REPORT_EAX
	movl	$0xD, %eax
	movl	$1, %ecx
	cpuid
	REPORT_EAX
	movl	%ebx, %eax
	REPORT_EAX
	hlt
