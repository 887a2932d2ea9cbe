/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: the x86 instruction decoder used by the assists.
 *
 * The one-byte and 0F maps are tables of descriptors indexed by the opcode
 * byte; group opcodes (80-83, C6/C7, F6/F7, FE/FF, 0F BA) point to a table
 * of eight descriptors indexed by ModRM.reg. A descriptor names the
 * operation and how each operand is encoded (the Intel SDM's operand
 * notation: Eb/Ev, Gb/Gv, Ib/Iz, Ob/Ov, Xb/Xv, Yb/Yv ...). The decoding
 * loop is generic: prefixes, opcode, ModRM/SIB/displacement, immediates.
 *
 * The common forms (D_FAST) have two fast paths, which start from a copy
 * of their form's record (a template) and fill in what the bytes say:
 * x86_decode_simple() for those with no prefix and no SIB byte, inline in
 * the assists (x86_decode_inline.h, with the decode cache), and
 * x86_decode_fast() here for those with 66, REX or a SIB byte.
 *
 * Bounds: every byte read goes through need(), which fails when the
 * instruction would be longer than 15 bytes or than the bytes given.
 */
#include <string.h>

#include <nvmm.h>

#include "x86_decode_inline.h"

/* How an operand is encoded (the descriptor's dst and src). */
enum x86_spec {
	S_NONE = 0,
	S_E,		/* ModRM r/m, operand size */
	S_EB,		/* ModRM r/m, byte */
	S_EW,		/* ModRM r/m, word */
	S_ED,		/* ModRM r/m, doubleword */
	S_G,		/* ModRM reg, operand size */
	S_ACC,		/* AL/AX/EAX/RAX */
	S_I,		/* immediate of the operand size (at most 4 bytes),
			   sign-extended */
	S_IBS,		/* imm8 sign-extended */
	S_IB,		/* imm8 zero-extended */
	S_MOFFS,	/* absolute offset of the address size */
	S_X,		/* seg:rSI */
	S_Y,		/* ES:rDI */
	S_DX,		/* port in DX */
};

enum { G1, G1S, G3, GINC, G11, G8, NGROUPS };

/*
 * A descriptor's form (F_*, x86_decode_inline.h) and operand size with no
 * prefix, for its template (FT_INDEX).
 */
