/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: an exception with no IDT: a triple fault, SHUTDOWN. */
#include "guest.h"
	.code64
	.text
start:
	lidt	idt_desc
	int3
	hlt
idt_desc:
	.word	0
	.quad	0
