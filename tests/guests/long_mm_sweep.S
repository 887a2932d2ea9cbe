/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: sweep the pages from RSI up to RDI (set by the test): report
 * the first word of each (what the host put there); if R8 is non-zero,
 * also write R8 + the page's index to its second word, read it back and
 * report that. Then HLT; run again, it sweeps again (the test may change
 * R8 in between). No stack, no other memory.
 */
#include "guest.h"
	.code64
	.text
start:
	movq	%rsi, %rbx
	xorl	%edx, %edx
1:	cmpq	%rdi, %rbx
	jae	3f
	movl	(%rbx), %eax
	outl	%eax, $PORT_REPORT
	testl	%r8d, %r8d
	jz	2f
	leal	(%r8, %rdx), %eax
	movl	%eax, 4(%rbx)
	movl	4(%rbx), %eax
	outl	%eax, $PORT_REPORT
2:	addq	$4096, %rbx
	incl	%edx
	jmp	1b
3:	hlt
	jmp	start
