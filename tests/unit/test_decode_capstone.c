/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Differential test of the decoder against an independent one, Capstone:
 * a generated corpus of every opcode (and group digit) we decode, in 16,
 * 32 and 64-bit code, with prefix combinations (operand/address size,
 * segments, LOCK, REP, REX), every ModRM byte, SIB bytes and random
 * displacements and immediates. For each instruction we accept, Capstone
 * must agree on the length and on every operand: kind, size, register,
 * base/index/scale/displacement, segment override, immediate.
 *
 * Two known Capstone 4 divergences are allowed, counted and printed:
 * - 64-bit mode: after FS/GS, a CS/DS/ES/SS prefix (a null prefix there)
 *   makes Capstone report that segment; the CPU keeps FS/GS (checked on
 *   hardware: 64 3E 48 8B 04 25 00 00 00 00 reads fs:[0]), as we do.
 * - 66 together with F2/F3 (66 F3 A5 is "rep movsd" for Capstone, F3 66 A5
 *   "rep movsw"; the CPU does movsw for both), and on other instructions:
 *   Capstone decodes
 *   the 16-bit length but shows some operands with the unprefixed size
 *   ("add dword ptr [eax], ax", "66 F2 05 iw": "add eax, imm"); sizes are
 *   not compared then, registers and immediates still are; INS/OUTS show
 *   the unprefixed size, MOV moffs is rejected.
 * - INS/OUTS with both 67 and REX.W: Capstone shows 16-bit operands
 *   ("67 4C 6D": insw) where the operand size is 32 bits (REX.W and the
 *   address size do not change it).
 * - 63 /r (MOVSXD) without REX.W: Capstone shows a 64-bit destination; the
 *   CPU (and we) use the operand size (32 or 16 bits).
 *
 * Environment: CAPSTONE_SEED.
 */
/* Capstone has an X86_OP_INVALID and an enum x86_insn of its own. */
#define X86_OP_INVALID X86_OP_INVALID_libvmm
#define x86_insn libvmm_insn
#include "../../libvmm/x86_decode.h"
#undef X86_OP_INVALID
#undef x86_insn

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvmm.h>

#include "ksft.h"

static const x86_reg regs64[16] = {
	X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP,
	X86_REG_RBP, X86_REG_RSI, X86_REG_RDI, X86_REG_R8, X86_REG_R9,
	X86_REG_R10, X86_REG_R11, X86_REG_R12, X86_REG_R13, X86_REG_R14,
	X86_REG_R15,
};
static const x86_reg regs32[16] = {
	X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX, X86_REG_ESP,
	X86_REG_EBP, X86_REG_ESI, X86_REG_EDI, X86_REG_R8D, X86_REG_R9D,
	X86_REG_R10D, X86_REG_R11D, X86_REG_R12D, X86_REG_R13D, X86_REG_R14D,
	X86_REG_R15D,
};
static const x86_reg regs16[16] = {
	X86_REG_AX, X86_REG_CX, X86_REG_DX, X86_REG_BX, X86_REG_SP,
	X86_REG_BP, X86_REG_SI, X86_REG_DI, X86_REG_R8W, X86_REG_R9W,
	X86_REG_R10W, X86_REG_R11W, X86_REG_R12W, X86_REG_R13W, X86_REG_R14W,
	X86_REG_R15W,
};
static const x86_reg regs8[16] = {
	X86_REG_AL, X86_REG_CL, X86_REG_DL, X86_REG_BL, X86_REG_SPL,
	X86_REG_BPL, X86_REG_SIL, X86_REG_DIL, X86_REG_R8B, X86_REG_R9B,
	X86_REG_R10B, X86_REG_R11B, X86_REG_R12B, X86_REG_R13B, X86_REG_R14B,
	X86_REG_R15B,
};
static const x86_reg regs8h[4] = {
	X86_REG_AH, X86_REG_CH, X86_REG_DH, X86_REG_BH,
};
static const x86_reg segs[6] = {
	X86_REG_ES, X86_REG_CS, X86_REG_SS, X86_REG_DS, X86_REG_FS, X86_REG_GS,
};

static x86_reg cs_gpr(unsigned int reg, unsigned int size, bool high8)
{
	if (high8)
		return regs8h[reg & 3];
	switch (size) {
	case 1:
		return regs8[reg & 15];
	case 2:
		return regs16[reg & 15];
	case 4:
		return regs32[reg & 15];
	default:
		return regs64[reg & 15];
	}
}

static x86_reg cs_base(int r, unsigned int adsize)
{
	if (r == X86_EA_NONE)
		return X86_REG_INVALID;
	if (r == X86_EA_RIP)
		return adsize == 8 ? X86_REG_RIP : X86_REG_EIP;
	return cs_gpr((unsigned int)r, adsize, false);
}

static uint64_t rng = 0x1234567887654321ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct tally {
	unsigned long tried, ours, compared, bad, known;
};

/* What Capstone 4 gets wrong (see the top of the file). */
struct quirks {
	bool null_seg;		/* report the last segment prefix instead */
	bool mem_size;		/* do not compare the memory operand size */
	bool movsxd;		/* 63 /r: the destination shown as 64-bit */
	unsigned int last_seg;
};

