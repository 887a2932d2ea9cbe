/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: x86 operations and their flags.
 *
 * Flags follow the Intel SDM / AMD APM definitions, computed from the
 * operands and the result:
 *   carry out of the top bit  (a & b) | ((a | b) & ~r)     addition
 *   borrow out of the top bit (~a & b) | (~(a ^ b) & r)    subtraction
 *   overflow                  (a ^ r) & (b ^ r)            addition
 *                             (a ^ b) & (a ^ r)            subtraction
 *   adjust                    (a ^ b ^ r) & 0x10
 * which hold for any carry or borrow in, so ADC and SBB need no special
 * case. Undefined flags: AF after AND/OR/XOR/TEST is cleared (what Intel
 * and AMD processors do); OF, SF, AF, PF after BT/BTS/BTR/BTC are left
 * unchanged. See libvmm/ASSISTS.md.
 */
#include <nvmm.h>

#include "x86_emul.h"

/* ZF, SF and PF of a result r (masked), msb its sign bit. */
static inline uint64_t x86_szp(uint64_t r, uint64_t msb)
{
	uint64_t f = (r & msb) ? X86_SF : 0;

	if (r == 0)
		f |= X86_ZF;
	if (!__builtin_parity((unsigned int)(r & 0xFF)))
		f |= X86_PF;
	return f;
}

uint64_t x86_alu(unsigned int op, uint64_t a, uint64_t b, unsigned int size,
		 uint64_t *rflags)
{
	const uint64_t m = x86_size_mask(size);
	const uint64_t msb = m ^ (m >> 1);
	uint64_t fl = *rflags, r, f, c;

	a &= m;
	b &= m;
	switch (op) {
	case X86_OP_OR:
		r = a | b;
		goto logic;
	case X86_OP_AND:
	case X86_OP_TEST:
		r = a & b;
		goto logic;
	case X86_OP_XOR:
		r = a ^ b;
logic:
		/* CF OF cleared, AF (undefined) cleared. */
		f = x86_szp(r, msb);
		break;
	case X86_OP_INC:
	case X86_OP_ADD:
	case X86_OP_ADC:
		if (op == X86_OP_INC)
			b = 1;
		c = op == X86_OP_ADC ? (fl & X86_CF) : 0;
		r = (a + b + c) & m;
		f = x86_szp(r, msb) | ((a ^ b ^ r) & X86_AF);
		if (((a & b) | ((a | b) & ~r)) & msb)
			f |= X86_CF;
		if ((a ^ r) & (b ^ r) & msb)
			f |= X86_OF;
		if (op == X86_OP_INC)	/* CF unchanged */
			f = (f & ~X86_CF) | (fl & X86_CF);
		break;
	case X86_OP_NEG:
		b = a;
		a = 0;
		/* fall through */
	case X86_OP_DEC:
	case X86_OP_SUB:
	case X86_OP_CMP:
	case X86_OP_SBB:
		if (op == X86_OP_DEC)
			b = 1;
		c = op == X86_OP_SBB ? (fl & X86_CF) : 0;
		r = (a - b - c) & m;
		f = x86_szp(r, msb) | ((a ^ b ^ r) & X86_AF);
		if (((~a & b) | (~(a ^ b) & r)) & msb)
			f |= X86_CF;
		if ((a ^ b) & (a ^ r) & msb)
			f |= X86_OF;
		if (op == X86_OP_DEC)	/* CF unchanged */
			f = (f & ~X86_CF) | (fl & X86_CF);
		break;
	case X86_OP_NOT:
		return ~a & m;
	default:
		return 0;
	}
	*rflags = (fl & ~X86_ARITH_FLAGS) | f;
	return r;
}

