/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The decoder against a table of encodings in 16, 32 and 64-bit code
 * (length, operation, sizes, operands, memory operand, immediate), the
 * invalid ones, and properties over random byte strings: never a read past
 * the given bytes (a guard page follows them), a consistent answer for
 * every prefix of the bytes, and length <= 15.
 */
#include <stdio.h>

#include "ksft.h"
#include "assist_harness.h"
#include "../../libvmm/x86_decode.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define N	X86_EA_NONE
#define RIPR	X86_EA_RIP
#define ES	NVMM_X64_SEG_ES
#define CS	NVMM_X64_SEG_CS
#define SS	NVMM_X64_SEG_SS
#define DS	NVMM_X64_SEG_DS
#define FS	NVMM_X64_SEG_FS
#define GS	NVMM_X64_SEG_GS
#define K_R	X86_OPND_REG
#define K_M	X86_OPND_MEM
#define K_I	X86_OPND_IMM
#define K_SS	X86_OPND_STR_SRC
#define K_SD	X86_OPND_STR_DST
#define K_P	X86_OPND_PORT

struct op {
	uint8_t kind, size, reg;
	bool high8;
};

struct dcase {
	enum x86_cpu_mode mode;
	const char *hex;
	unsigned int len, op, opsize, adsize;
	struct op dst, src;
	int base, index;
	unsigned int scale, seg;
	int64_t disp;
	uint64_t imm;
	unsigned int rep;
	bool lock;
};

#define M64 X86_MODE_64
#define M32 X86_MODE_32
#define M16 X86_MODE_16
#define OP_(x) X86_OP_##x

