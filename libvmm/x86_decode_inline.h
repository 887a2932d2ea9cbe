/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: the decoder's inline part, for the assists: the one-entry decode
 * cache per thread and the simplest forms (no prefix, no SIB byte), which
 * most MMIO accesses are. Inline in nvmm_assist_mem(), a hit or a miss
 * of those costs no call and no second save of registers (12 and 24
 * instructions less).
 * The rest goes to x86_decode_slow(); the tables are x86_decode.c's.
 */
#ifndef X86_DECODE_INLINE_H
#define X86_DECODE_INLINE_H

#include <string.h>

#include <nvmm.h>

#include "x86_decode.h"
#include "x86_emul.h"

/* Descriptor flags. */
#define D_MODRM	0x01	/* a ModRM byte follows the opcode */
#define D_BYTE	0x02	/* byte operation */
#define D_GRP	0x04	/* ModRM.reg selects a descriptor in groups[grp] */
#define D_I64	0x08	/* invalid in 64-bit mode */
#define D_O64	0x10	/* valid in 64-bit mode only */
#define D_CC	0x20	/* condition code in the opcode's low nibble */
#define D_FAST	0x40	/* one-byte map: the fast paths take it */

/* What an opcode (or a group member) is. 8 bytes: the index is a shift. */
struct x86_desc {
	uint8_t op;
	uint8_t dst;		/* how the operands are encoded (S_*,
				   x86_decode.c) */
	uint8_t src;
	uint8_t flags;
	uint8_t grp;
	/*
	 * D_FAST: the template, FT_INDEX(form, log2 of the operand size
	 * with no prefix); a group opcode gives the size, its member the
	 * form (the two add up).
	 */
	uint8_t tmpl;
} __attribute__((aligned(8)));

/*
 * The forms the fast paths decode: the ModRM memory operand (E) as the
 * destination with the register (G), an immediate of the operand size
 * (Iz), a sign-extended imm8 (Ib) or nothing as source; or G as
 * destination and E as source. With a ModRM byte, in 32 and 64-bit code.
 */
enum { F_NONE, F_EG, F_GE, F_EI, F_EIB, F_E, NFORMS };
#define FT_INDEX(form, lg)	((form) * 4 + (lg))
#define FT_FORM(t)		((t) / 4)
#define FT_LG(t)		((t) % 4)

/*
 * What the generic decoder makes of a form with each operand size in
 * 64-bit code, but for what the bytes tell apart (operation, opcode,
 * ModRM, REX, prefixes, G's register, base, displacement, immediate,
 * length): a fast path starts from a copy, which clears the rest as the
 * generic decoder's memset() does. 64 bytes apart: the index is a shift.
 */
struct x86_fast_tmpl {
	struct x86_insn insn;
} __attribute__((aligned(64)));

/*
 * ModRM in 32/64-bit addressing (x86_modrm32[]): the displacement's
 * length (bits 0-2), a SIB byte follows (MR_SIB), no base register
 * (MR_ABS: disp32 alone, or RIP-relative in 64-bit code), a register
 * operand (MR_REG, mod 3).
 */
#define MR_SIB	0x08
#define MR_ABS	0x10
#define MR_REG	0x20

extern const struct x86_desc x86_map1[256];	/* one-byte opcodes */
extern const struct x86_desc x86_groups[][8];	/* by ModRM.reg */
extern const struct x86_fast_tmpl x86_fast_tmpl[FT_INDEX(NFORMS, 0)];
extern const uint8_t x86_fast_ilen[FT_INDEX(NFORMS, 0)];	/* imm bytes */
extern const uint8_t x86_modrm32[256];

/*
 * The last instruction this thread decoded, keyed by its bytes, their
 * number and the mode.
 */
struct x86_last {
	uint64_t k0;		/* bytes 0-7, zero past n */
	uint64_t k1;		/* n > 8: bytes n-8..n-1; else 0 */
	uint16_t tag;		/* X86_LAST_TAG(n, mode); 0: empty */
	struct x86_insn insn;
};

#define X86_LAST_TAG(n, mode)	((uint16_t)((n) | (mode) << 8))

extern __thread struct x86_last x86_last
	__attribute__((tls_model("initial-exec")));

/*
 * A miss x86_decode_simple() does not take: the other fast forms or the
 * generic decoder, the result put in x86_last (keyed already), or x86_last
 * emptied when it fails.
 */
int x86_decode_slow(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
		    struct x86_insn *insn);

/*
 * The register operand G of template t, if it has one (F_EG: the source,
 * F_GE: the destination): AH-BH for a byte operation with 4-7 and no REX
 * (as set_reg() does it).
 */
static inline __attribute__((always_inline)) void
x86_fast_g(struct x86_insn *insn, unsigned int t, unsigned int reg,
	   unsigned int rex)
{
	struct x86_opnd *g;

	if (FT_FORM(t) == F_EG)
		g = &insn->src;
	else if (FT_FORM(t) == F_GE)
		g = &insn->dst;
	else
		return;
	if (FT_LG(t) == 0 && rex == 0 && reg >= 4) {
		g->reg = (uint8_t)(reg - 4);
		g->high8 = true;
	} else {
		g->reg = (uint8_t)(reg | ((rex & 4) << 1));
	}
}

