/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: read the probe word at RBX and report it, over and over, until
 * the command word at R12 is non-zero; then write the command to the probe
 * and HLT. Run again after the HLT, it starts over (the test clears the
 * command first). No stack, no other memory: the test owns the probe page.
 */
#include "guest.h"
	.code64
	.text
start:
	movl	(%rbx), %eax
	outl	%eax, $PORT_REPORT
	movl	(%r12), %ecx
	testl	%ecx, %ecx
	jz	start
	movl	%ecx, (%rbx)
	hlt
	jmp	start