static const struct dcase cases[] = {
	/* 64-bit. */
	{ M64, "89 03", 2, OP_(MOV), 4, 8, { K_M, 4 }, { K_R, 4, 0 }, 3, N, 1, DS },
	{ M64, "48 89 03", 3, OP_(MOV), 8, 8, { K_M, 8 }, { K_R, 8, 0 }, 3, N, 1, DS },
	{ M64, "66 89 03", 3, OP_(MOV), 2, 8, { K_M, 2 }, { K_R, 2, 0 }, 3, N, 1, DS },
	{ M64, "4C 89 4C 24 08", 5, OP_(MOV), 8, 8, { K_M, 8 }, { K_R, 8, 9 }, 4, N, 1, SS, 8 },
	{ M64, "8A 23", 2, OP_(MOV), 1, 8, { K_R, 1, 0, true }, { K_M, 1 }, 3, N, 1, DS },
	{ M64, "40 8A 23", 3, OP_(MOV), 1, 8, { K_R, 1, 4 }, { K_M, 1 }, 3, N, 1, DS },
	{ M64, "8B 05 78 56 34 12", 6, OP_(MOV), 4, 8, { K_R, 4, 0 }, { K_M, 4 }, RIPR, N, 1, DS, 0x12345678 },
	{ M64, "67 8B 05 F0 FF FF FF", 7, OP_(MOV), 4, 4, { K_R, 4, 0 }, { K_M, 4 }, RIPR, N, 1, DS, -16 },
	{ M64, "8B 04 25 00 10 00 00", 7, OP_(MOV), 4, 8, { K_R, 4, 0 }, { K_M, 4 }, N, N, 1, DS, 0x1000 },
	{ M64, "43 8B 44 8D 80", 5, OP_(MOV), 4, 8, { K_R, 4, 0 }, { K_M, 4 }, 13, 9, 4, DS, -128 },
	{ M64, "42 8B 04 E0", 4, OP_(MOV), 4, 8, { K_R, 4, 0 }, { K_M, 4 }, 0, 12, 8, DS },
	{ M64, "8B 04 20", 3, OP_(MOV), 4, 8, { K_R, 4, 0 }, { K_M, 4 }, 0, N, 1, DS },
	{ M64, "41 8B 45 00", 4, OP_(MOV), 4, 8, { K_R, 4, 0 }, { K_M, 4 }, 13, N, 1, DS },
	{ M64, "64 48 8B 04 25 28 00 00 00", 9, OP_(MOV), 8, 8, { K_R, 8, 0 }, { K_M, 8 }, N, N, 1, FS, 0x28 },
	{ M64, "65 2E 8B 03", 4, OP_(MOV), 4, 8, { K_R, 4, 0 }, { K_M, 4 }, 3, N, 1, GS },
	{ M64, "48 A1 88 77 66 55 44 33 22 11", 10, OP_(MOV), 8, 8, { K_R, 8, 0 }, { K_M, 8 }, N, N, 1, DS, 0x1122334455667788 },
	{ M64, "67 A2 44 33 22 11", 6, OP_(MOV), 1, 4, { K_M, 1 }, { K_R, 1, 0 }, N, N, 1, DS, 0x11223344 },
	{ M64, "48 C7 03 FF FF FF FF", 7, OP_(MOV), 8, 8, { K_M, 8 }, { K_I, 8 }, 3, N, 1, DS, 0, ~0ULL },
	{ M64, "66 C7 43 02 34 12", 6, OP_(MOV), 2, 8, { K_M, 2 }, { K_I, 2 }, 3, N, 1, DS, 2, 0x1234 },
	{ M64, "C6 03 80", 3, OP_(MOV), 1, 8, { K_M, 1 }, { K_I, 1 }, 3, N, 1, DS, 0, 0xFFFFFFFFFFFFFF80 },
	{ M64, "48 83 03 FF", 4, OP_(ADD), 8, 8, { K_M, 8 }, { K_I, 8 }, 3, N, 1, DS, 0, ~0ULL },
	{ M64, "81 7B 10 00 00 00 80", 7, OP_(CMP), 4, 8, { K_M, 4 }, { K_I, 4 }, 3, N, 1, DS, 16, 0xFFFFFFFF80000000 },
	{ M64, "F0 48 0F B1 0B", 5, OP_(CMPXCHG), 8, 8, { K_M, 8 }, { K_R, 8, 1 }, 3, N, 1, DS, 0, 0, 0, true },
	{ M64, "F0 44 0F C1 03", 5, OP_(XADD), 4, 8, { K_M, 4 }, { K_R, 4, 8 }, 3, N, 1, DS, 0, 0, 0, true },
	{ M64, "48 63 03", 3, OP_(MOVSX), 8, 8, { K_R, 8, 0 }, { K_M, 4 }, 3, N, 1, DS },
	{ M64, "0F B6 03", 3, OP_(MOVZX), 4, 8, { K_R, 4, 0 }, { K_M, 1 }, 3, N, 1, DS },
	{ M64, "66 0F BF 03", 4, OP_(MOVSX), 2, 8, { K_R, 2, 0 }, { K_M, 2 }, 3, N, 1, DS },
	{ M64, "0F BA 2B 21", 4, OP_(BTS), 4, 8, { K_M, 4 }, { K_I, 1 }, 3, N, 1, DS, 0, 0x21 },
	{ M64, "48 0F A3 0B", 4, OP_(BT), 8, 8, { K_M, 8 }, { K_R, 8, 1 }, 3, N, 1, DS },
	{ M64, "0F 9F 03", 3, OP_(SETCC), 1, 8, { K_M, 1 }, { 0 }, 3, N, 1, DS },
	{ M64, "F6 13", 2, OP_(NOT), 1, 8, { K_M, 1 }, { 0 }, 3, N, 1, DS },
	{ M64, "F7 43 04 01 00 00 00", 7, OP_(TEST), 4, 8, { K_M, 4 }, { K_I, 4 }, 3, N, 1, DS, 4, 1 },
	{ M64, "48 FF 0B", 3, OP_(DEC), 8, 8, { K_M, 8 }, { 0 }, 3, N, 1, DS },
	{ M64, "F3 48 A5", 3, OP_(MOVS), 8, 8, { K_SD, 8 }, { K_SS, 8 }, N, N, 1, DS, 0, 0, X86_REP_E },
	{ M64, "F2 AE", 2, OP_(SCAS), 1, 8, { K_R, 1, 0 }, { K_SD, 1 }, N, N, 1, DS, 0, 0, X86_REP_NE },
	{ M64, "65 67 AC", 3, OP_(LODS), 1, 4, { K_R, 1, 0 }, { K_SS, 1 }, N, N, 1, GS },
	{ M64, "48 6D", 2, OP_(INS), 4, 8, { K_SD, 4 }, { K_P, 2 }, N, N, 1, DS },
	/* A REX before a legacy prefix is ignored. */
	{ M64, "48 66 89 03", 4, OP_(MOV), 2, 8, { K_M, 2 }, { K_R, 2, 0 }, 3, N, 1, DS },
	/* 32-bit. */
	{ M32, "89 44 8B 10", 4, OP_(MOV), 4, 4, { K_M, 4 }, { K_R, 4, 0 }, 3, 1, 4, DS, 16 },
	{ M32, "8B 05 78 56 34 12", 6, OP_(MOV), 4, 4, { K_R, 4, 0 }, { K_M, 4 }, N, N, 1, DS, 0x12345678 },
	{ M32, "26 66 8B 45 FC", 5, OP_(MOV), 2, 4, { K_R, 2, 0 }, { K_M, 2 }, 5, N, 1, ES, -4 },
	{ M32, "67 8B 07", 3, OP_(MOV), 4, 2, { K_R, 4, 0 }, { K_M, 4 }, 3, N, 1, DS },
	{ M32, "A1 30 00 00 F0", 5, OP_(MOV), 4, 4, { K_R, 4, 0 }, { K_M, 4 }, N, N, 1, DS, 0xF0000030 },
	{ M32, "82 03 01", 3, OP_(ADD), 1, 4, { K_M, 1 }, { K_I, 1 }, 3, N, 1, DS, 0, 1 },
	{ M32, "36 F3 A6", 3, OP_(CMPS), 1, 4, { K_SS, 1 }, { K_SD, 1 }, N, N, 1, SS, 0, 0, X86_REP_E },
	{ M32, "8A 64 24 01", 4, OP_(MOV), 1, 4, { K_R, 1, 0, true }, { K_M, 1 }, 4, N, 1, SS, 1 },
	/* 16-bit. */
	{ M16, "89 40 04", 3, OP_(MOV), 2, 2, { K_M, 2 }, { K_R, 2, 0 }, 3, 6, 1, DS, 4 },
	{ M16, "8A 03", 2, OP_(MOV), 1, 2, { K_R, 1, 0 }, { K_M, 1 }, 5, 7, 1, SS },
	{ M16, "8B 46 FE", 3, OP_(MOV), 2, 2, { K_R, 2, 0 }, { K_M, 2 }, 5, N, 1, SS, -2 },
	{ M16, "8B 06 34 12", 4, OP_(MOV), 2, 2, { K_R, 2, 0 }, { K_M, 2 }, N, N, 1, DS, 0x1234 },
	{ M16, "8B 86 00 80", 4, OP_(MOV), 2, 2, { K_R, 2, 0 }, { K_M, 2 }, 5, N, 1, SS, -0x8000 },
	{ M16, "3E 8B 46 00", 4, OP_(MOV), 2, 2, { K_R, 2, 0 }, { K_M, 2 }, 5, N, 1, DS },
	{ M16, "66 67 8B 04 4B", 5, OP_(MOV), 4, 4, { K_R, 4, 0 }, { K_M, 4 }, 3, 1, 2, DS },
	{ M16, "A1 34 12", 3, OP_(MOV), 2, 2, { K_R, 2, 0 }, { K_M, 2 }, N, N, 1, DS, 0x1234 },
	{ M16, "66 81 0F 78 56 34 12", 7, OP_(OR), 4, 2, { K_M, 4 }, { K_I, 4 }, 3, N, 1, DS, 0, 0x12345678 },
	{ M16, "81 0F 34 12", 4, OP_(OR), 2, 2, { K_M, 2 }, { K_I, 2 }, 3, N, 1, DS, 0, 0x1234 },
	{ M16, "6E", 1, OP_(OUTS), 1, 2, { K_P, 2 }, { K_SS, 1 }, N, N, 1, DS },
};

