/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that does one wrong thing, for nvmm-run's error paths under
 * --kernel: a PVH ELF (like a vmlinux), entered in 32-bit protected mode
 * without paging, EBX = the PVH start info. The first byte of its command
 * line (--append) says what it does:
 *   t  an exception with an empty IDT: a triple fault (SHUTDOWN)
 *   m  a read of guest-physical 0xC0000000: no RAM and no device there
 *   r  IMUL with its operand in the local APIC's MMIO page: an instruction
 *      nvmm_assist_mem does not emulate
 * Anything else: it writes 'k' to COM1 and powers off through ACPI's
 * sleep register (nvmm-run's S5), which shows that it ran at all.
 */
#define PVH_CMDLINE	24	/* struct hvm_start_info: cmdline_paddr */

	.code32
	.text
	.globl	pvh_start
pvh_start:
	movl	PVH_CMDLINE(%ebx), %esi
	movzbl	(%esi), %eax
	cmpb	$'t', %al
	je	triple
	cmpb	$'m', %al
	je	nowhere
	cmpb	$'r', %al
	je	refused
	movw	$0x3F8, %dx
	movb	$'k', %al
	outb	%al, %dx
	movw	$0x600, %dx		/* nvmm-run's ACPI sleep control */
	movb	$(0x20 | (5 << 2)), %al	/* SLP_EN, SLP_TYP 5 */
	outb	%al, %dx
	hlt

triple:
	lidt	idt_desc
	ud2

nowhere:
	movl	0xC0000000, %eax
	hlt

refused:
	imull	0xFEE00030, %eax	/* the APIC's version register */
	hlt

	.p2align 3
idt_desc:
	.word	0
	.long	0

	/* The PVH entry point, as Linux's vmlinux gives it. */
	.pushsection .note.Xen, "a", @note
	.p2align 2
	.long	4			/* name size: "Xen\0" */
	.long	4			/* descriptor size */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	pvh_start
	.popsection
