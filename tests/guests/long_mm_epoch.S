/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode, no exits while it runs: read the epoch word at R12, then the
 * probe word at RBX; whenever either changed, append the pair (epoch,
 * probe) to the ring at RDI (R13 entries of 8 bytes; the count goes to the
 * word at R15). When the stop word at R14 becomes non-zero: report the
 * count, HLT. The host bumps the epoch after each change of the probe's
 * mapping has returned: a pair with that epoch must show the new page.
 */
#include "guest.h"
	.code64
	.text
start:
	movl	$-1, %r8d
	movl	$-1, %r9d
	xorl	%esi, %esi
1:	movl	(%r14), %eax
	testl	%eax, %eax
	jnz	3f
	movl	(%r12), %eax
	movl	(%rbx), %ecx
	cmpl	%eax, %r8d
	jne	2f
	cmpl	%ecx, %r9d
	je	1b
2:	movl	%eax, %r8d
	movl	%ecx, %r9d
	cmpl	%r13d, %esi
	jae	1b
	movl	%eax, (%rdi,%rsi,8)
	movl	%ecx, 4(%rdi,%rsi,8)
	incl	%esi
	movl	%esi, (%r15)
	jmp	1b
3:	movl	%esi, %eax
	outl	%eax, $PORT_REPORT
	hlt