static void parse(const char *s, uint8_t *b, size_t *n)
{
	unsigned int x;
	int k;

	*n = 0;
	while (*n < 16 && sscanf(s, " %2x%n", &x, &k) == 1) {
		b[(*n)++] = (uint8_t)x;
		s += k;
	}
}

static void check_opnd(const char *hex, const char *what,
		       const struct x86_opnd *o, const struct op *e)
{
	ck_assert_msg(o->kind == e->kind, "%s: %s kind %u, expected %u", hex,
		      what, o->kind, e->kind);
	if (e->kind == 0)
		return;
	ck_assert_msg(o->size == e->size, "%s: %s size %u, expected %u", hex,
		      what, o->size, e->size);
	if (e->kind == K_R)
		ck_assert_msg(o->reg == e->reg && o->high8 == e->high8,
			      "%s: %s reg %u%s, expected %u%s", hex, what,
			      o->reg, o->high8 ? "h" : "", e->reg,
			      e->high8 ? "h" : "");
}

START_TEST(encodings)
{
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		struct x86_insn insn;
		uint8_t b[16];
		bool mem;

		parse(c->hex, b, &n);
		ck_assert_msg(x86_decode(b, n, c->mode, &insn) == X86_DEC_OK,
			      "%s: not decoded", c->hex);
		ck_assert_msg(insn.len == c->len, "%s: len %u", c->hex,
			      insn.len);
		ck_assert_msg(insn.op == c->op, "%s: op %s", c->hex,
			      x86_op_name(insn.op));
		ck_assert_msg(insn.opsize == c->opsize && insn.adsize == c->adsize,
			      "%s: opsize %u adsize %u", c->hex, insn.opsize,
			      insn.adsize);
		check_opnd(c->hex, "dst", &insn.dst, &c->dst);
		check_opnd(c->hex, "src", &insn.src, &c->src);
		mem = c->dst.kind == K_M || c->src.kind == K_M;
		if (mem) {
			ck_assert_msg(insn.ea.base == c->base &&
				      insn.ea.index == c->index &&
				      insn.ea.scale == c->scale &&
				      insn.ea.disp == c->disp,
				      "%s: ea base %d index %d scale %u disp %ld",
				      c->hex, insn.ea.base, insn.ea.index,
				      insn.ea.scale, (long)insn.ea.disp);
		}
		if (mem || c->dst.kind == K_SS || c->src.kind == K_SS)
			ck_assert_msg(insn.ea.seg == c->seg, "%s: seg %u",
				      c->hex, insn.ea.seg);
		if (c->dst.kind == K_I || c->src.kind == K_I)
			ck_assert_msg(insn.imm == c->imm, "%s: imm %#lx",
				      c->hex, (unsigned long)insn.imm);
		ck_assert_msg(insn.rep == c->rep && insn.lock == c->lock,
			      "%s: rep %u lock %d", c->hex, insn.rep,
			      insn.lock);
		/* Every shorter prefix of it is "short", not invalid. */
		for (size_t k = 0; k < n; k++)
			ck_assert_msg(x86_decode(b, k, c->mode, &insn) ==
				      X86_DEC_SHORT, "%s: %zu bytes", c->hex,
				      k);
	}
	ksft_print("%zu encodings", i);
}
END_TEST

