/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: the x86 instruction decoder used by the assists.
 *
 * Table-driven: one descriptor per opcode of the legacy and 0F maps (and
 * per ModRM.reg value of the group opcodes) says what the instruction does
 * and what its operands are. The decoder never reads past the bytes it is
 * given nor past 15 bytes, and decodes only what the assists can emulate;
 * everything else is reported invalid.
 */
#ifndef X86_DECODE_H
#define X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN	15

/* The default operand and address size of the code segment. */
enum x86_cpu_mode {
	X86_MODE_16,		/* real, virtual-8086, 16-bit protected */
	X86_MODE_32,		/* 32-bit protected or compatibility */
	X86_MODE_64,		/* 64-bit */
};

/* Operations. The eight ALU ones are in their ModRM.reg order (group 1). */
enum x86_op {
	X86_OP_INVALID = 0,
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
	X86_OP_TEST, X86_OP_INC, X86_OP_DEC, X86_OP_NEG, X86_OP_NOT,
	X86_OP_MOV, X86_OP_MOVZX, X86_OP_MOVSX,
	X86_OP_XCHG, X86_OP_CMPXCHG, X86_OP_XADD,
	X86_OP_BT, X86_OP_BTS, X86_OP_BTR, X86_OP_BTC,
	X86_OP_SETCC, X86_OP_CMOVCC,
	X86_OP_MOVS, X86_OP_STOS, X86_OP_LODS, X86_OP_CMPS, X86_OP_SCAS,
	X86_OP_INS, X86_OP_OUTS,
	X86_OP_COUNT
};

/* Operand kinds after decoding. */
enum x86_opnd_kind {
	X86_OPND_NONE = 0,
	X86_OPND_REG,		/* a general-purpose register */
	X86_OPND_MEM,		/* the ModRM or moffs memory operand: insn.ea */
	X86_OPND_IMM,		/* insn.imm */
	X86_OPND_STR_SRC,	/* seg:rSI (seg = insn.ea.seg) */
	X86_OPND_STR_DST,	/* ES:rDI */
	X86_OPND_PORT,		/* the port in DX (INS/OUTS) */
};

struct x86_opnd {
	uint8_t kind;		/* enum x86_opnd_kind */
	uint8_t size;		/* bytes: 1, 2, 4 or 8 */
	uint8_t reg;		/* REG: NVMM_X64_GPR_* index (0-15) */
	bool high8;		/* REG: AH, CH, DH or BH */
};

#define X86_EA_NONE	(-1)	/* no base or no index */
#define X86_EA_RIP	16	/* base: RIP-relative */

/* The memory operand: seg:[base + index * scale + disp]. */
struct x86_ea {
	int8_t base;		/* GPR index, X86_EA_RIP or X86_EA_NONE */
	int8_t index;		/* GPR index or X86_EA_NONE */
	uint8_t scale;		/* 1, 2, 4 or 8 */
	uint8_t seg;		/* NVMM_X64_SEG_* */
	int64_t disp;		/* sign-extended (moffs: zero-extended) */
};

#define X86_REP_NONE	0
#define X86_REP_E	1	/* F3: REP, REPE/REPZ */
#define X86_REP_NE	2	/* F2: REPNE/REPNZ */

struct x86_insn {
	uint8_t len;		/* total length in bytes */
	uint8_t op;		/* enum x86_op */
	uint8_t opsize;		/* operand size: 1, 2, 4 or 8 */
	uint8_t adsize;		/* address size: 2, 4 or 8 */
	uint8_t rep;		/* X86_REP_* (last F2/F3 prefix) */
	bool lock;
	bool seg_override;	/* a segment prefix chose ea.seg */
	bool has_modrm;
	uint8_t map;		/* 0: one-byte map, 1: 0F map */
	uint8_t opcode;		/* the opcode byte in its map */
	uint8_t modrm;
	uint8_t rex;		/* 0 when none */
	uint8_t cc;		/* SETcc, CMOVcc: the condition (0-15) */
	uint8_t nprefix;	/* legacy and REX prefix bytes */
	struct x86_opnd dst;	/* operands in Intel order */
	struct x86_opnd src;
	struct x86_ea ea;	/* valid when an operand is MEM or STR_SRC */
	uint64_t imm;		/* sign- or zero-extended as the op uses it */
};

/* x86_decode() results. */
#define X86_DEC_OK	0
#define X86_DEC_INVALID	(-1)	/* invalid or not an instruction we emulate */
#define X86_DEC_SHORT	(-2)	/* needs more bytes than given (n < 15) */

/*
 * Decode the instruction in bytes[0..n). n may be below 15 when no more
 * bytes could be fetched; only bytes[0..min(n, 15)) are ever read.
 */
int x86_decode(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
	       struct x86_insn *insn);

/*
 * x86_decode() through a one-entry cache per thread: a VCPU's loop meets
 * the same MMIO instructions over and over (a driver's register writes),
 * and a hit costs a compare and a copy, not a decode. bytes must have room
 * for X86_MAX_INSN_LEN bytes, whatever n is (only the first n count).
 * x86_decode_inline.h has it inline, for the assists.
 */
int x86_decode_cached(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
		      struct x86_insn *insn);

/* The same without the fast path for the common forms (for tests). */
int x86_decode_generic(const uint8_t *bytes, size_t n,
		       enum x86_cpu_mode mode, struct x86_insn *insn);

/* True when the instruction has a ModRM/moffs memory operand. */
static inline bool x86_insn_has_mem(const struct x86_insn *insn)
{
	return insn->dst.kind == X86_OPND_MEM ||
	       insn->src.kind == X86_OPND_MEM;
}

/* True for the string instructions (operands STR_SRC/STR_DST). */
static inline bool x86_op_is_string(unsigned int op)
{
	return op >= X86_OP_MOVS && op <= X86_OP_OUTS;
}

/* The operation's name, for diagnostics and tests. */
const char *x86_op_name(unsigned int op);

#endif /* X86_DECODE_H */
