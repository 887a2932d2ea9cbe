/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: report 1..RBX (RBX set by the test), then HLT. */
#include "guest.h"
	.code64
	.text
start:
	xorl	%eax, %eax
1:	incl	%eax
	outl	%eax, $PORT_REPORT
	cmpl	%ebx, %eax
	jne	1b
	hlt
