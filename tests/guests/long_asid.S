/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: the word at virtual 0x40000000 (each VCPU's own page tables
 * map it to its own page): report it, write RBX there, read it back and
 * report it; HLT.
 */
#include "guest.h"
#define VA	0x40000000
	.code64
	.text
start:
	movl	VA, %eax
	REPORT_EAX
	movl	%ebx, VA
	movl	VA, %eax
	REPORT_EAX
	hlt
