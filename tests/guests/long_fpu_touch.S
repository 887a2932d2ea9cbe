/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: load XMM0-15 from DATA_BASE (256 bytes the test wrote), touch
 * RCX pages from RDI on (the nested page faults are resolved in the host
 * kernel, which may sleep meanwhile), store XMM0-15 at DATA_BASE + 0x400,
 * report 0xF5, HLT.
 */
#include "guest.h"

.macro XMM_LOAD n
	movdqu	(\n * 16)(%rsi), %xmm\n
.endm
.macro XMM_STORE n
	movdqu	%xmm\n, (0x400 + \n * 16)(%rsi)
.endm

	.code64
	.text
start:
	movq	$DATA_BASE, %rsi
	XMM_LOAD 0
	XMM_LOAD 1
	XMM_LOAD 2
	XMM_LOAD 3
	XMM_LOAD 4
	XMM_LOAD 5
	XMM_LOAD 6
	XMM_LOAD 7
	XMM_LOAD 8
	XMM_LOAD 9
	XMM_LOAD 10
	XMM_LOAD 11
	XMM_LOAD 12
	XMM_LOAD 13
	XMM_LOAD 14
	XMM_LOAD 15
1:	movl	%edi, (%rdi)
	addq	$4096, %rdi
	decq	%rcx
	jnz	1b
	XMM_STORE 0
	XMM_STORE 1
	XMM_STORE 2
	XMM_STORE 3
	XMM_STORE 4
	XMM_STORE 5
	XMM_STORE 6
	XMM_STORE 7
	XMM_STORE 8
	XMM_STORE 9
	XMM_STORE 10
	XMM_STORE 11
	XMM_STORE 12
	XMM_STORE 13
	XMM_STORE 14
	XMM_STORE 15
	REPORT	0xF5
	hlt