/* The immediate of k bytes (1, 2 or 4) at b, sign-extended. */
static inline __attribute__((always_inline)) uint64_t
x86_fast_imm(const uint8_t *b, unsigned int k)
{
	uint32_t v32;
	int16_t v16;

	if (k == 4) {
		memcpy(&v32, b, 4);
		return (uint64_t)(int64_t)(int32_t)v32;
	}
	if (k == 2) {
		memcpy(&v16, b, 2);
		return (uint64_t)(int64_t)v16;
	}
	return (uint64_t)(int64_t)(int8_t)b[0];
}

/*
 * The commonest fast forms, straight: 32- or 64-bit code, no prefix, no
 * SIB byte (the operand is [reg], [reg + disp8/32], [disp32] or
 * [rip + disp32]), what a driver's 8 and 32-bit accesses mostly are.
 * Returns false, *insn untouched, for anything else and for too few bytes:
 * x86_decode_fast() then tries. The result is the generic decoder's, field
 * for field (test_decode checks).
 */
static inline __attribute__((always_inline)) bool
x86_decode_simple(const uint8_t *restrict b, size_t n, enum x86_cpu_mode mode,
		  struct x86_insn *restrict insn)
{
	const struct x86_desc *d;
	unsigned int op, modrm, mr, t, k, len;
	uint32_t v32;

	if (mode == X86_MODE_16 || n < 2)
		return false;
	op = b[0];
	modrm = b[1];
	d = &x86_map1[op];
	mr = x86_modrm32[modrm];
	/* Prefixes and 0F are not D_FAST. */
	if (!(d->flags & D_FAST) || (mr & (MR_REG | MR_SIB)))
		return false;
	t = d->tmpl;
	if (d->flags & D_GRP) {
		d = &x86_groups[d->grp][(modrm >> 3) & 7];
		if (!(d->flags & D_FAST))
			return false;
		t += d->tmpl;
	}
	/* The immediate after the displacement: 10 bytes at most. */
	k = x86_fast_ilen[t];
	len = 2 + (mr & 7) + k;
	if (len > n)
		return false;

	/* The form's record, then what the bytes say. */
	memcpy(insn, &x86_fast_tmpl[t].insn, sizeof(*insn));
	insn->len = (uint8_t)len;
	insn->op = d->op;
	insn->opcode = (uint8_t)op;
	insn->modrm = (uint8_t)modrm;
	if (mode != X86_MODE_64)
		insn->adsize = 4;
	x86_fast_g(insn, t, (modrm >> 3) & 7, 0);
	/* Base rBP (mod 1, 2) is SS-relative; rSP needs a SIB byte. */
	if (!(mr & MR_ABS)) {
		insn->ea.base = (int8_t)(modrm & 7);
		if ((modrm & 7) == NVMM_X64_GPR_RBP)
			insn->ea.seg = NVMM_X64_SEG_SS;
	} else if (mode == X86_MODE_64) {
		insn->ea.base = X86_EA_RIP;
	}
	if (mr & 1) {
		insn->ea.disp = (int8_t)b[2];
	} else if (mr & 4) {
		memcpy(&v32, b + 2, 4);
		insn->ea.disp = (int32_t)v32;
	}
	if (k != 0)
		insn->imm = x86_fast_imm(b + len - k, k);
	return true;
}

/*
 * The cache's lookup, n 1 to 15: true on a hit, *insn then the entry's. On
 * a miss the entry takes the new key now, so that the decode keeps nothing
 * for it; the decode then fills the entry in, or empties it (tag 0).
 */
static inline __attribute__((always_inline)) bool
x86_last_hit(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
	     struct x86_insn *insn)
{
	const uint16_t tag = X86_LAST_TAG(n, mode);
	uint64_t k0, k1 = 0;

	/* Fixed-size loads: the buffer has room for 15 bytes. */
	memcpy(&k0, bytes, 8);
	k0 &= x86_size_mask((unsigned int)n);
	if (n > 8)
		memcpy(&k1, bytes + n - 8, 8);
	if (x86_last.k0 == k0 && x86_last.k1 == k1 && x86_last.tag == tag) {
		*insn = x86_last.insn;
		return true;
	}
	x86_last.k0 = k0;
	x86_last.k1 = k1;
	x86_last.tag = tag;
	return false;
}

/* A miss: the simplest forms here, the rest in x86_decode_slow(). */
static inline __attribute__((always_inline)) int
x86_last_miss(const uint8_t *bytes, size_t n, enum x86_cpu_mode mode,
	      struct x86_insn *insn)
{
	if (!x86_decode_simple(bytes, n, mode, insn))
		return x86_decode_slow(bytes, n, mode, insn);
	x86_last.insn = *insn;
	return X86_DEC_OK;
}

/* x86_decode_cached(), inline. */
static inline __attribute__((always_inline)) int
x86_decode_cached_inline(const uint8_t *bytes, size_t n,
			 enum x86_cpu_mode mode, struct x86_insn *insn)
{
	if (n == 0 || n > X86_MAX_INSN_LEN)
		return x86_decode(bytes, n, mode, insn);
	if (x86_last_hit(bytes, n, mode, insn))
		return X86_DEC_OK;
	return x86_last_miss(bytes, n, mode, insn);
}

#endif /* X86_DECODE_INLINE_H */
