/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The assists end to end, 64-bit code (tests/emu/run_assist.c).
 *
 * A runner and a list of stubs. At each request (OUT of ASSIST_REQ to port 0xF0)
 * the test fills the entry at CUR (a stub's address, RFLAGS, the GPRs but
 * RSP); the runner loads them and jumps to the stub, which runs one
 * instruction and jumps back to 'done'; 'done' stores the GPRs and RFLAGS
 * at SAVE and reports them with one REP OUTSL to port 0xF0, then asks for
 * the next entry. A stub address of 0 ends the program (HLT).
 *
 * Each CASE is one instruction with a memory operand, assembled twice: at
 * A = the mirror (ordinary RAM: the CPU runs it, the expected result) and
 * at A = the target (MMIO, or straddling RAM and MMIO: nvmm_assist_mem
 * emulates it). The descriptors after the code tell the test where the
 * stubs are and what device accesses to expect (see run_assist.c).
 * Registers the test gives every CASE: RBX = RBP = A, RSI = 2, RDI = 3;
 * the access is at A (+ arg with CASEO; at the bit offset RDX = arg with
 * CASEB).
 */
#include "guest.h"
#include "assist.h"

#define CUR		0x1E000
#define SAVE		0x1E200
#define DUMP_DWORDS	32

/* The window: RAM [WB, WB + 0x8000), MMIO up to WB + 0xF000, RAM after. */
#define WB		0x3FFF8000
#define AM		(WB + 0x1000)	/* the mirror */

/* RIP-relative: the assembler makes A - next RIP from start's address. */
#define RIPA	(start + (A - CODE_BASE))(%rip)

