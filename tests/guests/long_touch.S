/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: a table at DATA_BASE of { u64 gpa; u32 value; u32 pad }, ended
 * by gpa 0 (the test builds page tables mapping the gpas). For each: report
 * the word at gpa (what the host put there), write value at gpa + 4, read it
 * back and report it. Then HLT.
 */
#include "guest.h"
	.code64
	.text
start:
	movq	$DATA_BASE, %rsi
1:	movq	(%rsi), %rdi
	testq	%rdi, %rdi
	jz	2f
	movl	(%rdi), %eax
	outl	%eax, $PORT_REPORT
	movl	8(%rsi), %eax
	movl	%eax, 4(%rdi)
	movl	4(%rdi), %eax
	outl	%eax, $PORT_REPORT
	addq	$16, %rsi
	jmp	1b
2:	hlt