static struct quirks cs_quirks(const uint8_t *b, const struct libvmm_insn *in,
			       enum x86_cpu_mode mode)
{
	struct quirks q = { false, false, false, 0 };
	bool o66 = false, rep = false;
	unsigned int i;

	for (i = 0; i < in->nprefix; i++) {
		switch (b[i]) {
		case 0x66:
			o66 = true;
			break;
		case 0xF2: case 0xF3:
			rep = true;
			break;
		case 0x26: case 0x2E: case 0x36: case 0x3E:
			q.last_seg = (b[i] >> 3) & 3;
			q.null_seg = mode == X86_MODE_64 && in->seg_override;
			break;
		case 0x64: case 0x65:
			q.null_seg = false;
			break;
		}
	}
	q.mem_size = (o66 && rep) ||
		     ((in->op == X86_OP_INS || in->op == X86_OP_OUTS) &&
		      (in->rex & 8) && in->adsize == 4);
	q.movsxd = in->map == 0 && in->opcode == 0x63 && in->opsize != 8;
	return q;
}

static char first_bad[8][160];

static void report(struct tally *t, const uint8_t *b, size_t n,
		   const char *why)
{
	if (t->bad < 8) {
		size_t i, o;

		o = (size_t)snprintf(first_bad[t->bad], 160, "%s:", why);
		for (i = 0; i < n && o < 150; i++)
			o += (size_t)snprintf(first_bad[t->bad] + o, 160 - o,
					      " %02x", b[i]);
	}
	t->bad++;
}

/* Our operand against Capstone's; false when they differ. */
static bool same_opnd(const struct libvmm_insn *in, const struct x86_opnd *o,
		      const cs_x86_op *c, enum x86_cpu_mode mode,
		      const struct quirks *q)
{
	uint64_t amask = in->adsize == 8 ? ~0ULL :
			 (1ULL << (8 * in->adsize)) - 1;
	uint64_t omask = o->size >= 8 ? ~0ULL : (1ULL << (8 * o->size)) - 1;

	switch (o->kind) {
	case X86_OPND_REG:
		if (q->movsxd && o == &in->dst)
			return c->type == X86_OP_REG &&
			       c->reg == cs_gpr(o->reg, 8, false);
		if (q->mem_size && o->size == 2)	/* shown 32-bit */
			return c->type == X86_OP_REG &&
			       (c->reg == cs_gpr(o->reg, 2, false) ||
				c->reg == cs_gpr(o->reg, 4, false));
		return c->type == X86_OP_REG &&
		       c->reg == cs_gpr(o->reg, o->size, o->high8) &&
		       c->size == o->size;
	case X86_OPND_PORT:
		return c->type == X86_OP_REG && c->reg == X86_REG_DX;
	case X86_OPND_IMM:
		return c->type == X86_OP_IMM &&
		       (((uint64_t)c->imm ^ in->imm) & omask) == 0;
	case X86_OPND_MEM:
		if (c->type != X86_OP_MEM ||
		    (c->size != o->size && !q->mem_size) ||
		    c->mem.base != cs_base(in->ea.base, in->adsize) ||
		    c->mem.index != cs_base(in->ea.index, in->adsize) ||
		    (((uint64_t)c->mem.disp - (uint64_t)in->ea.disp) & amask))
			return false;
		if (in->ea.index != X86_EA_NONE &&
		    (unsigned int)c->mem.scale != in->ea.scale)
			return false;
		break;
	case X86_OPND_STR_SRC:
	case X86_OPND_STR_DST:
		if (c->type != X86_OP_MEM ||
		    (c->size != o->size && !q->mem_size) ||
		    c->mem.base != cs_gpr(o->kind == X86_OPND_STR_SRC ?
					  NVMM_X64_GPR_RSI : NVMM_X64_GPR_RDI,
					  in->adsize, false))
			return false;
		if (o->kind == X86_OPND_STR_DST)
			return true;
		break;
	default:
		return false;
	}
	/* A segment override we honour must be the one Capstone sees. */
	if (q->null_seg)
		return c->mem.segment == segs[q->last_seg];
	if (in->seg_override && !(mode == X86_MODE_64 &&
				  in->ea.seg < NVMM_X64_SEG_FS))
		return c->mem.segment == segs[in->ea.seg];
	return true;
}

static void compare(csh h, const uint8_t *b, size_t n, enum x86_cpu_mode mode,
		    struct tally *t)
{
	struct libvmm_insn in;
	cs_insn *ci;
	size_t cnt;
	const cs_x86 *x;
	unsigned int nops;
	struct quirks q;

