/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode: XSETBV, XCR0 and AVX state. Handlers for #UD and #GP report
 * 0xE06 / 0xE13 (with the error code) and resume after the 3-byte XSETBV.
 * The test fills DATA_BASE + 0x0 .. 0x1FF with a pattern for YMM0-15; the
 * guest stores them at DATA_BASE + 0x400, 0x600 and 0x800 after each of
 * the exits 0xA1, 0xA2, 0xA3.
 * With R14 = 0 the XSETBV checks are left out and the test sets XCR0
 * (for CPUs without the XSETBV intercept, as QEMU before 8.2).
 */
#include "guest.h"

.macro CPUID_ECX leaf, sub
	movl	$\leaf, %eax
	movl	$\sub, %ecx
	cpuid
	movl	%ecx, %eax
	REPORT_EAX
.endm
.macro XSETBV_TRY idx, lo, hi
	movl	$\idx, %ecx
	movl	$\lo, %eax
	movl	$\hi, %edx
	xsetbv
.endm

	.code64
	.text
start:
	leaq	ud_handler(%rip), %rax
	movl	$6, %ecx
	call	set_gate
	leaq	gp_handler(%rip), %rax
	movl	$13, %ecx
	call	set_gate
	lidt	idt_desc

	CPUID_ECX 1, 0			/* r0: OSXSAVE clear */
	XSETBV_TRY 0, 7, 0		/* r1, r2: #UD (CR4.OSXSAVE clear) */
	/*
	 * 32 times: an exit with CR4.OSXSAVE clear (report 0xC0), then set
	 * it and read XCR0 at once, with no exit in between; the values go
	 * to DATA_BASE + 0xC00. The test leaves CR4.OSXSAVE set after.
	 */
	movl	$32, %r15d
	movq	$(DATA_BASE + 0xC00), %rdi
2:	movq	%cr4, %rax
	andq	$~0x40000, %rax
	movq	%rax, %cr4
	REPORT	0xC0
	movq	%cr4, %rax
	orq	$0x40000, %rax
	movq	%rax, %cr4
	xorl	%ecx, %ecx
	xgetbv
	movl	%eax, (%rdi)
	movl	%edx, 4(%rdi)
	addq	$8, %rdi
	decl	%r15d
	jnz	2b
	CPUID_ECX 1, 0			/* r3: OSXSAVE set */
	xorl	%ecx, %ecx
	xgetbv
	REPORT_EAX			/* r4: XCR0 (x87) */
	movl	$0xD, %eax
	xorl	%ecx, %ecx
	cpuid
	REPORT_EAX			/* r5: supported XCR0, low */
	movl	%ebx, %eax
	REPORT_EAX			/* r6: size for XCR0 */
	movl	%ecx, %eax
	REPORT_EAX			/* r7: size for all */
	movl	%edx, %eax
	REPORT_EAX			/* r8: supported XCR0, high */
	/* R14 = 0: the test sets XCR0 itself (no XSETBV intercept). */
	testl	%r14d, %r14d
	jz	1f
	/* Refused: #GP(0) each, 3 reports each (r9..r23). */
	XSETBV_TRY 0, 5, 0		/* AVX without SSE */
	XSETBV_TRY 0, 0, 0		/* no x87 */
	XSETBV_TRY 0, 0x203, 0		/* PKRU: not for guests */
	XSETBV_TRY 0, 7, 1		/* bit 32 */
	XSETBV_TRY 1, 7, 0		/* XCR1: no such register */
	xorl	%ecx, %ecx
	xgetbv
	REPORT_EAX			/* r24: still x87 */
	XSETBV_TRY 0, 7, 0		/* x87 | SSE | AVX */