START_TEST(invalid)
{
	static const struct {
		enum x86_cpu_mode mode;
		const char *hex;
	} bad[] = {
		{ M64, "82 03 01" },		/* invalid in 64-bit mode */
		{ M32, "63 03" },		/* ARPL */
		{ M64, "F0 8B 03" },		/* LOCK MOV */
		{ M64, "F0 01 C0" },		/* LOCK, register destination */
		{ M64, "F0 0F A3 03" },		/* LOCK BT */
		{ M64, "F0 38 03" },		/* LOCK CMP */
		{ M64, "F7 33" },		/* DIV */
		{ M64, "FF 13" },		/* CALL */
		{ M64, "C6 F8 00" },		/* XABORT */
		{ M64, "0F BA 03 01" },		/* 0F BA /0 */
		{ M64, "0F 05" },		/* SYSCALL */
		{ M64, "0F 38 00 03" },		/* three-byte map */
		{ M64, "C5 F8 77" },		/* VEX */
		{ M64, "90" },
		{ M64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 03" },
		{ M64, "66 66 66 66 66 66 66 66 66 66 48 C7 03 01 00 00 00" },
	};
	struct x86_insn insn;
	uint8_t b[16];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(bad[i].hex, b, &n);
		ck_assert_msg(x86_decode(b, n, bad[i].mode, &insn) ==
			      X86_DEC_INVALID, "%s decoded", bad[i].hex);
	}
	/* 15 bytes exactly is fine. */
	parse("66 66 66 66 66 66 66 66 66 66 66 66 66 89 03", b, &n);
	ck_assert_int_eq(x86_decode(b, n, M64, &insn), X86_DEC_OK);
	ck_assert_uint_eq(insn.len, 15);
}
END_TEST

