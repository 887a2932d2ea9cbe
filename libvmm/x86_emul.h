/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: x86 operations and their flags, on decoded instructions.
 *
 * Everything here is a pure function of its arguments: registers are the
 * gprs[] array of struct nvmm_x64_state (RIP and RFLAGS included), the
 * memory operand is passed in and out as a value. The assists do the
 * memory accesses around these.
 */
#ifndef X86_EMUL_H
#define X86_EMUL_H

#include <stdbool.h>
#include <stdint.h>

#include "x86_decode.h"

/* RFLAGS. */
#define X86_CF		0x0001ULL
#define X86_PF		0x0004ULL
#define X86_AF		0x0010ULL
#define X86_ZF		0x0040ULL
#define X86_SF		0x0080ULL
#define X86_TF		0x0100ULL
#define X86_IF		0x0200ULL
#define X86_DF		0x0400ULL
#define X86_OF		0x0800ULL
#define X86_VM		0x20000ULL
#define X86_AC		0x40000ULL
#define X86_ARITH_FLAGS	(X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* What an instruction does to its memory operand. */
#define X86_MEM_R	0x1	/* reads it (before any write) */
#define X86_MEM_W	0x2	/* writes it */

/* The low 'size' bytes (size 0-15; 8 and more: all). */
static const uint64_t x86_size_masks[16] = {
	0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFFULL,
	0xFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL,
	~0ULL, ~0ULL, ~0ULL, ~0ULL,
};

static inline uint64_t x86_size_mask(unsigned int size)
{
	return x86_size_masks[size & 15];
}

/* A register operand's value, zero-extended. */
static inline uint64_t x86_reg_get(const uint64_t *gprs,
				   const struct x86_opnd *o)
{
	uint64_t v = gprs[o->reg];

	if (o->high8)
		return (v >> 8) & 0xFF;
	return v & x86_size_mask(o->size);
}

/* The same for GPR 'reg' (0-15) of 'size' bytes, never AH-BH. */
static inline void x86_gpr_set(uint64_t *gprs, unsigned int reg,
			       unsigned int size, uint64_t v)
{
	uint64_t m;

	if (size >= 4) {
		gprs[reg] = v & x86_size_mask(size);
		return;
	}
	m = x86_size_mask(size);
	gprs[reg] = (gprs[reg] & ~m) | (v & m);
}

/* Write a register operand as the CPU does: 8/16-bit writes merge, 32-bit
 * writes zero-extend, 64-bit writes replace. */
static inline void x86_reg_set(uint64_t *gprs, const struct x86_opnd *o,
			       uint64_t v)
{
	if (o->high8) {
		gprs[o->reg] = (gprs[o->reg] & ~0xFF00ULL) |
			       ((v & 0xFF) << 8);
		return;
	}
	x86_gpr_set(gprs, o->reg, o->size, v);
}

/*
 * The ALU: ADD OR ADC SBB AND SUB XOR CMP TEST INC DEC NEG NOT on 'size'
 * bytes. Returns the result (CMP and TEST: the result they discard) and
 * updates CF PF AF ZF SF OF in *rflags as the instruction defines them
 * (AF, undefined after AND/OR/XOR/TEST, is cleared; NOT touches no flag).
 */
uint64_t x86_alu(unsigned int op, uint64_t a, uint64_t b, unsigned int size,
		 uint64_t *rflags);

/*
 * x86_alu() for AND, OR, XOR and TEST (the bit operations on device
 * registers), inline: CF OF AF cleared, ZF SF PF from the result.
 */
static inline uint64_t x86_alu_logic(unsigned int op, uint64_t a, uint64_t b,
				     unsigned int size, uint64_t *rflags)
{
	const uint64_t m = x86_size_mask(size);
	uint64_t r, f;

	r = (op == X86_OP_OR ? a | b : op == X86_OP_XOR ? a ^ b : a & b) & m;
	f = (r & (m ^ (m >> 1))) ? X86_SF : 0;
	if (r == 0)
		f |= X86_ZF;
	if (!__builtin_parity((unsigned int)(r & 0xFF)))
		f |= X86_PF;
	*rflags = (*rflags & ~X86_ARITH_FLAGS) | f;
	return r;
}

/* Condition code cc (0-15: O NO B AE E NE BE A S NS P NP L GE LE G). */
bool x86_cond(unsigned int cc, uint64_t rflags);

/* X86_MEM_* for a non-string instruction with a memory operand. */
extern const uint8_t x86_emul_memacc[X86_OP_COUNT][2];

static inline unsigned int x86_emul_mem_access(const struct x86_insn *insn)
{
	return x86_emul_memacc[insn->op][insn->dst.kind == X86_OPND_MEM];
}

/*
 * The bit-string displacement of BT/BTS/BTR/BTC with a register bit offset
 * and a memory operand: the bytes to add to the effective address. 0 for
 * every other instruction.
 */
int64_t x86_emul_bt_disp(const struct x86_insn *insn, const uint64_t *gprs);

/*
 * Execute a non-string instruction. *mem holds the memory operand when
 * x86_emul_mem_access() says it is read; on return it holds the value to
 * write when X86_MEM_W is set. Registers and RFLAGS in gprs[] are updated;
 * RIP is not.
 */
void x86_emul_exec(const struct x86_insn *insn, uint64_t *gprs,
		   uint64_t *mem);

#endif /* X86_EMUL_H */
