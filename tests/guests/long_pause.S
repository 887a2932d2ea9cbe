/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: R13 PAUSEs in a tight loop, as a delay loop runs them; then
 * reports R13 and halts.
 */
#include "guest.h"
	.code64
	.text
start:
	movl	%r13d, %ecx
1:	pause
	decl	%ecx
	jnz	1b
	movl	%r13d, %eax
	REPORT_EAX
	hlt
