/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The demo guest's entry, in 64-bit long mode (nvmm-run's boot protocol:
 * RDI VCPU id, RSI VCPUs, RDX command line, RCX end of free RAM). Each VCPU
 * takes its own stack, runs kmain(), then halts for good.
 */
#define MAX_CPUS	64
#define STACK_SIZE	16384

	.section .text.start, "ax"
	.globl	_start
	.code64
_start:
	cli
	cmpq	$MAX_CPUS, %rdi
	jae	halt
	leaq	1(%rdi), %rax
	imulq	$STACK_SIZE, %rax
	leaq	stacks(%rip), %rsp
	addq	%rax, %rsp
	xorl	%ebp, %ebp
	call	kmain
halt:
	cli
	hlt
	jmp	halt

	.section .bss
	.balign	4096
	.globl	stacks
stacks:
	.skip	MAX_CPUS * STACK_SIZE

	.section .note.GNU-stack, "", @progbits
