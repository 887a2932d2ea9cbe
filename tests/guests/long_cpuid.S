/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: CPUID leaves answered by the kernel, and one that exits. */
#include "guest.h"
	.code64
	.text
.macro CPUID_REPORT leaf
	movl	$\leaf, %eax
	xorl	%ecx, %ecx
	cpuid
	outl	%eax, $PORT_REPORT
	movl	%ebx, %eax
	outl	%eax, $PORT_REPORT
	movl	%ecx, %eax
	outl	%eax, $PORT_REPORT
	movl	%edx, %eax
	outl	%eax, $PORT_REPORT
.endm
start:
	CPUID_REPORT 0x0
	CPUID_REPORT 0x1
	CPUID_REPORT 0x40000000
	CPUID_REPORT 0x80000001
	/* The test configures this leaf to exit to userland. */
	CPUID_REPORT 0x4000FFFF
	hlt
