/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The assist guests' protocol (tests/guests/assist_{long,prot32,code16}.S)
 * and their case descriptors, shared with tests/emu/run_assist.c, which
 * reads them. See assist_long.S for how a run goes.
 */
#ifndef NVMM_TESTS_ASSIST_H
#define NVMM_TESTS_ASSIST_H

/* A request for the next case: OUT of ASSIST_REQ to port 0xF0. */
#define ASSIST_REQ	0x52455121

/* The default target of a case: window offset 0x9000 (MMIO). */
#define TOFF		0x9000

/* Descriptor kinds. */
#define K_INSN		1	/* an instruction with a memory operand */
#define K_STR		2	/* a string instruction */
#define K_FAIL		3	/* an instruction the assist must refuse */
/* Accesses. */
#define A_R		1
#define A_W		2
#define A_RW		3
/* Flags. */
#define F_AF		0x01	/* AF undefined */
#define F_BT		0x02	/* OF SF ZF AF PF undefined */
#define F_EQ		0x04	/* the accumulator equals the operand */
#define F_BTREG		0x08	/* RDX/EDX = arg: a bit offset */
#define S_FS		0x10	/* string: FS override on the source */
#define S_ADDR		0x20	/* string: the other address size */

#ifdef __ASSEMBLER__
#define R		A_R
#define W		A_W
#define RW		A_RW

/*
 * A descriptor: the mirror's instruction, the target's, where it ends,
 * the target offset, kind, access, size, flags, argument, and the text.
 * Each guest defines AM (the mirror: ordinary RAM) and WB (the window).
 */
#define DESC(m, t, e, toff, kind, acc, size, flags, arg, ...)		\
	.subsection 1 ;							\
	.long m, t, e, (toff) ;						\
	.byte (kind), (acc), (size), (flags) ;				\
	.short (arg), 0 ;						\
	.long 87f, 0 ;							\
	.subsection 2 ;							\
87:	.asciz #__VA_ARGS__ ;						\
	.subsection 0

/* One instruction, assembled at A = the mirror and at A = the target. */
#define CASE_AT(toff, kind, acc, size, flags, arg, ...)		\
	.set A, AM ;							\
88:	__VA_ARGS__ ;							\
	jmp done ;							\
	.set A, WB + (toff) ;						\
89:	__VA_ARGS__ ;							\
86:	jmp done ;							\
	DESC(88b, 89b, 86b, toff, kind, acc, size, flags, arg, __VA_ARGS__)

#define CASE(acc, size, flags, ...)					\
	CASE_AT(TOFF, K_INSN, acc, size, flags, 0, __VA_ARGS__)
#define CASEX(toff, acc, size, flags, ...)				\
	CASE_AT(toff, K_INSN, acc, size, flags, 0, __VA_ARGS__)
#define CASEO(off, acc, size, flags, ...)				\
	CASE_AT(TOFF, K_INSN, acc, size, flags, off, __VA_ARGS__)
#define CASEB(acc, size, bit, ...)					\
	CASE_AT(TOFF, K_INSN, acc, size, F_BT | F_BTREG, bit, __VA_ARGS__)
#define FAIL(err, ...)							\
	CASE_AT(TOFF, K_FAIL, 0, 0, 0, err, __VA_ARGS__)
#define STR(op, size, flags, ...)					\
89:	__VA_ARGS__ ;							\
86:	jmp done ;							\
	DESC(89b, 89b, 86b, 0, K_STR, op, size, flags, 0, __VA_ARGS__)
#endif /* __ASSEMBLER__ */

#endif /* NVMM_TESTS_ASSIST_H */
