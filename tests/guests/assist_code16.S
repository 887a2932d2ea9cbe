/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The assists end to end, 16-bit code (tests/emu/run_assist.c): run in
 * real mode and in 16-bit protected mode. The runner, the stubs and their
 * descriptors work as in assist_long.S. DS, ES and SS have the window's
 * base (WB in the test: the RAM below the MMIO), so addresses here are
 * offsets in the window: RAM below 0x8000, MMIO from 0x8000 to 0xF000,
 * RAM again above. FS.base = WB + 0x100, GS.base = WB - 0x200; the stack
 * is at SS:0x7800. The test gives every CASE EBX = EBP = A, ESI = 2,
 * EDI = 3, random upper halves elsewhere.
 */
#include "guest.h"
#include "assist.h"

#define CUR		0x7000
#define SAVE		0x7100
#define DUMP_DWORDS	8

#define WB		0		/* addresses are window offsets */
#define AM		(WB + 0x1000)	/* the mirror */

/* The eight ALU operations: D is RW, or R for CMP. */
#define ALU(op, D, U)							\
	CASE(D, 1, U, op##b %ch, (%bx)) ;				\
	CASE(D, 2, U, op##w %cx, -2(%bx,%si)) ;			\
	CASE(D, 4, U, op##l %ecx, -3(%bp,%di)) ;			\
	CASE(D, 2, U, op##w %dx, A) ;					\
	CASE(R, 1, U, op##b (A - 2)(%si), %dl) ;			\
	CASE(R, 2, U, op##w (A - 3)(%di), %ax) ;			\
	CASE(R, 4, U, op##l (%ebx), %ecx) ;				\
	CASE(R, 2, U, op##w -4(%ebx,%esi,2), %cx) ;			\
	CASE(D, 1, U, op##b $0xA5, (%bx)) ;				\
	CASE(D, 2, U, op##w $0x8001, -2(%bp,%si)) ;			\
	CASE(D, 4, U, op##l $0x87654321, (%bx)) ;			\
	CASE(D, 2, U, op##w $-0x80, (%bx)) ;				\
	CASE(D, 4, U, op##l $0x7F, A)

#define STRS(op, OP)							\
	STR(OP, 1, 0, op##b) ; STR(OP, 2, 0, op##w) ;			\
	STR(OP, 4, 0, op##l) ;						\
	STR(OP, 1, 1, rep op##b) ; STR(OP, 2, 1, rep op##w) ;		\
	STR(OP, 4, 1, rep op##l)
#define STRC(op, OP)							\
	STR(OP, 1, 0, op##b) ; STR(OP, 2, 0, op##w) ;			\
	STR(OP, 4, 0, op##l) ;						\
	STR(OP, 1, 1, repe op##b) ; STR(OP, 2, 1, repe op##w) ;	\
	STR(OP, 4, 1, repe op##l) ;					\
	STR(OP, 1, 2, repne op##b) ; STR(OP, 2, 2, repne op##w) ;	\
	STR(OP, 4, 2, repne op##l)
#define STRIO(op, OP)	STRS(op, OP)

	.code16
	.text
start:
	jmp	runner
	.p2align 3
header:
	.ascii	"ASST"
	.long	16				/* code size */
	.long	desc_start, desc_end
	.long	CUR, SAVE, DUMP_DWORDS, 0

runner:
	jmp	req
done:
	pushfl
	popl	SAVE + 28
	movl	%eax, SAVE + 0
	movl	%ecx, SAVE + 4
	movl	%edx, SAVE + 8
	movl	%ebx, SAVE + 12
	movl	%ebp, SAVE + 16
	movl	%esi, SAVE + 20
	movl	%edi, SAVE + 24
	cld
	movw	$SAVE, %si
	movw	$DUMP_DWORDS, %cx
	movw	$PORT_REPORT, %dx
	rep outsl
req:
	movl	$ASSIST_REQ, %eax
	outl	%eax, $PORT_REPORT
	cmpw	$0, CUR
	je	end
	pushl	CUR + 4
	popfl
	movl	CUR + 8, %eax
	movl	CUR + 12, %ecx
	movl	CUR + 16, %edx
	movl	CUR + 20, %ebx
	movl	CUR + 24, %ebp
	movl	CUR + 28, %esi
	movl	CUR + 32, %edi
	jmp	*CUR
end:
	hlt
	jmp	end

	.subsection 1
	.p2align 3
desc_start:
	.subsection 0

/* ---- MOV ---- */
	CASE(W, 1, 0, movb %cl, (%bx))
	CASE(W, 1, 0, movb %ch, (%bx))
	CASE(W, 2, 0, movw %cx, (%bp))
	CASE(W, 4, 0, movl %ecx, -2(%bx,%si))
	CASE(W, 2, 0, movw %dx, (A - 3)(%di))
	CASE(W, 4, 0, movl %edx, -12(%ebx,%edi,4))
	CASEO(9, W, 2, 0, movw %dx, 5(%ebp,%esi,2))
	CASEO(1, W, 2, 0, movw %dx, -1(%bp,%si))
	CASE(R, 1, 0, movb (%bx), %dl)
	CASE(R, 1, 0, movb (%bx), %dh)
	CASE(R, 2, 0, movw (%bx), %ax)
	CASE(R, 4, 0, movl (%bx), %ecx)
	CASE(R, 2, 0, movw A, %dx)
	CASE(R, 1, 0, movb A, %al)
	CASE(R, 2, 0, movw A, %ax)
	CASE(R, 4, 0, movl A, %eax)
	CASE(W, 1, 0, movb %al, A)
	CASE(W, 2, 0, movw %ax, A)
	CASE(R, 4, 0, addr32 movl A, %eax)
	CASE(W, 1, 0, movb $0xA5, (%bx))
	CASE(W, 2, 0, movw $0x1234, (%bx))
	CASE(W, 4, 0, movl $0x89ABCDEF, (%bx))
	CASE(W, 2, 0, movw $0x5678, A)

/* ---- MOVZX, MOVSX ---- */
	CASE(R, 1, 0, movzbl (%bx), %ecx)
	CASE(R, 1, 0, movzbw (%bx), %ax)
	CASE(R, 2, 0, movzwl (%bx), %edx)
	CASE(R, 1, 0, movsbl (%bx), %ecx)
	CASE(R, 1, 0, movsbw (%bx), %ax)
	CASE(R, 2, 0, movswl (%bx), %edx)
	CASE(R, 2, 0, movswl A, %eax)

/* ---- ALU ---- */
	ALU(add, RW, 0)
	ALU(or, RW, F_AF)
	ALU(adc, RW, 0)
	ALU(sbb, RW, 0)
	ALU(and, RW, F_AF)
	ALU(sub, RW, 0)
	ALU(xor, RW, F_AF)
	ALU(cmp, R, 0)
	CASE(RW, 1, 0, .byte 0x82, 0x07, 0x7E)		/* add $0x7E, (%bx) */

/* ---- TEST, INC, DEC, NOT, NEG ---- */
	CASE(R, 1, F_AF, testb %cl, (%bx))
	CASE(R, 4, F_AF, testl %ecx, (%bx))
	CASE(R, 2, F_AF, testw %cx, (%bx))
	CASE(R, 1, F_AF, testb $0x81, (%bx))
	CASE(R, 4, F_AF, testl $0x80000001, (%bx))
	CASE(R, 2, F_AF, testw $0x8000, A)
	CASE(RW, 1, 0, incb (%bx))
	CASE(RW, 4, 0, incl (%bx))
	CASE(RW, 2, 0, decw (%bx))
	CASE(RW, 2, 0, decw A)
	CASE(RW, 1, 0, notb (%bx))
	CASE(RW, 4, 0, notl (%bx))
	CASE(RW, 2, 0, notw (%bx))
	CASE(RW, 1, 0, negb (%bx))
	CASE(RW, 4, 0, negl (%bx))
	CASE(RW, 2, 0, negw A)

/* ---- XCHG, CMPXCHG, XADD, LOCK ---- */
	CASE(RW, 1, 0, xchgb %cl, (%bx))
	CASE(RW, 2, 0, xchgw %dx, (%bx))
	CASE(RW, 4, 0, xchgl (%bx), %ecx)
	CASE(RW, 1, F_EQ, cmpxchgb %cl, (%bx))
	CASE(RW, 1, 0, cmpxchgb %cl, (%bx))
	CASE(RW, 2, F_EQ, cmpxchgw %cx, (%bx))
	CASE(RW, 2, 0, cmpxchgw %cx, (%bx))
	CASE(RW, 4, F_EQ, lock cmpxchgl %ecx, (%bx))
	CASE(RW, 4, 0, lock cmpxchgl %ecx, (%bx))
	CASE(RW, 1, 0, xaddb %cl, (%bx))
	CASE(RW, 2, 0, xaddw %cx, (%bx))
	CASE(RW, 4, 0, lock xaddl %ecx, (%bx))
	CASE(RW, 2, 0, lock addw %cx, (%bx))
	CASE(RW, 1, F_AF, lock orb $0x42, (%bx))
	CASE(RW, 4, 0, lock incl (%bx))
	CASE(RW, 2, 0, lock notw (%bx))
	CASE(RW, 2, F_AF, lock xorw %dx, A)

/* ---- BT, BTS, BTR, BTC ---- */
	CASEB(R, 4, 37, btl %edx, (%bx))
	CASEB(RW, 4, -3, btsl %edx, (%bx))
	CASEB(RW, 2, 20, btrw %dx, (%bx))
	CASEB(RW, 2, 5, btcw %dx, (%bx))
	CASEB(RW, 4, -100, lock btcl %edx, (%bx))
	CASEB(R, 2, -17, btw %dx, (%bx))
	CASE(R, 4, F_BT, btl $5, (%bx))
	CASE(RW, 2, F_BT, btsw $17, (%bx))
	CASE(RW, 4, F_BT, btrl $63, (%bx))
	CASE(RW, 2, F_BT, lock btcw $15, A)

/* ---- SETcc, CMOVcc ---- */
	CASE(W, 1, 0, seto (%bx))
	CASE(W, 1, 0, setae (%bx))
	CASE(W, 1, 0, sete (%bx))
	CASE(W, 1, 0, setbe (%bx))
	CASE(W, 1, 0, setns (%bx))
	CASE(W, 1, 0, setp (%bx))
	CASE(W, 1, 0, setge (%bx))
	CASE(W, 1, 0, setle A)
	CASE(R, 4, 0, cmovel (%bx), %ecx)
	CASE(R, 2, 0, cmovbw (%bx), %ax)
	CASE(R, 4, 0, cmovgl A, %edx)
	CASE(R, 2, 0, cmovnsw (%bx), %cx)

/* ---- Segments: DS = ES = SS, FS and GS elsewhere. ---- */
	CASE(RW, 2, 0, addw %cx, %fs:(A - 0x100))
	CASE(R, 4, 0, movl %gs:(A + 0x200), %eax)
	CASE(W, 2, 0, movw %cx, %fs:-0x100(%bx))
	CASE(W, 4, 0, movl %ecx, %es:(%bx))
	CASE(R, 2, 0, movw %ss:(%bx), %cx)
	CASE(W, 2, 0, movw %cx, %ds:-2(%bp,%si))
	CASE(R, 4, 0, addr32 movl %gs:(A + 0x200), %edx)

/* ---- Operands across pages: RAM|MMIO, MMIO|MMIO, MMIO|RAM. ---- */
	CASEX(0x7FFE, W, 4, 0, movl %ecx, (%bx))
	CASEX(0x7FFD, RW, 4, 0, addl %ecx, (%bx))
	CASEX(0x7FFF, W, 2, 0, movw %cx, (%bx))
	CASEX(0x7FFF, R, 4, 0, movl (%bx), %edx)
	CASEX(0x8FFE, RW, 4, F_AF, orl %ecx, (%bx))
	CASEX(0x8FFF, R, 2, 0, movzwl (%bx), %ecx)
	CASEX(0xEFFE, RW, 4, 0, lock xaddl %ecx, (%bx))
	CASEX(0xEFFF, R, 2, 0, movw (%bx), %dx)
	CASEX(0xEFFD, RW, 4, 0, incl (%bx))

/* ---- Not emulated: the assist fails, nothing changes. ---- */
	FAIL(19, mulw (%bx))
	FAIL(19, pushw (%bx))
	FAIL(19, lesw (%bx), %cx)

/* ---- String instructions ---- */
	STRS(movs, 1)
	STRS(stos, 2)
	STRS(lods, 3)
	STRC(cmps, 4)
	STRC(scas, 5)
	STRIO(ins, 6)
	STRIO(outs, 7)
	STR(1, 2, 1 | S_FS, rep movsw %fs:(%si), %es:(%di))
	STR(1, 1, 1 | S_ADDR, addr32 rep movsb)
	STR(2, 4, 1 | S_ADDR, addr32 rep stosl)
	STR(7, 1, 1 | S_FS, rep outsb %fs:(%si), (%dx))

	.subsection 1
desc_end:
	.subsection 0
