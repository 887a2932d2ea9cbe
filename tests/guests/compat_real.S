/* SPDX-License-Identifier: BSD-2-Clause */
/* Real mode, state set by the test from zero (tests/emu/compat.c). */
#include "guest.h"
	.code16
	.text
start:
	movl	$0xC0DE0016, %eax
	outl	%eax, $PORT_REPORT
	/* A far data access through DS, then the value read back. */
	movw	$0x2000, %ax
	movw	%ax, %ds
	movl	$0x600DF00D, 0x10
	movl	0x10, %eax
	outl	%eax, $PORT_REPORT
	hlt
