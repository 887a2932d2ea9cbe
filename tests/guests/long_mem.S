/* SPDX-License-Identifier: BSD-2-Clause */
/* Long mode: RAM shared with the host, and MMIO through MEMORY exits. */
#include "guest.h"
	.code64
	.text
start:
	/* Something for the host to find. */
	movq	$0x1122334455667788, %rax
	movq	%rax, DATA_BASE
	/* Something the host put there before the run. */
	movl	DATA_BASE + 0x100, %eax
	REPORT_EAX
	/* MMIO: a read the test answers, then a write it records. */
	movl	MMIO_BASE, %eax
	REPORT_EAX
	movl	$0xCAFEF00D, MMIO_BASE + 8
	REPORT	0xD0E
	hlt