/* Random bytes right before a PROT_NONE page: any read past n faults. */
START_TEST(random_bytes_are_safe)
{
	uint8_t *area = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t x = 0x243F6A8885A308D3ULL;
	unsigned long ok = 0, i;

	ck_assert_ptr_ne(area, MAP_FAILED);
	ck_assert_int_eq(mprotect(area + 4096, 4096, PROT_NONE), 0);
	for (i = 0; i < 300000; i++) {
		uint8_t *b = area + 4096 - 16;
		struct x86_insn full, part;
		uint8_t orig[16];
		enum x86_cpu_mode mode = (enum x86_cpu_mode)(i % 3);
		size_t k, j;
		int r;

		for (j = 0; j < 16; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Favour the opcodes and prefixes we know. */
			b[j] = (x & 0x300) ? (uint8_t)x :
			       (uint8_t)"\x66\x67\xF0\xF3\x48\x89\x0F\x81"[x >> 61];
		}
		memcpy(orig, b, 16);
		r = x86_decode(b, 16, mode, &full);
		if (r != X86_DEC_OK) {
			if (r != X86_DEC_INVALID)
				ck_abort_msg("16 bytes: result %d", r);
			continue;
		}
		ok++;
		if (full.len > 15)
			ck_abort_msg("length %u", full.len);
		/* Shorter: "short" below the length, the same at it. */
		for (k = 0; k <= full.len; k++) {
			uint8_t *p = area + 4096 - k;

			memcpy(p, orig, k);
			r = x86_decode(p, k, mode, &part);
			if (k < full.len && r != X86_DEC_SHORT)
				ck_abort_msg("%zu of %u bytes: %d", k, full.len, r);
			if (k == full.len && (r != X86_DEC_OK ||
					      memcmp(&part, &full,
						     sizeof(part)) != 0))
				ck_abort_msg("exact length: differs");
		}
	}
	ksft_print("%lu of 300000 random strings decoded", ok);
	ck_assert_uint_gt(ok, 1000);
	munmap(area, 8192);
}
END_TEST

/*
 * x86_decode() takes a fast path for the common forms: it must give what
 * the generic decoder gives, field for field, for every length of the
 * bytes (and the same failure when they do not decode).
 */
START_TEST(fast_path_is_the_generic_decoder)
{
	static const uint8_t ops[] = {
		0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x10, 0x11, 0x12,
		0x19, 0x1A, 0x21, 0x23, 0x28, 0x29, 0x2B, 0x30, 0x31, 0x33,
		0x38, 0x39, 0x3A, 0x3B, 0x63, 0x80, 0x81, 0x82, 0x83, 0x84,
		0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0xC6,
		0xC7, 0xF6, 0xF7, 0xFE, 0xFF, 0x0F, 0xA1, 0xA4, 0x04, 0x05,
	};
	uint64_t x = 0x13198A2E03707344ULL;
	unsigned long same = 0, fast = 0, i;

	for (i = 0; i < 400000; i++) {
		enum x86_cpu_mode mode = (enum x86_cpu_mode)(i % 3);
		struct x86_insn a, b;
		uint8_t buf[16];
		size_t j = 0, k, n;
		int ra, rb;

		for (k = 0; k < 16; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[k] = (uint8_t)(x >> 17);
		}
		/* Prefixes the fast path takes (and some it does not). */
		switch (x & 7) {
		case 1:
			buf[j++] = 0x66;
			break;
		case 2:
			buf[j++] = (uint8_t)(0x40 | ((x >> 3) & 0xF));
			break;
		case 3:
			buf[j++] = 0x66;
			buf[j++] = (uint8_t)(0x40 | ((x >> 3) & 0xF));
			break;
		case 4:
			buf[j++] = (uint8_t)"\xF0\xF3\x67\x2E\x64\x66\x48\x66"
				[(x >> 7) & 7];
			break;
		default:
			break;
		}
		buf[j] = ops[(x >> 11) % sizeof(ops)];
		if (x & (1ULL << 40))	/* more memory operands */
			buf[j + 1] &= 0xBF;
		n = (x >> 20) % 17;
		ra = x86_decode(buf, n, mode, &a);
		rb = x86_decode_generic(buf, n, mode, &b);
		if (ra != rb)
			ck_abort_msg("%zu bytes %02x %02x %02x %02x, mode %d: "
				     "%d, the generic decoder %d", n, buf[0],
				     buf[1], buf[2], buf[3], mode, ra, rb);
		if (ra != X86_DEC_OK)
			continue;
		if (memcmp(&a, &b, sizeof(a)) != 0)
			ck_abort_msg("%zu bytes %02x %02x %02x %02x, mode %d: "
				     "decoded differently", n, buf[0], buf[1],
				     buf[2], buf[3], mode);
		same++;
		if (mode != X86_MODE_16 && a.map == 0 && !a.lock &&
		    a.rep == 0 && !a.seg_override && a.has_modrm)
			fast++;
	}
	ksft_print("%lu decoded the same (%lu of the fast path's kind)", same,
		   fast);
	ck_assert_uint_gt(fast, 50000);
}
END_TEST

