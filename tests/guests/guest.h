/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * For guest programs (GNU as, flat binaries loaded at 0x1000).
 * The protocol with the test (tests/emu/vm.h): OUT of a 32-bit value to
 * PORT_REPORT, characters to PORT_CHAR, HLT at the end.
 */
#define PORT_REPORT	0xF0
#define PORT_CHAR	0xE9

/* Where the test maps things the programs use. */
#define CODE_BASE	0x1000
#define DATA_BASE	0x20000		/* scratch RAM for the programs */
#define MMIO_BASE	0x40000000	/* beyond RAM: MEMORY exits */

.macro REPORT val
	movl	$\val, %eax
	outl	%eax, $PORT_REPORT
.endm

.macro REPORT_EAX
	outl	%eax, $PORT_REPORT
.endm
