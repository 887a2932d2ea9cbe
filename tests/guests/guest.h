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

/* Long mode with an IDT: where it is. */
#define IDT		(DATA_BASE + 0x1000)

/*
 * The IDT helpers of the long-mode programs that take events:
 *   set_gate   IDT[ecx] = interrupt gate to rax, in the current code
 *              segment, DPL 0 (clobbers rax, rcx, rdx)
 *   idt_desc   the operand of LIDT for the 256 gates at IDT
 */
.macro LONG_IDT_HELPERS
set_gate:
	shll	$4, %ecx
	addq	$IDT, %rcx
	movw	%ax, (%rcx)
	movw	%cs, %dx
	movw	%dx, 2(%rcx)
	movw	$0x8E00, 4(%rcx)
	shrq	$16, %rax
	movw	%ax, 6(%rcx)
	shrq	$16, %rax
	movl	%eax, 8(%rcx)
	movl	$0, 12(%rcx)
	ret
idt_desc:
	.word	256 * 16 - 1
	.quad	IDT
.endm
