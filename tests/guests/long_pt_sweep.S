/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: a read of one byte every 2 MiB, RCX times from RBX (set by
 * the test), each in a part of guest-physical space no table covers yet;
 * then a report of 0x5EE9 and HLT.
 */
#include "guest.h"

	.code64
	.text
start:
	movb	(%rbx), %al
	addq	$0x200000, %rbx
	loop	start
	REPORT	0x5EE9
	hlt
