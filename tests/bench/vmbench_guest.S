/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The benchmark's guest: 64-bit code, copied to guest-physical VMB_CODE and
 * run with identity page tables, the same bytes under both hypervisors.
 * Position independent (relative jumps only). On entry:
 *   RDI  the item (VMB_ITEM_*), RSI  the count, RDX  an address (touch)
 * Every item ends with one OUT of a check value to VMB_PORT_DONE, then HLT.
 */
#include "vmbench_defs.h"

	.section .rodata.vmb_guest, "a"
	.globl	vmb_guest_start, vmb_guest_end
	.code64
vmb_guest_start:
	cmpl	$VMB_ITEM_IO, %edi
	je	io
	cmpl	$VMB_ITEM_CPUID, %edi
	je	cpuid
	cmpl	$VMB_ITEM_TOUCH, %edi
	je	touch
	cmpl	$VMB_ITEM_SETUP, %edi
	je	setup
	movl	$VMB_DONE_BAD, %eax
	jmp	done

	/* Nothing: the first exit is the report. */
setup:	movl	$VMB_SETUP_DONE, %eax
	jmp	done

	/* RSI OUTs of 1, 2, 3, ... to VMB_PORT_IO; reports the last value. */
io:	xorl	%eax, %eax
1:	incl	%eax
	outl	%eax, $VMB_PORT_IO
	decq	%rsi
	jnz	1b
	jmp	done

	/* RSI CPUIDs of leaf R9 (RCX 0); reports the last EBX. */
cpuid:	movq	%rsi, %r8
2:	movl	%r9d, %eax
	xorl	%ecx, %ecx
	cpuid
	decq	%r8
	jnz	2b
	movl	%ebx, %eax
	jmp	done

	/* One byte written in each of RSI pages from RDX; reports RSI. */
touch:	movq	%rsi, %r8
	movq	%rdx, %rbx
3:	movb	$1, (%rbx)
	addq	$0x1000, %rbx
	decq	%r8
	jnz	3b
	movl	%esi, %eax

done:	outl	%eax, $VMB_PORT_DONE
	hlt
	jmp	done
vmb_guest_end:

	.section .note.GNU-stack, "", @progbits