1:	REPORT	0xB0			/* s0 */
	xorl	%ecx, %ecx
	xgetbv
	REPORT_EAX			/* s1: 7 */
	movl	$0xD, %eax
	xorl	%ecx, %ecx
	cpuid
	movl	%ebx, %eax
	REPORT_EAX			/* s2: size for x87|SSE|AVX */
	movl	$0xD, %eax
	movl	$2, %ecx
	cpuid
	REPORT_EAX			/* s3: AVX size */
	movl	%ebx, %eax
	REPORT_EAX			/* s4: AVX offset */

	movq	$DATA_BASE, %rsi
	vmovdqu	0x000(%rsi), %ymm0
	vmovdqu	0x020(%rsi), %ymm1
	vmovdqu	0x040(%rsi), %ymm2
	vmovdqu	0x060(%rsi), %ymm3
	vmovdqu	0x080(%rsi), %ymm4
	vmovdqu	0x0A0(%rsi), %ymm5
	vmovdqu	0x0C0(%rsi), %ymm6
	vmovdqu	0x0E0(%rsi), %ymm7
	vmovdqu	0x100(%rsi), %ymm8
	vmovdqu	0x120(%rsi), %ymm9
	vmovdqu	0x140(%rsi), %ymm10
	vmovdqu	0x160(%rsi), %ymm11
	vmovdqu	0x180(%rsi), %ymm12
	vmovdqu	0x1A0(%rsi), %ymm13
	vmovdqu	0x1C0(%rsi), %ymm14
	vmovdqu	0x1E0(%rsi), %ymm15
	REPORT	0xA1			/* to userland and back, nothing done */
	vmovdqu	%ymm0, 0x400(%rsi)
	vmovdqu	%ymm1, 0x420(%rsi)
	vmovdqu	%ymm2, 0x440(%rsi)
	vmovdqu	%ymm3, 0x460(%rsi)
	vmovdqu	%ymm4, 0x480(%rsi)
	vmovdqu	%ymm5, 0x4A0(%rsi)
	vmovdqu	%ymm6, 0x4C0(%rsi)
	vmovdqu	%ymm7, 0x4E0(%rsi)
	vmovdqu	%ymm8, 0x500(%rsi)
	vmovdqu	%ymm9, 0x520(%rsi)
	vmovdqu	%ymm10, 0x540(%rsi)
	vmovdqu	%ymm11, 0x560(%rsi)
	vmovdqu	%ymm12, 0x580(%rsi)
	vmovdqu	%ymm13, 0x5A0(%rsi)
	vmovdqu	%ymm14, 0x5C0(%rsi)
	vmovdqu	%ymm15, 0x5E0(%rsi)
	REPORT	0xA2			/* the host used AVX meanwhile */
	vmovdqu	%ymm0, 0x600(%rsi)
	vmovdqu	%ymm1, 0x620(%rsi)
	vmovdqu	%ymm2, 0x640(%rsi)
	vmovdqu	%ymm3, 0x660(%rsi)
	vmovdqu	%ymm4, 0x680(%rsi)
	vmovdqu	%ymm5, 0x6A0(%rsi)
	vmovdqu	%ymm6, 0x6C0(%rsi)
	vmovdqu	%ymm7, 0x6E0(%rsi)
	vmovdqu	%ymm8, 0x700(%rsi)
	vmovdqu	%ymm9, 0x720(%rsi)
	vmovdqu	%ymm10, 0x740(%rsi)
	vmovdqu	%ymm11, 0x760(%rsi)
	vmovdqu	%ymm12, 0x780(%rsi)
	vmovdqu	%ymm13, 0x7A0(%rsi)
	vmovdqu	%ymm14, 0x7C0(%rsi)
	vmovdqu	%ymm15, 0x7E0(%rsi)
	REPORT	0xA3			/* getstate and setstate of everything */
	vmovdqu	%ymm0, 0x800(%rsi)
	vmovdqu	%ymm1, 0x820(%rsi)
	vmovdqu	%ymm2, 0x840(%rsi)
	vmovdqu	%ymm3, 0x860(%rsi)
	vmovdqu	%ymm4, 0x880(%rsi)
	vmovdqu	%ymm5, 0x8A0(%rsi)
	vmovdqu	%ymm6, 0x8C0(%rsi)
	vmovdqu	%ymm7, 0x8E0(%rsi)
	vmovdqu	%ymm8, 0x900(%rsi)
	vmovdqu	%ymm9, 0x920(%rsi)
	vmovdqu	%ymm10, 0x940(%rsi)
	vmovdqu	%ymm11, 0x960(%rsi)
	vmovdqu	%ymm12, 0x980(%rsi)
	vmovdqu	%ymm13, 0x9A0(%rsi)
	vmovdqu	%ymm14, 0x9C0(%rsi)
	vmovdqu	%ymm15, 0x9E0(%rsi)
	REPORT	0xA4
	/* CR4.OSXSAVE off: CPUID follows. */
	movq	%cr4, %rax
	andq	$~0x40000, %rax
	movq	%rax, %cr4
	CPUID_ECX 1, 0			/* OSXSAVE clear */
	hlt

LONG_IDT_HELPERS

ud_handler:
	pushq	%rax
	REPORT	0xE06
	movl	8(%rsp), %eax
	REPORT_EAX
	addq	$3, 8(%rsp)
	popq	%rax
	iretq
gp_handler:
	pushq	%rax
	REPORT	0xE13
	movl	16(%rsp), %eax
	REPORT_EAX
	movl	8(%rsp), %eax
	REPORT_EAX
	addq	$3, 16(%rsp)
	popq	%rax
	addq	$8, %rsp
	iretq
