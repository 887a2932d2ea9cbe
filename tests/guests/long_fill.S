/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: write each page's address into its first word, from RSI up to
 * RDI (set by the test), report the end address, HLT.
 */
#include "guest.h"
	.code64
	.text
start:
1:	cmpq	%rdi, %rsi
	jae	2f
	movl	%esi, (%rsi)
	addq	$4096, %rsi
	jmp	1b
2:	movl	%esi, %eax
	outl	%eax, $PORT_REPORT
	hlt