#define FAST_FORM(d, s)							\
	(S_##d == S_E && S_##s == S_G ? F_EG :				\
	 S_##d == S_G && S_##s == S_E ? F_GE :				\
	 S_##d == S_E && S_##s == S_I ? F_EI :				\
	 S_##d == S_E && S_##s == S_IBS ? F_EIB :			\
	 S_##d == S_E && S_##s == S_NONE ? F_E : F_NONE)
#define FAST_FLAGS(f)							\
	(((f) & (D_MODRM | D_I64 | D_O64 | D_CC)) == D_MODRM)
#define FAST_LG(f)	(((f) & D_BYTE) ? 0 : 2)

#define OP(o, d, s, f)							\
	{ X86_OP_##o, S_##d, S_##s,					\
	  (f) | (FAST_FORM(d, s) && FAST_FLAGS(f) ? D_FAST : 0), 0,	\
	  FT_INDEX(FAST_FLAGS(f) ? FAST_FORM(d, s) : F_NONE, FAST_LG(f)) }
#define GRP(g, f)							\
	{ X86_OP_INVALID, S_NONE, S_NONE,				\
	  D_GRP | D_MODRM | (f) |					\
	  (FAST_FLAGS(D_MODRM | (f)) ? D_FAST : 0), g,			\
	  FT_INDEX(F_NONE, FAST_LG(f)) }
/* A group member: ModRM is the group opcode's. */
#define GOP(o, d, s)							\
	{ X86_OP_##o, S_##d, S_##s, FAST_FORM(d, s) ? D_FAST : 0, 0,	\
	  FT_INDEX(FAST_FORM(d, s), 0) }

/* The six classic forms of the eight ALU operations. */
#define ALU(base, o)							\
	[(base) + 0] = OP(o, E, G, D_MODRM | D_BYTE),			\
	[(base) + 1] = OP(o, E, G, D_MODRM),				\
	[(base) + 2] = OP(o, G, E, D_MODRM | D_BYTE),			\
	[(base) + 3] = OP(o, G, E, D_MODRM),				\
	[(base) + 4] = OP(o, ACC, I, D_BYTE),				\
	[(base) + 5] = OP(o, ACC, I, 0)

#define CC16(base, o, d, s, f)						\
	[(base) + 0x0] = OP(o, d, s, f), [(base) + 0x1] = OP(o, d, s, f),\
	[(base) + 0x2] = OP(o, d, s, f), [(base) + 0x3] = OP(o, d, s, f),\
	[(base) + 0x4] = OP(o, d, s, f), [(base) + 0x5] = OP(o, d, s, f),\
	[(base) + 0x6] = OP(o, d, s, f), [(base) + 0x7] = OP(o, d, s, f),\
	[(base) + 0x8] = OP(o, d, s, f), [(base) + 0x9] = OP(o, d, s, f),\
	[(base) + 0xA] = OP(o, d, s, f), [(base) + 0xB] = OP(o, d, s, f),\
	[(base) + 0xC] = OP(o, d, s, f), [(base) + 0xD] = OP(o, d, s, f),\
	[(base) + 0xE] = OP(o, d, s, f), [(base) + 0xF] = OP(o, d, s, f)

const struct x86_desc x86_map1[256] = {
	ALU(0x00, ADD), ALU(0x08, OR), ALU(0x10, ADC), ALU(0x18, SBB),
	ALU(0x20, AND), ALU(0x28, SUB), ALU(0x30, XOR), ALU(0x38, CMP),
	[0x63] = OP(MOVSX, G, ED, D_MODRM | D_O64),		/* MOVSXD */
	[0x6C] = OP(INS, Y, DX, D_BYTE),
	[0x6D] = OP(INS, Y, DX, 0),
	[0x6E] = OP(OUTS, DX, X, D_BYTE),
	[0x6F] = OP(OUTS, DX, X, 0),
	[0x80] = GRP(G1, D_BYTE),
	[0x81] = GRP(G1, 0),
	[0x82] = GRP(G1, D_BYTE | D_I64),
	[0x83] = GRP(G1S, 0),
	[0x84] = OP(TEST, E, G, D_MODRM | D_BYTE),
	[0x85] = OP(TEST, E, G, D_MODRM),
	[0x86] = OP(XCHG, E, G, D_MODRM | D_BYTE),
	[0x87] = OP(XCHG, E, G, D_MODRM),
	[0x88] = OP(MOV, E, G, D_MODRM | D_BYTE),
	[0x89] = OP(MOV, E, G, D_MODRM),
	[0x8A] = OP(MOV, G, E, D_MODRM | D_BYTE),
	[0x8B] = OP(MOV, G, E, D_MODRM),
	[0xA0] = OP(MOV, ACC, MOFFS, D_BYTE),
	[0xA1] = OP(MOV, ACC, MOFFS, 0),
	[0xA2] = OP(MOV, MOFFS, ACC, D_BYTE),
	[0xA3] = OP(MOV, MOFFS, ACC, 0),
	[0xA4] = OP(MOVS, Y, X, D_BYTE),
	[0xA5] = OP(MOVS, Y, X, 0),
	[0xA6] = OP(CMPS, X, Y, D_BYTE),
	[0xA7] = OP(CMPS, X, Y, 0),
	[0xA8] = OP(TEST, ACC, I, D_BYTE),
	[0xA9] = OP(TEST, ACC, I, 0),
	[0xAA] = OP(STOS, Y, ACC, D_BYTE),
	[0xAB] = OP(STOS, Y, ACC, 0),
	[0xAC] = OP(LODS, ACC, X, D_BYTE),
	[0xAD] = OP(LODS, ACC, X, 0),
	[0xAE] = OP(SCAS, ACC, Y, D_BYTE),
	[0xAF] = OP(SCAS, ACC, Y, 0),
	[0xC6] = GRP(G11, D_BYTE),
	[0xC7] = GRP(G11, 0),
	[0xF6] = GRP(G3, D_BYTE),
	[0xF7] = GRP(G3, 0),
	[0xFE] = GRP(GINC, D_BYTE),
	[0xFF] = GRP(GINC, 0),
};

static const struct x86_desc x86_map0f[256] = {
	CC16(0x40, CMOVCC, G, E, D_MODRM | D_CC),
	CC16(0x90, SETCC, EB, NONE, D_MODRM | D_BYTE | D_CC),
	[0xA3] = OP(BT, E, G, D_MODRM),
	[0xAB] = OP(BTS, E, G, D_MODRM),
	[0xB0] = OP(CMPXCHG, E, G, D_MODRM | D_BYTE),
	[0xB1] = OP(CMPXCHG, E, G, D_MODRM),
	[0xB3] = OP(BTR, E, G, D_MODRM),
	[0xB6] = OP(MOVZX, G, EB, D_MODRM),
	[0xB7] = OP(MOVZX, G, EW, D_MODRM),
	[0xBA] = GRP(G8, 0),
	[0xBB] = OP(BTC, E, G, D_MODRM),
	[0xBE] = OP(MOVSX, G, EB, D_MODRM),
	[0xBF] = OP(MOVSX, G, EW, D_MODRM),
	[0xC0] = OP(XADD, E, G, D_MODRM | D_BYTE),
	[0xC1] = OP(XADD, E, G, D_MODRM),
};

/* Indexed by ModRM.reg; the group opcode's flags are added. */
const struct x86_desc x86_groups[NGROUPS][8] = {
	[G1] = {
		GOP(ADD, E, I), GOP(OR, E, I), GOP(ADC, E, I),
		GOP(SBB, E, I), GOP(AND, E, I), GOP(SUB, E, I),
		GOP(XOR, E, I), GOP(CMP, E, I),
	},
	[G1S] = {
		GOP(ADD, E, IBS), GOP(OR, E, IBS), GOP(ADC, E, IBS),
		GOP(SBB, E, IBS), GOP(AND, E, IBS), GOP(SUB, E, IBS),
		GOP(XOR, E, IBS), GOP(CMP, E, IBS),
	},
	[G3] = {
		GOP(TEST, E, I), GOP(TEST, E, I),
		GOP(NOT, E, NONE), GOP(NEG, E, NONE),
		/* MUL, IMUL, DIV, IDIV: not emulated */
	},
	[GINC] = {
		GOP(INC, E, NONE), GOP(DEC, E, NONE),
		/* FF /2-/6: CALL, JMP, PUSH: not emulated */
	},
	[G11] = {
		GOP(MOV, E, I),
	},
	[G8] = {
		[4] = GOP(BT, E, IB), [5] = GOP(BTS, E, IB),
		[6] = GOP(BTR, E, IB), [7] = GOP(BTC, E, IB),
	},
};

/* Operations that accept LOCK (with a memory destination). */
#define LOCKABLE(o)	(1ULL << X86_OP_##o)
static const uint64_t x86_lockable =
	LOCKABLE(ADD) | LOCKABLE(OR) | LOCKABLE(ADC) | LOCKABLE(SBB) |
	LOCKABLE(AND) | LOCKABLE(SUB) | LOCKABLE(XOR) | LOCKABLE(INC) |
	LOCKABLE(DEC) | LOCKABLE(NEG) | LOCKABLE(NOT) | LOCKABLE(XCHG) |
	LOCKABLE(CMPXCHG) | LOCKABLE(XADD) | LOCKABLE(BTS) | LOCKABLE(BTR) |
	LOCKABLE(BTC);

static const char *const x86_op_names[X86_OP_COUNT] = {
	[X86_OP_INVALID] = "(invalid)",
	[X86_OP_ADD] = "add", [X86_OP_OR] = "or", [X86_OP_ADC] = "adc",
	[X86_OP_SBB] = "sbb", [X86_OP_AND] = "and", [X86_OP_SUB] = "sub",
	[X86_OP_XOR] = "xor", [X86_OP_CMP] = "cmp", [X86_OP_TEST] = "test",
	[X86_OP_INC] = "inc", [X86_OP_DEC] = "dec", [X86_OP_NEG] = "neg",
	[X86_OP_NOT] = "not", [X86_OP_MOV] = "mov", [X86_OP_MOVZX] = "movzx",
	[X86_OP_MOVSX] = "movsx", [X86_OP_XCHG] = "xchg",
	[X86_OP_CMPXCHG] = "cmpxchg", [X86_OP_XADD] = "xadd",
	[X86_OP_BT] = "bt", [X86_OP_BTS] = "bts", [X86_OP_BTR] = "btr",
	[X86_OP_BTC] = "btc", [X86_OP_SETCC] = "setcc",
	[X86_OP_CMOVCC] = "cmovcc", [X86_OP_MOVS] = "movs",
	[X86_OP_STOS] = "stos", [X86_OP_LODS] = "lods", [X86_OP_CMPS] = "cmps",
	[X86_OP_SCAS] = "scas", [X86_OP_INS] = "ins", [X86_OP_OUTS] = "outs",
};

const char *x86_op_name(unsigned int op)
{
	return op < X86_OP_COUNT ? x86_op_names[op] : "(bad)";
}

/* 16-bit addressing: ModRM.rm -> base, index. */
static const int8_t x86_ea16_base[8] = {
	NVMM_X64_GPR_RBX, NVMM_X64_GPR_RBX, NVMM_X64_GPR_RBP, NVMM_X64_GPR_RBP,
	NVMM_X64_GPR_RSI, NVMM_X64_GPR_RDI, NVMM_X64_GPR_RBP, NVMM_X64_GPR_RBX,
};
static const int8_t x86_ea16_index[8] = {
	NVMM_X64_GPR_RSI, NVMM_X64_GPR_RDI, NVMM_X64_GPR_RSI, NVMM_X64_GPR_RDI,
	X86_EA_NONE, X86_EA_NONE, X86_EA_NONE, X86_EA_NONE,
};

struct x86_cursor {
	const uint8_t *b;
	size_t n;		/* bytes available, at most 15 */
	size_t i;		/* next byte */
	int err;		/* first failure: X86_DEC_* */
};

/* Make sure k more bytes are there; record why not. */
static bool need(struct x86_cursor *c, size_t k)
{
	if (c->i + k <= c->n)
		return true;
	if (c->err == X86_DEC_OK)
		c->err = (c->i + k > X86_MAX_INSN_LEN) ? X86_DEC_INVALID :
			 X86_DEC_SHORT;
	return false;
}

/* A little-endian value of k bytes, sign-extended to 64 bits if asked. */
static bool fetch(struct x86_cursor *c, size_t k, bool sign, uint64_t *v)
{
	uint64_t x = 0;
	size_t j;

	if (!need(c, k))
		return false;
	for (j = 0; j < k; j++)
		x |= (uint64_t)c->b[c->i + j] << (8 * j);
	c->i += k;
	if (sign && k < 8 && (x >> (8 * k - 1)) & 1)
		x |= ~0ULL << (8 * k);
	*v = x;
	return true;
}

static bool decode_ea16(struct x86_cursor *c, unsigned int mod,
			unsigned int rm, struct x86_ea *ea)
{
	uint64_t disp = 0;

	ea->base = x86_ea16_base[rm];
	ea->index = x86_ea16_index[rm];
	ea->scale = 1;
	if (mod == 0 && rm == 6) {
		ea->base = X86_EA_NONE;
		if (!fetch(c, 2, true, &disp))
			return false;
	} else if (mod == 1) {
		if (!fetch(c, 1, true, &disp))
			return false;
	} else if (mod == 2) {
		if (!fetch(c, 2, true, &disp))
			return false;
	}
	ea->disp = (int64_t)disp;
	if (ea->base == NVMM_X64_GPR_RBP)
		ea->seg = NVMM_X64_SEG_SS;
	return true;
}

static bool decode_ea32(struct x86_cursor *c, enum x86_cpu_mode mode,
			unsigned int mod, unsigned int rm, uint8_t rex,
			struct x86_ea *ea)
{
	uint64_t disp = 0;
	bool disp32 = false;

	ea->index = X86_EA_NONE;
	ea->scale = 1;
	if (rm == 4) {
		uint8_t sib;
		unsigned int idx, base;

		if (!need(c, 1))
			return false;
		sib = c->b[c->i++];
		idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
		base = sib & 7;
		ea->scale = (uint8_t)(1u << (sib >> 6));
		if (idx != 4)
			ea->index = (int8_t)idx;
		if (base == 5 && mod == 0) {
			ea->base = X86_EA_NONE;
			disp32 = true;
		} else {
			ea->base = (int8_t)(base | ((rex & 1) << 3));
		}
	} else if (rm == 5 && mod == 0) {
		ea->base = (mode == X86_MODE_64) ? X86_EA_RIP : X86_EA_NONE;
		disp32 = true;
	} else {
		ea->base = (int8_t)(rm | ((rex & 1) << 3));
	}
	if (mod == 1) {
		if (!fetch(c, 1, true, &disp))
			return false;
	} else if (mod == 2 || disp32) {
		if (!fetch(c, 4, true, &disp))
			return false;
	}
	ea->disp = (int64_t)disp;
	if (ea->base == NVMM_X64_GPR_RSP || ea->base == NVMM_X64_GPR_RBP)
		ea->seg = NVMM_X64_SEG_SS;
	return true;
}

/* A register operand; byte registers 4-7 are AH-BH unless a REX is there. */
static void set_reg(struct x86_opnd *o, unsigned int reg, unsigned int size,
		    uint8_t rex)
{
	o->kind = X86_OPND_REG;
	o->size = (uint8_t)size;
	o->high8 = (size == 1 && rex == 0 && reg >= 4 && reg < 8);
	o->reg = (uint8_t)(o->high8 ? reg - 4 : reg);
}

static bool decode_opnd(struct x86_cursor *c, struct x86_insn *insn,
			unsigned int spec, struct x86_opnd *o)
{
	unsigned int mod = insn->modrm >> 6;
	unsigned int size = insn->opsize;
	uint64_t v;

	switch (spec) {
	case S_NONE:
		o->kind = X86_OPND_NONE;
		return true;
	case S_EB:
	case S_EW:
	case S_ED:
		size = (spec == S_EB) ? 1 : (spec == S_EW) ? 2 : 4;
		/* fall through */
	case S_E:
		if (mod == 3) {
			set_reg(o, (insn->modrm & 7) | ((insn->rex & 1) << 3),
				size, insn->rex);
		} else {
			o->kind = X86_OPND_MEM;
			o->size = (uint8_t)size;
		}
		return true;
	case S_G:
		set_reg(o, ((insn->modrm >> 3) & 7) | ((insn->rex & 4) << 1),
			size, insn->rex);
		return true;
	case S_ACC:
		set_reg(o, NVMM_X64_GPR_RAX, size, insn->rex);
		return true;
	case S_I:
		if (!fetch(c, size > 4 ? 4 : size, true, &insn->imm))
			return false;
		o->kind = X86_OPND_IMM;
		o->size = (uint8_t)size;
		return true;
	case S_IBS:
	case S_IB:
		if (!fetch(c, 1, spec == S_IBS, &insn->imm))
			return false;
		o->kind = X86_OPND_IMM;
		o->size = (uint8_t)(spec == S_IBS ? size : 1);
		return true;
	case S_MOFFS:
		if (!fetch(c, insn->adsize, false, &v))
			return false;
		insn->ea.base = X86_EA_NONE;
		insn->ea.index = X86_EA_NONE;
		insn->ea.scale = 1;
		insn->ea.disp = (int64_t)v;
		o->kind = X86_OPND_MEM;
		o->size = (uint8_t)size;
		return true;
	case S_X:
		o->kind = X86_OPND_STR_SRC;
		o->size = (uint8_t)size;
		return true;
	case S_Y:
		o->kind = X86_OPND_STR_DST;
		o->size = (uint8_t)size;
		return true;
	case S_DX:
		o->kind = X86_OPND_PORT;
		o->size = 2;
		return true;
	}
	return false;
}

int x86_decode_generic(const uint8_t *bytes, size_t n,
		       enum x86_cpu_mode mode, struct x86_insn *insn)
{
	struct x86_cursor c = {
		.b = bytes,
		.n = n < X86_MAX_INSN_LEN ? n : X86_MAX_INSN_LEN,
	};
	const struct x86_desc *d;
	bool opsz = false, adsz = false, more = true;
	unsigned int flags;
	uint8_t b;

	memset(insn, 0, sizeof(*insn));
	insn->ea.seg = NVMM_X64_SEG_DS;
	insn->ea.base = X86_EA_NONE;
	insn->ea.index = X86_EA_NONE;
	insn->ea.scale = 1;

	/* Prefixes. A REX counts only right before the opcode. */
	while (more) {
		if (!need(&c, 1))
			return c.err;
		b = bytes[c.i];
		switch (b) {
		case 0x66:
			opsz = true;
			break;
		case 0x67:
			adsz = true;
			break;
		case 0xF0:
			insn->lock = true;
			break;
		case 0xF2:
			insn->rep = X86_REP_NE;
			break;
		case 0xF3:
			insn->rep = X86_REP_E;
			break;
		case 0x26: case 0x2E: case 0x36: case 0x3E:
			/* Null prefixes in 64-bit mode. */
			if (mode != X86_MODE_64) {
				insn->ea.seg = (uint8_t)((b >> 3) & 3);
				insn->seg_override = true;
			}
			break;
		case 0x64: case 0x65:
			insn->ea.seg = (uint8_t)(NVMM_X64_SEG_FS + (b & 1));
			insn->seg_override = true;
			break;
		default:
			if (mode == X86_MODE_64 && (b & 0xF0) == 0x40) {
				insn->rex = b;
				c.i++;
				continue;
			}
			more = false;
			continue;
		}
		insn->rex = 0;
		c.i++;
	}
	insn->nprefix = (uint8_t)c.i;

	/* Opcode. */
	b = bytes[c.i++];
	if (b == 0x0F) {
		if (!need(&c, 1))
			return c.err;
		b = bytes[c.i++];
		insn->map = 1;
		d = &x86_map0f[b];
	} else {
		d = &x86_map1[b];
	}
	insn->opcode = b;
	flags = d->flags;
	if (d->op == X86_OP_INVALID && !(flags & D_GRP))
		return X86_DEC_INVALID;
	if (((flags & D_I64) && mode == X86_MODE_64) ||
	    ((flags & D_O64) && mode != X86_MODE_64))
		return X86_DEC_INVALID;
	if (flags & D_MODRM) {
		if (!need(&c, 1))
			return c.err;
		insn->modrm = bytes[c.i++];
		insn->has_modrm = true;
	}
	if (flags & D_GRP) {
		d = &x86_groups[d->grp][(insn->modrm >> 3) & 7];
		if (d->op == X86_OP_INVALID)
			return X86_DEC_INVALID;
		flags |= d->flags;
	}
	insn->op = d->op;
	if (flags & D_CC)
		insn->cc = b & 0xF;

	/* Sizes. INS and OUTS ignore REX.W (16 or 32 bits). */
	if (flags & D_BYTE)
		insn->opsize = 1;
	else if (mode == X86_MODE_64 && (insn->rex & 8) &&
		 insn->op != X86_OP_INS && insn->op != X86_OP_OUTS)
		insn->opsize = 8;
	else
		insn->opsize = ((mode == X86_MODE_16) != opsz) ? 2 : 4;
	if (mode == X86_MODE_64)
		insn->adsize = adsz ? 4 : 8;
	else
		insn->adsize = ((mode == X86_MODE_16) != adsz) ? 2 : 4;

	/* The memory operand of ModRM. */
	if ((flags & D_MODRM) && (insn->modrm >> 6) != 3) {
		unsigned int mod = insn->modrm >> 6, rm = insn->modrm & 7;
		uint8_t seg = insn->ea.seg;
		bool ok;

		insn->ea.seg = NVMM_X64_SEG_DS;
		if (insn->adsize == 2)
			ok = decode_ea16(&c, mod, rm, &insn->ea);
		else
			ok = decode_ea32(&c, mode, mod, rm, insn->rex,
					 &insn->ea);
		if (!ok)
			return c.err;
		if (insn->seg_override)
			insn->ea.seg = seg;
	}

	if (!decode_opnd(&c, insn, d->dst, &insn->dst) ||
	    !decode_opnd(&c, insn, d->src, &insn->src))
		return c.err;

	/* LOCK: only on a lockable operation with a memory destination. */
	if (insn->lock && (!((x86_lockable >> insn->op) & 1) ||
			   insn->dst.kind != X86_OPND_MEM))
		return X86_DEC_INVALID;

	insn->len = (uint8_t)c.i;
	return X86_DEC_OK;
}

/*
 * x86_decode_fast()'s operand size (its log2, for FT_INDEX) by D_BYTE |
 * REX.W | 66 (bit 0): byte, else 8 with REX.W, else 2 with 66, else 4.
 */
static const uint8_t x86_fast_lgsize[16] = {
	[0] = 2, [1] = 1, [8] = 3, [9] = 3,
	[D_BYTE] = 0, [D_BYTE | 1] = 0, [D_BYTE | 8] = 0, [D_BYTE | 9] = 0,
};

/* The templates: each form with each operand size (FT_INDEX). */
#define FT(dk, sk, sz)							\
	{ { .opsize = (sz), .adsize = 8, .has_modrm = true,		\
	    .dst = { .kind = X86_OPND_##dk, .size = (sz) },		\
	    .src = { .kind = X86_OPND_##sk,				\
		     .size = X86_OPND_##sk == X86_OPND_NONE ? 0 : (sz) },\
	    .ea = { .base = X86_EA_NONE, .index = X86_EA_NONE,		\
		    .scale = 1, .seg = NVMM_X64_SEG_DS } } }
#define FT4(f, dk, sk)							\
	[FT_INDEX(f, 0)] = FT(dk, sk, 1), [FT_INDEX(f, 1)] = FT(dk, sk, 2),\
	[FT_INDEX(f, 2)] = FT(dk, sk, 4), [FT_INDEX(f, 3)] = FT(dk, sk, 8)
const struct x86_fast_tmpl x86_fast_tmpl[FT_INDEX(NFORMS, 0)] = {
	FT4(F_EG, MEM, REG), FT4(F_GE, REG, MEM), FT4(F_EI, MEM, IMM),
	FT4(F_EIB, MEM, IMM), FT4(F_E, MEM, NONE),
};

/* The immediate's bytes (Iz: at most 4; Ib) by template. */
const uint8_t x86_fast_ilen[FT_INDEX(NFORMS, 0)] = {
	[FT_INDEX(F_EI, 0)] = 1, [FT_INDEX(F_EI, 1)] = 2,
	[FT_INDEX(F_EI, 2)] = 4, [FT_INDEX(F_EI, 3)] = 4,
	[FT_INDEX(F_EIB, 0)] = 1, [FT_INDEX(F_EIB, 1)] = 1,
	[FT_INDEX(F_EIB, 2)] = 1, [FT_INDEX(F_EIB, 3)] = 1,
};

/* x86_modrm32[] (MR_*, x86_decode_inline.h). */
#define MR(m)								\
	((m) >= 0xC0 ? MR_REG :						\
	 ((((m) & 7) == 4) ? MR_SIB : 0) |				\
	 ((m) >= 0x80 ? 4 : (m) >= 0x40 ? 1 :				\
	  ((m) & 7) == 5 ? (MR_ABS | 4) : 0))
#define MR4(m)	MR(m), MR((m) + 1), MR((m) + 2), MR((m) + 3)
#define MR16(m)	MR4(m), MR4((m) + 4), MR4((m) + 8), MR4((m) + 12)
#define MR64(m)	MR16(m), MR16((m) + 16), MR16((m) + 32), MR16((m) + 48)
const uint8_t x86_modrm32[256] = {
	MR64(0), MR64(64), MR64(128), MR64(192),
};

/*
 * The common case, decoded directly: 32- or 64-bit code, at most a 66 and
 * a REX prefix (in that order), a one-byte opcode with a ModRM memory
 * operand (MOV 88-8B and C6/C7, the ALU forms 00-3B and 80-83, TEST, XCHG,
 * F6/F7, FE/FF: D_FAST in the tables). Returns false for anything else,
 * and for anything that would not decode: x86_decode_generic() then does
 * it and says why. The result is the generic decoder's, field for field
 * (test_decode checks). x86_decode_simple() takes the same forms with no
 * prefix and no SIB byte, for less.
 */
static inline __attribute__((always_inline)) bool
x86_decode_fast(const uint8_t *restrict b, size_t n, enum x86_cpu_mode mode,
		struct x86_insn *restrict insn)
{
	const struct x86_desc *d;
	unsigned int i = 0, pfx = 0, rex = 0, t, k, mr, reg, end, op, modrm;
	uint32_t v32;
	int8_t base;

	if (mode == X86_MODE_16 || n < 2)
		return false;
	end = n < X86_MAX_INSN_LEN ? (unsigned int)n : X86_MAX_INSN_LEN;
	op = b[0];
	if (op == 0x66) {
		pfx = 1;
		op = b[++i];
	}
	if ((op & 0xF0) == 0x40 && mode == X86_MODE_64) {
		rex = op;
		pfx |= op & 8;
		if (++i >= end)
			return false;
		op = b[i];
	}
	if (i + 2 > end)
		return false;
	d = &x86_map1[op];
	modrm = b[i + 1];
	mr = x86_modrm32[modrm];
	if (!(d->flags & D_FAST) || (mr & MR_REG))
		return false;
	t = FT_INDEX(0, x86_fast_lgsize[(d->flags & D_BYTE) | pfx]);
	reg = (modrm >> 3) & 7;
	if (d->flags & D_GRP) {
		d = &x86_groups[d->grp][reg];
		if (!(d->flags & D_FAST))
			return false;
	}
	t += FT_INDEX(FT_FORM(d->tmpl), 0);

	/* The form's record, then what the bytes say. */
	memcpy(insn, &x86_fast_tmpl[t].insn, sizeof(*insn));
	insn->op = d->op;
	insn->opcode = (uint8_t)op;
	insn->modrm = (uint8_t)modrm;
	insn->rex = (uint8_t)rex;
	insn->nprefix = (uint8_t)i;
	if (mode != X86_MODE_64)
		insn->adsize = 4;
	x86_fast_g(insn, t, reg, rex);

	/* The memory operand, as decode_ea32() does it. */
	i += 2;
	if (!(mr & (MR_SIB | MR_ABS))) {
		base = (int8_t)((modrm & 7) | ((rex & 1) << 3));
	} else if (mr & MR_ABS) {
		base = mode == X86_MODE_64 ? X86_EA_RIP : X86_EA_NONE;
	} else {
		unsigned int sib, idx;

		if (i >= end)
			return false;
		sib = b[i++];
		idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
		insn->ea.scale = (uint8_t)(1u << (sib >> 6));
		if (idx != 4)
			insn->ea.index = (int8_t)idx;
		if ((sib & 7) == 5 && (mr & 7) == 0) {
			base = X86_EA_NONE;
			mr |= 4;
		} else {
			base = (int8_t)((sib & 7) | ((rex & 1) << 3));
		}
	}
	insn->ea.base = base;
	if (base == NVMM_X64_GPR_RSP || base == NVMM_X64_GPR_RBP)
		insn->ea.seg = NVMM_X64_SEG_SS;
	if (mr & 5) {
		if (i + (mr & 7) > end)
			return false;
		if (mr & 1) {
			insn->ea.disp = (int8_t)b[i++];
		} else {
			memcpy(&v32, b + i, 4);
			insn->ea.disp = (int32_t)v32;
			i += 4;
		}
	}
	k = x86_fast_ilen[t];
	if (k != 0) {
		if (i + k > end)
			return false;
		insn->imm = x86_fast_imm(b + i, k);
		i += k;
	}
	insn->len = (uint8_t)i;
	return true;
}

int x86_decode(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
	       struct x86_insn *insn)
{
	if (x86_decode_simple(bytes, n, mode, insn) ||
	    x86_decode_fast(bytes, n, mode, insn))
		return X86_DEC_OK;
	return x86_decode_generic(bytes, n, mode, insn);
}

/* The decode cache (x86_decode_inline.h). */
__thread struct x86_last x86_last __attribute__((tls_model("initial-exec")));

int x86_decode_slow(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
		    struct x86_insn *insn)
{
	int r = X86_DEC_OK;

	if (!x86_decode_fast(bytes, n, mode, insn))
		r = x86_decode_generic(bytes, n, mode, insn);
	if (r == X86_DEC_OK)
		x86_last.insn = *insn;
	else
		x86_last.tag = 0;
	return r;
}

/* A miss, apart: a hit then saves no registers for it. */
static __attribute__((noinline)) int
x86_decode_miss(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
		struct x86_insn *insn)
{
	return x86_last_miss(bytes, n, mode, insn);
}

int x86_decode_cached(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
		      struct x86_insn *insn)
{
	if (n == 0 || n > X86_MAX_INSN_LEN)
		return x86_decode(bytes, n, mode, insn);
	if (x86_last_hit(bytes, n, mode, insn))
		return X86_DEC_OK;
	return x86_decode_miss(bytes, n, mode, insn);
}
