/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The assists end to end, 32-bit protected mode, flat segments, no paging
 * (tests/emu/run_assist.c). The runner, the stubs and their descriptors
 * work as in assist_long.S; the test gives every CASE EBX = EBP = A,
 * ESI = 2, EDI = 3. FS.base = WB + 0x100, GS.base = WB - 0x200.
 */
#include "guest.h"
#include "assist.h"

#define CUR		0x1E000
#define SAVE		0x1E200
#define DUMP_DWORDS	8

/* The window: RAM [WB, WB + 0x8000), MMIO up to WB + 0xF000, RAM after. */
#define WB		0x3FFF8000
#define AM		(WB + 0x1000)	/* the mirror */

/* 16-bit addressing through FS (base WB + 0x100): BX = A & 0xFFFF, SI = 2. */
#define FS16	%fs:((A - WB - 0x100 - (A & 0xFFFF) - 2) & 0xFFFF)(%bx,%si)

/* The eight ALU operations: D is RW, or R for CMP. */
#define ALU(op, D, U)							\
	CASE(D, 1, U, op##b %ch, (%ebx)) ;				\
	CASE(D, 4, U, op##l %ecx, -8(%ebx,%esi,4)) ;			\
	CASE(D, 2, U, op##w %cx, (%ebp)) ;				\
	CASE(D, 4, U, op##l %edx, A) ;					\
	CASE(D, 4, U, addr16 op##l %ecx, FS16) ;			\
	CASE(R, 1, U, op##b (%ebx), %dl) ;				\
	CASE(R, 2, U, op##w -3(%ebx,%edi), %ax) ;			\
	CASE(R, 4, U, op##l A, %ecx) ;					\
	CASE(D, 1, U, op##b $0xA5, (%ebx)) ;				\
	CASE(D, 4, U, op##l $0x87654321, (%ebx)) ;			\
	CASE(D, 2, U, op##w $0x8001, (%ebx)) ;				\
	CASE(D, 4, U, op##l $-0x80, (%ebx)) ;				\
	CASE(D, 2, U, op##w $0x7F, A)

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

	.code32
	.text
start:
	jmp	runner
	.p2align 3
header:
	.ascii	"ASST"
	.long	32				/* code size */
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
	movl	$SAVE, %esi
	movl	$DUMP_DWORDS, %ecx
	movl	$PORT_REPORT, %edx
	rep outsl
req:
	movl	$ASSIST_REQ, %eax
	outl	%eax, $PORT_REPORT
	cmpl	$0, CUR
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
	CASE(W, 1, 0, movb %cl, (%ebx))
	CASE(W, 1, 0, movb %ch, (%ebx))
	CASE(W, 2, 0, movw %cx, -8(%ebx,%esi,4))
	CASE(W, 4, 0, movl %ecx, (%ebp))
	CASE(W, 4, 0, movl %edx, -12(%ebx,%edi,4))
	CASEO(9, W, 2, 0, movw %dx, 5(%ebp,%esi,2))
	CASE(W, 4, 0, addr16 movl %ecx, FS16)
	CASE(R, 1, 0, movb (%ebx), %dl)
	CASE(R, 1, 0, movb (%ebx), %dh)
	CASE(R, 2, 0, movw (%ebx), %ax)
	CASE(R, 4, 0, movl (%ebx), %ecx)
	CASE(R, 4, 0, movl A, %edx)
	CASE(R, 1, 0, movb A, %al)
	CASE(R, 2, 0, movw A, %ax)
	CASE(R, 4, 0, movl A, %eax)
	CASE(W, 1, 0, movb %al, A)
	CASE(W, 4, 0, movl %eax, A)
	CASE(R, 4, 0, addr16 movl %fs:(A - WB - 0x100), %eax)
	CASE(W, 1, 0, movb $0xA5, (%ebx))
	CASE(W, 2, 0, movw $0x1234, (%ebx))
	CASE(W, 4, 0, movl $0x89ABCDEF, (%ebx))
	CASE(W, 4, 0, movl $0x12345678, A)

/* ---- MOVZX, MOVSX ---- */
	CASE(R, 1, 0, movzbl (%ebx), %ecx)
	CASE(R, 1, 0, movzbw (%ebx), %ax)
	CASE(R, 2, 0, movzwl (%ebx), %edx)
	CASE(R, 1, 0, movsbl (%ebx), %ecx)
	CASE(R, 1, 0, movsbw (%ebx), %ax)
	CASE(R, 2, 0, movswl (%ebx), %edx)
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
	CASE(RW, 1, 0, .byte 0x82, 0x03, 0x7E)		/* add $0x7E, (%ebx) */

/* ---- TEST, INC, DEC, NOT, NEG ---- */
	CASE(R, 1, F_AF, testb %cl, (%ebx))
	CASE(R, 4, F_AF, testl %ecx, (%ebx))
	CASE(R, 2, F_AF, testw %cx, (%ebx))
	CASE(R, 1, F_AF, testb $0x81, (%ebx))
	CASE(R, 4, F_AF, testl $0x80000001, (%ebx))
	CASE(R, 2, F_AF, testw $0x8000, A)
	CASE(RW, 1, 0, incb (%ebx))
	CASE(RW, 4, 0, incl (%ebx))
	CASE(RW, 2, 0, decw (%ebx))
	CASE(RW, 4, 0, decl A)
	CASE(RW, 1, 0, notb (%ebx))
	CASE(RW, 4, 0, notl (%ebx))
	CASE(RW, 2, 0, notw (%ebx))
	CASE(RW, 1, 0, negb (%ebx))
	CASE(RW, 4, 0, negl (%ebx))
	CASE(RW, 2, 0, negw A)

/* ---- XCHG, CMPXCHG, XADD, LOCK ---- */
	CASE(RW, 1, 0, xchgb %cl, (%ebx))
	CASE(RW, 2, 0, xchgw %dx, (%ebx))
	CASE(RW, 4, 0, xchgl (%ebx), %ecx)
	CASE(RW, 1, F_EQ, cmpxchgb %cl, (%ebx))
	CASE(RW, 1, 0, cmpxchgb %cl, (%ebx))
	CASE(RW, 2, F_EQ, cmpxchgw %cx, (%ebx))
	CASE(RW, 2, 0, cmpxchgw %cx, (%ebx))
	CASE(RW, 4, F_EQ, lock cmpxchgl %ecx, (%ebx))
	CASE(RW, 4, 0, lock cmpxchgl %ecx, (%ebx))
	CASE(RW, 1, 0, xaddb %cl, (%ebx))
	CASE(RW, 2, 0, xaddw %cx, (%ebx))
	CASE(RW, 4, 0, lock xaddl %ecx, (%ebx))
	CASE(RW, 4, 0, lock addl %ecx, (%ebx))
	CASE(RW, 1, F_AF, lock orb $0x42, (%ebx))
	CASE(RW, 4, 0, lock incl (%ebx))
	CASE(RW, 2, 0, lock notw (%ebx))
	CASE(RW, 4, F_AF, lock xorl %edx, A)

/* ---- BT, BTS, BTR, BTC ---- */
	CASEB(R, 4, 37, btl %edx, (%ebx))
	CASEB(RW, 4, -3, btsl %edx, (%ebx))
	CASEB(RW, 2, 20, btrw %dx, (%ebx))
	CASEB(RW, 4, 5, btcl %edx, (%ebx))
	CASEB(RW, 4, -100, lock btcl %edx, (%ebx))
	CASEB(R, 2, -17, btw %dx, (%ebx))
	CASE(R, 4, F_BT, btl $5, (%ebx))
	CASE(RW, 2, F_BT, btsw $17, (%ebx))
	CASE(RW, 4, F_BT, btrl $63, (%ebx))
	CASE(RW, 4, F_BT, lock btcl $31, A)

/* ---- SETcc, CMOVcc ---- */
	CASE(W, 1, 0, seto (%ebx))
	CASE(W, 1, 0, setb (%ebx))
	CASE(W, 1, 0, setne (%ebx))
	CASE(W, 1, 0, seta (%ebx))
	CASE(W, 1, 0, sets (%ebx))
	CASE(W, 1, 0, setnp (%ebx))
	CASE(W, 1, 0, setl (%ebx))
	CASE(W, 1, 0, setg A)
	CASE(R, 4, 0, cmovel (%ebx), %ecx)
	CASE(R, 2, 0, cmovbw (%ebx), %ax)
	CASE(R, 4, 0, cmovgl A, %edx)
	CASE(R, 4, 0, cmovol (%ebx), %ecx)

/* ---- Segments ---- */
	CASE(RW, 4, 0, addl %ecx, %fs:(A - WB - 0x100))
	CASE(R, 4, 0, movl %gs:(A - WB + 0x200), %eax)
	CASE(W, 2, 0, movw %cx, %fs:(-WB - 0x100)(%ebx))
	CASE(W, 4, 0, movl %ecx, %es:(%ebx))
	CASE(R, 4, 0, movl %ss:(%ebx), %ecx)
	CASE(R, 1, 0, movb %cs:(%ebx), %cl)
	CASE(W, 4, 0, movl %ecx, %ds:(%ebx))
	CASE(R, 2, 0, addr16 movw %gs:(A - WB + 0x200), %dx)

/* ---- Operands across pages: RAM|MMIO, MMIO|MMIO, MMIO|RAM. ---- */
	CASEX(0x7FFE, W, 4, 0, movl %ecx, (%ebx))
	CASEX(0x7FFD, RW, 4, 0, addl %ecx, (%ebx))
	CASEX(0x7FFF, W, 2, 0, movw %cx, (%ebx))
	CASEX(0x7FFF, R, 4, 0, movl (%ebx), %edx)
	CASEX(0x8FFE, RW, 4, F_AF, orl %ecx, (%ebx))
	CASEX(0x8FFF, R, 2, 0, movzwl (%ebx), %ecx)
	CASEX(0xEFFE, RW, 4, 0, lock xaddl %ecx, (%ebx))
	CASEX(0xEFFF, R, 2, 0, movw (%ebx), %dx)
	CASEX(0xEFFD, RW, 4, 0, incl (%ebx))

/* ---- Not emulated: the assist fails, nothing changes. ---- */
	FAIL(19, mull (%ebx))
	FAIL(19, pushl (%ebx))
	FAIL(19, divw (%ebx))

/* ---- String instructions ---- */
	STRS(movs, 1)
	STRS(stos, 2)
	STRS(lods, 3)
	STRC(cmps, 4)
	STRC(scas, 5)
	STRIO(ins, 6)
	STRIO(outs, 7)
	STR(1, 2, 1 | S_FS, rep movsw %fs:(%esi), %es:(%edi))
	STR(7, 1, 1 | S_FS, rep outsb %fs:(%esi), (%dx))

	.subsection 1
desc_end:
	.subsection 0
