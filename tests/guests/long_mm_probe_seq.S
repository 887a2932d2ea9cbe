/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: as long_mm_probe.S, the probe word at RBX reported over and
 * over, with the loop's iteration count in the top 12 bits of each report
 * (probe values must fit 20 bits): a report that repeats or skips an
 * iteration shows an OUT executed twice or a report lost. No HLT.
 */
#include "guest.h"
	.code64
	.text
start:
	xorl	%edx, %edx
1:	movl	(%rbx), %eax
	andl	$0xFFFFF, %eax
	movl	%edx, %ecx
	shll	$20, %ecx
	orl	%ecx, %eax
	outl	%eax, $PORT_REPORT
	incl	%edx
	jmp	1b
