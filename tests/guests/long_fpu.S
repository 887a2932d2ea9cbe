/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: XMM registers set by the host reach the guest, and back. */
#include "guest.h"
	.code64
	.text
start:
	movdqu	%xmm0, DATA_BASE
	movdqu	%xmm15, DATA_BASE + 16
	movdqu	DATA_BASE + 0x100, %xmm1
	movdqu	DATA_BASE + 0x110, %xmm14
	hlt