bool x86_cond(unsigned int cc, uint64_t fl)
{
	bool r;

	switch ((cc >> 1) & 7) {
	case 0:
		r = fl & X86_OF;
		break;
	case 1:
		r = fl & X86_CF;
		break;
	case 2:
		r = fl & X86_ZF;
		break;
	case 3:
		r = fl & (X86_CF | X86_ZF);
		break;
	case 4:
		r = fl & X86_SF;
		break;
	case 5:
		r = fl & X86_PF;
		break;
	case 6:
		r = !(fl & X86_SF) != !(fl & X86_OF);
		break;
	default:
		r = (fl & X86_ZF) || (!(fl & X86_SF) != !(fl & X86_OF));
		break;
	}
	return r != (cc & 1);
}

/* By operation: [0] with a register destination, [1] with memory. */
const uint8_t x86_emul_memacc[X86_OP_COUNT][2] = {
#define RW_	{ X86_MEM_R, X86_MEM_R | X86_MEM_W }
	[X86_OP_ADD] = RW_, [X86_OP_OR] = RW_, [X86_OP_ADC] = RW_,
	[X86_OP_SBB] = RW_, [X86_OP_AND] = RW_, [X86_OP_SUB] = RW_,
	[X86_OP_XOR] = RW_, [X86_OP_INC] = RW_, [X86_OP_DEC] = RW_,
	[X86_OP_NEG] = RW_, [X86_OP_NOT] = RW_, [X86_OP_XCHG] = RW_,
	[X86_OP_CMPXCHG] = RW_, [X86_OP_XADD] = RW_, [X86_OP_BTS] = RW_,
	[X86_OP_BTR] = RW_, [X86_OP_BTC] = RW_,
#undef RW_
	[X86_OP_MOV] = { X86_MEM_R, X86_MEM_W },
	[X86_OP_SETCC] = { X86_MEM_W, X86_MEM_W },
	[X86_OP_CMP] = { X86_MEM_R, X86_MEM_R },
	[X86_OP_TEST] = { X86_MEM_R, X86_MEM_R },
	[X86_OP_BT] = { X86_MEM_R, X86_MEM_R },
	[X86_OP_MOVZX] = { X86_MEM_R, X86_MEM_R },
	[X86_OP_MOVSX] = { X86_MEM_R, X86_MEM_R },
	[X86_OP_CMOVCC] = { X86_MEM_R, X86_MEM_R },
};

int64_t x86_emul_bt_disp(const struct x86_insn *insn, const uint64_t *gprs)
{
	unsigned int bits = 8 * insn->opsize;
	int64_t off;

	if (insn->op < X86_OP_BT || insn->op > X86_OP_BTC ||
	    insn->src.kind != X86_OPND_REG || insn->dst.kind != X86_OPND_MEM)
		return 0;
	/* The offset is a signed integer of the operand size. */
	switch (insn->opsize) {
	case 2:
		off = (int16_t)gprs[insn->src.reg];
		break;
	case 4:
		off = (int32_t)gprs[insn->src.reg];
		break;
	default:
		off = (int64_t)gprs[insn->src.reg];
		break;
	}
	/* Floor division: an arithmetic shift, done on unsigned bits. */
	if (off < 0)
		return -(int64_t)((((uint64_t)-(off + 1)) / bits) + 1) *
		       insn->opsize;
	return (off / bits) * insn->opsize;
}

/* The value of a source operand (REG, MEM or IMM). */
static uint64_t x86_opnd_get(const struct x86_insn *insn,
			     const struct x86_opnd *o, const uint64_t *gprs,
			     uint64_t mem)
{
	switch (o->kind) {
	case X86_OPND_REG:
		return x86_reg_get(gprs, o);
	case X86_OPND_MEM:
		return mem & x86_size_mask(o->size);
	case X86_OPND_IMM:
		return insn->imm & x86_size_mask(o->size);
	default:
		return 0;
	}
}

