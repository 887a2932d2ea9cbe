/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Long mode left by the guest itself: to the 32-bit code segment of the
 * test's GDT, then CR0.PG off (EFER.LMA clears; with unrestricted guests
 * no VM exit on VMX). Reports 0x64, then 0x32 in protected mode, halts.
 */
#include "guest.h"

	.code64
	.text
start:
	REPORT	0x64
	pushq	$0x08
	pushq	$prot32
	lretq

	.code32
prot32:
	movl	%cr0, %eax
	andl	$0x7FFFFFFF, %eax
	movl	%eax, %cr0
	REPORT	0x32
	hlt
