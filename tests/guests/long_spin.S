/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: count in RAM forever; only the host can end this. With
 * RBX != 0 (set by the test), also write a character to PORT_CHAR each time
 * the count has no bit of RBX set: an exit now and then, for CPUs that stop
 * a guest for nothing else (Bochs' SVM).
 */
#include "guest.h"
	.code64
	.text
start:
	incq	DATA_BASE
	testq	%rbx, %rbx
	jz	start
	testq	%rbx, DATA_BASE
	jnz	start
	movb	$'.', %al
	outb	%al, $PORT_CHAR
	jmp	start