static void x86_opnd_set(const struct x86_opnd *o, uint64_t *gprs,
			 uint64_t *mem, uint64_t v)
{
	if (o->kind == X86_OPND_REG)
		x86_reg_set(gprs, o, v);
	else if (o->kind == X86_OPND_MEM)
		*mem = v & x86_size_mask(o->size);
}

static uint64_t x86_sext(uint64_t v, unsigned int size)
{
	unsigned int sh = 64 - 8 * size;

	if (size >= 8)
		return v;
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

void x86_emul_exec(const struct x86_insn *insn, uint64_t *gprs,
		   uint64_t *mem)
{
	const struct x86_opnd *d = &insn->dst, *s = &insn->src;
	uint64_t *fl = &gprs[NVMM_X64_GPR_RFLAGS];
	uint64_t a = 0, b, r;
	unsigned int bit;

	if (insn->op != X86_OP_MOV && insn->op != X86_OP_SETCC &&
	    insn->op != X86_OP_MOVZX && insn->op != X86_OP_MOVSX)
		a = x86_opnd_get(insn, d, gprs, *mem);
	b = x86_opnd_get(insn, s, gprs, *mem);

	switch (insn->op) {
	case X86_OP_MOV:
	case X86_OP_MOVZX:
		x86_opnd_set(d, gprs, mem, b);
		break;
	case X86_OP_MOVSX:
		x86_opnd_set(d, gprs, mem, x86_sext(b, s->size));
		break;
	case X86_OP_CMOVCC:
		/* A 32-bit CMOV writes (zero-extends) even when false. */
		x86_opnd_set(d, gprs, mem, x86_cond(insn->cc, *fl) ? b : a);
		break;
	case X86_OP_SETCC:
		x86_opnd_set(d, gprs, mem, x86_cond(insn->cc, *fl));
		break;
	case X86_OP_ADD: case X86_OP_OR: case X86_OP_ADC: case X86_OP_SBB:
	case X86_OP_AND: case X86_OP_SUB: case X86_OP_XOR:
	case X86_OP_INC: case X86_OP_DEC: case X86_OP_NEG: case X86_OP_NOT:
		r = x86_alu(insn->op, a, b, d->size, fl);
		x86_opnd_set(d, gprs, mem, r);
		break;
	case X86_OP_CMP:
	case X86_OP_TEST:
		x86_alu(insn->op, a, b, d->size, fl);
		break;
	case X86_OP_XCHG:
		x86_opnd_set(s, gprs, mem, a);
		x86_opnd_set(d, gprs, mem, b);
		break;
	case X86_OP_XADD:
		r = x86_alu(X86_OP_ADD, a, b, d->size, fl);
		x86_opnd_set(s, gprs, mem, a);
		x86_opnd_set(d, gprs, mem, r);
		break;
	case X86_OP_CMPXCHG: {
		struct x86_opnd acc = {
			.kind = X86_OPND_REG, .size = d->size,
			.reg = NVMM_X64_GPR_RAX,
		};

		x86_alu(X86_OP_CMP, x86_reg_get(gprs, &acc), a, d->size, fl);
		if (*fl & X86_ZF) {
			x86_opnd_set(d, gprs, mem, b);
		} else {
			/* The destination is written back unchanged. */
			x86_reg_set(gprs, &acc, a);
			x86_opnd_set(d, gprs, mem, a);
		}
		break;
	}
	case X86_OP_BT: case X86_OP_BTS: case X86_OP_BTR: case X86_OP_BTC:
		bit = (unsigned int)(b & (8 * d->size - 1));
		*fl = (*fl & ~X86_CF) | ((a >> bit) & 1);
		if (insn->op == X86_OP_BTS)
			a |= 1ULL << bit;
		else if (insn->op == X86_OP_BTR)
			a &= ~(1ULL << bit);
		else if (insn->op == X86_OP_BTC)
			a ^= 1ULL << bit;
		else
			break;
		x86_opnd_set(d, gprs, mem, a);
		break;
	default:
		break;
	}
}