	t->tried++;
	if (x86_decode(b, n, mode, &in) != X86_DEC_OK)
		return;
	t->ours++;
	q = cs_quirks(b, &in, mode);
	if (q.null_seg || q.mem_size || q.movsxd)
		t->known++;
	cnt = cs_disasm(h, b, n, 0x1000, 1, &ci);
	if (cnt == 0) {
		if (!q.mem_size)
			report(t, b, n, "capstone rejects");
		return;
	}
	t->compared++;
	x = &ci->detail->x86;
	nops = (in.dst.kind != X86_OPND_NONE) + (in.src.kind != X86_OPND_NONE);
	if (ci->size != in.len)
		report(t, b, n, "length");
	else if (x->op_count != nops)
		report(t, b, n, "operand count");
	else if ((nops > 0 &&
		  !same_opnd(&in, &in.dst, &x->operands[0], mode, &q)) ||
		 (nops > 1 &&
		  !same_opnd(&in, &in.src, &x->operands[1], mode, &q)))
		report(t, b, n, "operands");
	cs_free(ci, cnt);
}

static const uint8_t prefixes[] = {
	0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65,
};
static const uint8_t rexes[] = { 0x40, 0x41, 0x42, 0x44, 0x48, 0x4C, 0x4F };

/* Build: prefixes, [REX], opcode (map), ModRM, then random bytes. */
static size_t build(uint8_t *b, enum x86_cpu_mode mode, unsigned int map,
		    unsigned int opc, unsigned int modrm, unsigned int npfx)
{
	size_t n = 0, i;

	for (i = 0; i < npfx; i++) {
		uint8_t p = prefixes[rnd() % sizeof(prefixes)];

		/* F0 with F2/F3 is HLE and capstone prints it oddly; LOCK
		   is kept apart from REP in the corpus. */
		if (p == 0xF0 && memchr(b, 0xF2, n) == NULL &&
		    memchr(b, 0xF3, n) == NULL)
			b[n++] = p;
		else if (p != 0xF0 && ((p != 0xF2 && p != 0xF3) ||
					memchr(b, 0xF0, n) == NULL))
			b[n++] = p;
	}
	if (mode == X86_MODE_64 && (rnd() & 1))
		b[n++] = rexes[rnd() % sizeof(rexes)];
	if (map)
		b[n++] = 0x0F;
	b[n++] = (uint8_t)opc;
	b[n++] = (uint8_t)modrm;
	while (n < 15)
		b[n++] = (uint8_t)rnd();
	return n;
}

static void run_mode(enum x86_cpu_mode mode, cs_mode cmode,
		     struct tally *t)
{
	csh h;
	unsigned int map, opc, modrm, k;
	uint8_t b[16];

	ck_assert_int_eq(cs_open(CS_ARCH_X86, cmode, &h), CS_ERR_OK);
	ck_assert_int_eq(cs_option(h, CS_OPT_DETAIL, CS_OPT_ON), CS_ERR_OK);
	for (map = 0; map < 2; map++) {
		for (opc = 0; opc < 256; opc++) {
			struct libvmm_insn in;

			/* Only the opcodes we claim: probe with a plain
			   memory ModRM for each digit. */
			bool claimed = false;

			for (k = 0; k < 8 && !claimed; k++) {
				size_t n = build(b, mode, map, opc, k << 3, 0);

				claimed = x86_decode(b, n, mode, &in) ==
					  X86_DEC_OK;
			}
			if (!claimed)
				continue;
			for (modrm = 0; modrm < 256; modrm++) {
				for (k = 0; k < 6; k++) {
					size_t n = build(b, mode, map, opc,
							 modrm, k == 0 ? 0 :
							 (unsigned int)(rnd() % 4));

					compare(h, b, n, mode, t);
				}
			}
		}
	}
	cs_close(&h);
}

static void summary(const char *mode, struct tally *t)
{
	unsigned long i;

	ksft_print("%s: %lu generated, %lu decoded by us, %lu compared, "
		   "%lu differences (%lu with a known Capstone quirk)", mode,
		   t->tried, t->ours, t->compared, t->bad, t->known);
	for (i = 0; i < t->bad && i < 8; i++)
		ksft_print("  %s", first_bad[i]);
	ck_assert_uint_gt(t->compared, 10000);
	ck_assert_uint_eq(t->bad, 0);
}

static void seed(void)
{
	const char *e = getenv("CAPSTONE_SEED");

	if (e != NULL)
		rng = strtoull(e, NULL, 0) | 1;
}

START_TEST(capstone_64)
{
	struct tally t = { 0, 0, 0, 0, 0 };

	seed();
	run_mode(X86_MODE_64, CS_MODE_64, &t);
	summary("64-bit", &t);
}
END_TEST

START_TEST(capstone_32)
{
	struct tally t = { 0, 0, 0, 0, 0 };

	seed();
	run_mode(X86_MODE_32, CS_MODE_32, &t);
	summary("32-bit", &t);
}
END_TEST

START_TEST(capstone_16)
{
	struct tally t = { 0, 0, 0, 0, 0 };

	seed();
	run_mode(X86_MODE_16, CS_MODE_16, &t);
	summary("16-bit", &t);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(capstone_64),
		KSFT_TEST(capstone_32),
		KSFT_TEST(capstone_16),
	};

	return ksft_run("decode_capstone", tests,
			sizeof(tests) / sizeof(tests[0]), 240);
}