/*
 * x86_decode_cached() gives what x86_decode() gives, whether it hits or
 * not: a pool of instructions met again and again, in the three modes,
 * with bytes past the length that change (they must not count) and the
 * same bytes in another mode (which must).
 */
START_TEST(cache_is_the_decoder)
{
	static const uint8_t forms[][4] = {
		{ 0x89, 0x03 }, { 0x8B, 0x43, 0x10 }, { 0x66, 0x89, 0x03 },
		{ 0x48, 0x89, 0x03 }, { 0xC7, 0x03, 0x01, 0x00 },
		{ 0x88, 0x63, 0x04 }, { 0xF3, 0xA4 }, { 0x0F, 0xB6, 0x03 },
	};
	uint64_t x = 0x243F6A8885A308D3ULL;
	unsigned long hits = 0, i;
	uint8_t pool[32][16];
	size_t pool_n[32];

	for (i = 0; i < 32; i++) {
		size_t k;

		for (k = 0; k < 16; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			pool[i][k] = (uint8_t)(x >> 23);
		}
		memcpy(pool[i], forms[i % 8], 4);
		pool_n[i] = 2 + (x >> 40) % 14;
	}
	for (i = 0; i < 200000; i++) {
		enum x86_cpu_mode mode;
		struct x86_insn a, b;
		uint8_t buf[16];
		size_t n;
		int ra, rb;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf, pool[x % 32], sizeof(buf));
		n = pool_n[x % 32];
		mode = (enum x86_cpu_mode)((x >> 8) % 3);
		if ((x >> 12) & 1)	/* past n: must not matter */
			buf[15] ^= 0x5A;
		if (((x >> 13) & 3) == 0)
			n = 1 + (x >> 20) % 15;
		ra = x86_decode_cached(buf, n, mode, &a);
		rb = x86_decode(buf, n, mode, &b);
		if (ra != rb)
			ck_abort_msg("%zu bytes %02x %02x %02x, mode %d: %d, "
				     "uncached %d", n, buf[0], buf[1], buf[2],
				     mode, ra, rb);
		if (ra == X86_DEC_OK && memcmp(&a, &b, sizeof(a)) != 0)
			ck_abort_msg("%zu bytes %02x %02x %02x, mode %d: "
				     "decoded differently", n, buf[0], buf[1],
				     buf[2], mode);
		/* The same call again is a hit, and the same. */
		if (ra == X86_DEC_OK) {
			ck_assert_int_eq(x86_decode_cached(buf, n, mode, &a),
					 X86_DEC_OK);
			ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
			hits++;
		}
	}
	ksft_print("%lu decoded, each twice through the cache", hits);
	ck_assert_uint_gt(hits, 10000);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(encodings),
		KSFT_TEST(invalid),
		KSFT_TEST(random_bytes_are_safe),
		KSFT_TEST(fast_path_is_the_generic_decoder),
		KSFT_TEST(cache_is_the_decoder),
	};

	return ksft_run("decode", tests, sizeof(tests) / sizeof(tests[0]), 60);
}
