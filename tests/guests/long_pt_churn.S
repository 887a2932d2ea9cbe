/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: a write through the linear address in RBX, whose page-table
 * entry the test points at a new guest-physical page before each round,
 * then an OUT. CR3 is reloaded first, so the guest TLB forgets the old
 * translation. The value written counts the rounds (ECX + 1).
 */
#include "guest.h"

	.code64
	.text
start:
	movq	%cr3, %rax
	movq	%rax, %cr3
	incl	%ecx
	movl	%ecx, (%rbx)
	outb	%al, $PORT_CHAR
	jmp	start