/* The eight ALU operations: D is RW, or R for CMP. */
#define ALU(op, D, U)							\
	CASE(D, 1, U, op##b %ch, (%rbx)) ;				\
	CASE(D, 4, U, op##l %ecx, -8(%rbx,%rsi,4)) ;			\
	CASE(D, 8, U, op##q %r9, (%rbp)) ;				\
	CASE(D, 2, U, op##w %cx, RIPA) ;				\
	CASE(R, 1, U, op##b (%rbx), %dl) ;				\
	CASE(R, 2, U, op##w -3(%rbx,%rdi), %ax) ;			\
	CASE(R, 8, U, op##q A, %r10) ;					\
	CASE(R, 4, U, op##l (%rbx), %r11d) ;				\
	CASE(D, 1, U, op##b $0xA5, (%rbx)) ;				\
	CASE(D, 4, U, op##l $0x87654321, (%rbx)) ;			\
	CASE(D, 2, U, op##w $0x8001, (%rbx)) ;				\
	CASE(D, 8, U, op##q $-0x80, (%rbx)) ;				\
	CASE(D, 4, U, op##l $0x7F, RIPA) ;				\
	CASE(D, 8, U, op##q $-0x12345678, RIPA)

#define STRS(op, OP)							\
	STR(OP, 1, 0, op##b) ; STR(OP, 2, 0, op##w) ;			\
	STR(OP, 4, 0, op##l) ; STR(OP, 8, 0, op##q) ;			\
	STR(OP, 1, 1, rep op##b) ; STR(OP, 2, 1, rep op##w) ;		\
	STR(OP, 4, 1, rep op##l) ; STR(OP, 8, 1, rep op##q)
#define STRC(op, OP)							\
	STR(OP, 1, 0, op##b) ; STR(OP, 2, 0, op##w) ;			\
	STR(OP, 4, 0, op##l) ; STR(OP, 8, 0, op##q) ;			\
	STR(OP, 1, 1, repe op##b) ; STR(OP, 2, 1, repe op##w) ;	\
	STR(OP, 4, 1, repe op##l) ; STR(OP, 8, 1, repe op##q) ;	\
	STR(OP, 1, 2, repne op##b) ; STR(OP, 2, 2, repne op##w) ;	\
	STR(OP, 4, 2, repne op##l) ; STR(OP, 8, 2, repne op##q)
#define STRIO(op, OP)							\
	STR(OP, 1, 0, op##b) ; STR(OP, 2, 0, op##w) ;			\
	STR(OP, 4, 0, op##l) ;						\
	STR(OP, 1, 1, rep op##b) ; STR(OP, 2, 1, rep op##w) ;		\
	STR(OP, 4, 1, rep op##l)

	.code64
	.text
start:
	jmp	runner
	.p2align 3
header:
	.ascii	"ASST"
	.long	64				/* code size */
	.long	desc_start, desc_end
	.long	CUR, SAVE, DUMP_DWORDS, 0

runner:
	jmp	req
done:
	pushfq
	popq	SAVE + 120
	movq	%rax, SAVE + 0
	movq	%rcx, SAVE + 8
	movq	%rdx, SAVE + 16
	movq	%rbx, SAVE + 24
	movq	%rbp, SAVE + 32
	movq	%rsi, SAVE + 40
	movq	%rdi, SAVE + 48
	movq	%r8, SAVE + 56
	movq	%r9, SAVE + 64
	movq	%r10, SAVE + 72
	movq	%r11, SAVE + 80
	movq	%r12, SAVE + 88
	movq	%r13, SAVE + 96
	movq	%r14, SAVE + 104
	movq	%r15, SAVE + 112
	cld
	movl	$SAVE, %esi
	movl	$DUMP_DWORDS, %ecx
	movl	$PORT_REPORT, %edx
	rep outsl
req:
	movl	$ASSIST_REQ, %eax
	outl	%eax, $PORT_REPORT
	cmpq	$0, CUR
	je	end
	pushq	CUR + 8
	popfq
	movq	CUR + 16, %rax
	movq	CUR + 24, %rcx
	movq	CUR + 32, %rdx
	movq	CUR + 40, %rbx
	movq	CUR + 48, %rbp
	movq	CUR + 56, %rsi
	movq	CUR + 64, %rdi
	movq	CUR + 72, %r8
	movq	CUR + 80, %r9
	movq	CUR + 88, %r10
	movq	CUR + 96, %r11
	movq	CUR + 104, %r12
	movq	CUR + 112, %r13
	movq	CUR + 120, %r14
	movq	CUR + 128, %r15
	jmp	*CUR
end:
	hlt
	jmp	end

	.subsection 1
	.p2align 3
desc_start:
	.subsection 0

/* ---- MOV ---- */
	CASE(W, 1, 0, movb %cl, (%rbx))
	CASE(W, 1, 0, movb %ch, (%rbx))
	CASE(W, 1, 0, movb %r9b, (%rbx))
	CASE(W, 2, 0, movw %cx, -8(%rbx,%rsi,4))
	CASE(W, 4, 0, movl %ecx, (%rbp))
	CASE(W, 8, 0, movq %r9, (%rbx))
	CASE(W, 8, 0, movq %r11, -12(%rbx,%rdi,4))
	CASEO(9, W, 4, 0, movl %r14d, 5(%rbp,%rsi,2))
	CASE(R, 1, 0, movb (%rbx), %dl)
	CASE(R, 1, 0, movb (%rbx), %dh)
	CASE(R, 1, 0, movb (%rbx), %r8b)
	CASE(R, 2, 0, movw (%rbx), %ax)
	CASE(R, 4, 0, movl (%rbx), %r8d)
	CASE(R, 4, 0, movl (%rbx), %ecx)
	CASE(R, 8, 0, movq (%rbx), %rdx)
	CASE(R, 8, 0, movq A, %r15)
	CASE(R, 1, 0, movabs A, %al)
	CASE(R, 4, 0, movabs A, %eax)
	CASE(R, 8, 0, movabs A, %rax)
	CASE(W, 1, 0, movabs %al, A)
	CASE(W, 2, 0, movabs %ax, A)
	CASE(W, 8, 0, movabs %rax, A)
	CASE(R, 4, 0, addr32 movl A, %eax)
	CASE(W, 1, 0, movb $0xA5, (%rbx))
	CASE(W, 2, 0, movw $0x1234, (%rbx))
	CASE(W, 4, 0, movl $0x89ABCDEF, (%rbx))
	CASE(W, 8, 0, movq $-2, (%rbx))
	CASE(W, 4, 0, movl %ecx, RIPA)
	CASE(W, 4, 0, movl $0x12345678, RIPA)
	CASE(R, 8, 0, movq RIPA, %r12)
	CASE(W, 2, 0, movw $0x5AA5, RIPA)
	CASE(W, 4, 0, .byte 0x89, 0x0C, 0x23)

/* ---- MOVZX, MOVSX, MOVSXD ---- */
	CASE(R, 1, 0, movzbl (%rbx), %ecx)
	CASE(R, 1, 0, movzbw (%rbx), %ax)
	CASE(R, 2, 0, movzwq (%rbx), %rdx)
	CASE(R, 2, 0, movzwl (%rbx), %r13d)
	CASE(R, 1, 0, movsbq (%rbx), %rcx)
	CASE(R, 1, 0, movsbw (%rbx), %ax)
	CASE(R, 2, 0, movswl (%rbx), %edx)
	CASE(R, 2, 0, movswq (%rbx), %r9)
	CASE(R, 4, 0, movslq (%rbx), %r8)
	CASE(R, 4, 0, movslq A, %rax)

/* ---- ALU ---- */
	ALU(add, RW, 0)
	ALU(or, RW, F_AF)
	ALU(adc, RW, 0)
	ALU(sbb, RW, 0)
	ALU(and, RW, F_AF)
	ALU(sub, RW, 0)
	ALU(xor, RW, F_AF)
	ALU(cmp, R, 0)

/* ---- TEST, INC, DEC, NOT, NEG ---- */
	CASE(R, 1, F_AF, testb %cl, (%rbx))
	CASE(R, 8, F_AF, testq %rcx, (%rbx))
	CASE(R, 2, F_AF, testw %cx, (%rbx))
	CASE(R, 1, F_AF, testb $0x81, (%rbx))
	CASE(R, 4, F_AF, testl $0x80000001, (%rbx))
	CASE(R, 8, F_AF, testq $-16, RIPA)
	CASE(RW, 1, 0, incb (%rbx))
	CASE(RW, 8, 0, incq (%rbx))
	CASE(RW, 2, 0, decw (%rbx))
	CASE(RW, 4, 0, decl A)
	CASE(RW, 1, 0, notb (%rbx))
	CASE(RW, 8, 0, notq (%rbx))
	CASE(RW, 2, 0, notw (%rbx))
	CASE(RW, 1, 0, negb (%rbx))
	CASE(RW, 4, 0, negl (%rbx))
	CASE(RW, 8, 0, negq RIPA)

/* ---- XCHG, CMPXCHG, XADD, LOCK ---- */
	CASE(RW, 1, 0, xchgb %cl, (%rbx))
	CASE(RW, 2, 0, xchgw %dx, (%rbx))
	CASE(RW, 4, 0, xchgl %ecx, (%rbx))
	CASE(RW, 8, 0, xchgq (%rbx), %r9)
	CASE(RW, 1, F_EQ, cmpxchgb %cl, (%rbx))
	CASE(RW, 1, 0, cmpxchgb %cl, (%rbx))
	CASE(RW, 2, F_EQ, cmpxchgw %cx, (%rbx))
	CASE(RW, 2, 0, cmpxchgw %cx, (%rbx))
	CASE(RW, 4, F_EQ, cmpxchgl %ecx, (%rbx))
	CASE(RW, 4, 0, cmpxchgl %ecx, (%rbx))
	CASE(RW, 8, F_EQ, lock cmpxchgq %rcx, (%rbx))
	CASE(RW, 8, 0, lock cmpxchgq %rcx, (%rbx))
	CASE(RW, 1, 0, xaddb %cl, (%rbx))
	CASE(RW, 2, 0, xaddw %cx, (%rbx))
	CASE(RW, 4, 0, xaddl %ecx, (%rbx))
	CASE(RW, 8, 0, lock xaddq %rcx, (%rbx))
	CASE(RW, 4, 0, lock addl %ecx, (%rbx))
	CASE(RW, 1, F_AF, lock orb $0x42, (%rbx))
	CASE(RW, 8, 0, lock incq (%rbx))
	CASE(RW, 2, 0, lock notw (%rbx))
	CASE(RW, 4, 0, lock negl (%rbx))
	CASE(RW, 8, F_AF, lock andq %r10, (%rbx))

/* ---- BT, BTS, BTR, BTC ---- */
	CASEB(R, 4, 37, btl %edx, (%rbx))
	CASEB(RW, 8, -3, btsq %rdx, (%rbx))
	CASEB(RW, 2, 20, btrw %dx, (%rbx))
	CASEB(RW, 4, 5, btcl %edx, (%rbx))
	CASEB(RW, 8, 100, lock btcq %rdx, (%rbx))
	CASEB(R, 2, -17, btw %dx, (%rbx))
	CASE(R, 4, F_BT, btl $5, (%rbx))
	CASE(RW, 2, F_BT, btsw $17, (%rbx))
	CASE(RW, 8, F_BT, btrq $63, (%rbx))
	CASE(RW, 4, F_BT, btcl $31, (%rbx))
	CASE(RW, 8, F_BT, lock btsq $40, RIPA)

/* ---- SETcc, CMOVcc ---- */
	CASE(W, 1, 0, seto (%rbx))
	CASE(W, 1, 0, setno (%rbx))
	CASE(W, 1, 0, setb (%rbx))
	CASE(W, 1, 0, setae (%rbx))
	CASE(W, 1, 0, sete (%rbx))
	CASE(W, 1, 0, setne (%rbx))
	CASE(W, 1, 0, setbe (%rbx))
	CASE(W, 1, 0, seta (%rbx))
	CASE(W, 1, 0, sets (%rbx))
	CASE(W, 1, 0, setns (%rbx))
	CASE(W, 1, 0, setp (%rbx))
	CASE(W, 1, 0, setnp (%rbx))
	CASE(W, 1, 0, setl (%rbx))
	CASE(W, 1, 0, setge (%rbx))
	CASE(W, 1, 0, setle (%rbx))
	CASE(W, 1, 0, setg RIPA)
	CASE(R, 4, 0, cmovel (%rbx), %ecx)
	CASE(R, 8, 0, cmovneq (%rbx), %rdx)
	CASE(R, 2, 0, cmovbw (%rbx), %ax)
	CASE(R, 4, 0, cmovgl (%rbx), %r8d)
	CASE(R, 8, 0, cmovsq A, %r9)
	CASE(R, 4, 0, cmovpl (%rbx), %ecx)

/* ---- Segments: FS and GS bases apply, the others are null. ---- */
	CASE(RW, 4, 0, addl %ecx, %fs:(A - WB - 0x100))
	CASE(R, 8, 0, movq %gs:(A - WB + 0x200), %rax)
	CASE(W, 2, 0, movw %cx, %fs:(-WB - 0x100)(%rbx))
	CASE(W, 4, 0, movl %ecx, %es:(%rbx))
	CASE(R, 4, 0, movl %ss:(%rbx), %ecx)
	CASE(RW, 1, 0, incb %cs:(%rbx))
	CASE(W, 8, 0, movq %rcx, %ds:(%rbx))

/* ---- Operands across pages: RAM|MMIO, MMIO|MMIO, MMIO|RAM. ---- */
	CASEX(0x7FFE, W, 4, 0, movl %ecx, (%rbx))
	CASEX(0x7FFE, R, 8, 0, movq (%rbx), %rdx)
	CASEX(0x7FFD, RW, 4, 0, addl %ecx, (%rbx))
	CASEX(0x7FFF, W, 2, 0, movw %cx, (%rbx))
	CASEX(0x7FF9, RW, 8, 0, xchgq %rcx, (%rbx))
	CASEX(0x8FFC, W, 8, 0, movq %rcx, (%rbx))
	CASEX(0x8FFE, RW, 4, F_AF, orl %ecx, (%rbx))
	CASEX(0x8FFF, R, 2, 0, movzwl (%rbx), %ecx)
	CASEX(0xEFFD, W, 8, 0, movq %rcx, (%rbx))
	CASEX(0xEFFE, RW, 4, 0, lock xaddl %ecx, (%rbx))
	CASEX(0xEFFF, R, 2, 0, movw (%rbx), %dx)
	CASEX(0xEFF8, RW, 8, 0, incq (%rbx))

/* ---- Not emulated: the assist fails, nothing changes. ---- */
	FAIL(19, mull (%rbx))
	FAIL(19, pushq (%rbx))
	FAIL(19, movdqu (%rbx), %xmm0)
	FAIL(19, imulq (%rbx), %rcx)

/* ---- String instructions ---- */
	STRS(movs, 1)
	STRS(stos, 2)
	STRS(lods, 3)
	STRC(cmps, 4)
	STRC(scas, 5)
	STRIO(ins, 6)
	STRIO(outs, 7)
	STR(1, 1, 1 | S_FS, rep movsb %fs:(%rsi), %es:(%rdi))
	STR(1, 1, 1 | S_ADDR, addr32 rep movsb)
	STR(2, 4, 1 | S_ADDR, addr32 rep stosl)
	STR(7, 1, 1 | S_FS, rep outsb %fs:(%rsi), (%dx))

	.subsection 1
desc_end:
	.subsection 0
