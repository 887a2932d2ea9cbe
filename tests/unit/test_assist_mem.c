/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm_assist_mem() on a mock VCPU: a table of instructions in every CPU
 * mode against MMIO (each run twice: with the exit's instruction bytes and
 * fetching them from guest memory), RAM/ROM routing, page crossings,
 * REP string batching, and the failures that must leave the state alone.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "ksft.h"
#include "assist_harness.h"

/* The case table leaves trailing members zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define M	0xF0000010ULL
#define NOREG	(-1)
#define RFL	NVMM_X64_GPR_RFLAGS
#define RAX	NVMM_X64_GPR_RAX
#define RCX	NVMM_X64_GPR_RCX
#define RDX	NVMM_X64_GPR_RDX
#define RBX	NVMM_X64_GPR_RBX
#define RBP	NVMM_X64_GPR_RBP
#define RSI	NVMM_X64_GPR_RSI
#define RDI	NVMM_X64_GPR_RDI
#define R8	NVMM_X64_GPR_R8
#define R9	NVMM_X64_GPR_R9
#define RIP	NVMM_X64_GPR_RIP

#define CF 0x1
#define PF 0x4
#define AF 0x10
#define ZF 0x40
#define SF 0x80
#define DF 0x400
#define OF 0x800
#define ARITH (CF | PF | AF | ZF | SF | OF)

struct rv {
	int r;
	uint64_t v;
};

struct mcase {
	const char *name;
	enum g_mode mode;
	const char *hex;
	uint64_t gpa;		/* the memory operand */
	uint64_t mem;		/* 8 bytes there, before */
	struct rv in[5];	/* registers before (r = 0 with v = 0: none) */
	uint64_t mem_out;	/* 8 bytes there, after */
	struct rv out[2];	/* registers after */
	uint64_t fmask, fval;	/* RFLAGS after, masked */
	uint64_t segbase[6];	/* segment bases (0: flat) */
	bool exit_bytes_only;	/* not fetchable (RIP outside RAM) */
};

static size_t parse_hex(const char *s, uint8_t *out)
{
	size_t n = 0;
	unsigned int b;
	int k;

	while (n < 16 && sscanf(s, " %2x%n", &b, &k) == 1) {
		out[n++] = (uint8_t)b;
		s += k;
	}
	return n;
}

#define R16 { 0, 0, 0xF0000000, 0xF0000000, 0, 0 }	/* DS, SS, ES */
#define R16E { 0, 0xF0000000, 0xF0000000, 0xF0000000, 0, 0 }

static const struct mcase cases[] = {
	/* 64-bit mode. */
	{ "mov [rbx],eax", GM_LONG64, "89 03", M, 0x1111111111111111,
	  { { RBX, M }, { RAX, 0xAABBCCDD11223344 } }, 0x1111111111223344 },
	{ "mov rax,[rbx]", GM_LONG64, "48 8B 03", M, 0x0123456789ABCDEF,
	  { { RBX, M } }, 0x0123456789ABCDEF, { { RAX, 0x0123456789ABCDEF } } },
	{ "mov eax,[rbx] zero-extends", GM_LONG64, "8B 03", M,
	  0x0123456789ABCDEF, { { RBX, M }, { RAX, ~0ULL } },
	  0x0123456789ABCDEF, { { RAX, 0x89ABCDEF } } },
	{ "mov ax,[rbx] merges", GM_LONG64, "66 8B 03", M, 0x0123456789ABCDEF,
	  { { RBX, M }, { RAX, ~0ULL } }, 0x0123456789ABCDEF,
	  { { RAX, 0xFFFFFFFFFFFFCDEF } } },
	{ "mov ah,[rbx]", GM_LONG64, "8A 23", M, 0xEF,
	  { { RBX, M }, { RAX, 0x1111 } }, 0xEF, { { RAX, 0xEF11 } } },
	{ "mov sil,[rbx]", GM_LONG64, "40 8A 33", M, 0xEF,
	  { { RBX, M }, { RSI, 0x2222 } }, 0xEF, { { RSI, 0x22EF } } },
	{ "mov r9b,[rbx]", GM_LONG64, "44 8A 0B", M, 0xEF,
	  { { RBX, M }, { R9, 0xFFFF } }, 0xEF, { { R9, 0xFFEF } } },
	{ "mov byte [rbx+8],0x5a", GM_LONG64, "C6 43 08 5A", M + 8,
	  0x1111111111111111, { { RBX, M } }, 0x111111111111115A },
	{ "mov qword [rbx],imm32", GM_LONG64, "48 C7 03 78 56 34 F2", M, 0,
	  { { RBX, M } }, 0xFFFFFFFFF2345678 },
	{ "mov word [rbx],imm16", GM_LONG64, "66 C7 03 34 12", M, 0,
	  { { RBX, M } }, 0x1234 },
	{ "movabs eax,[moffs64]", GM_LONG64,
	  "A1 20 00 00 F0 00 00 00 00", 0xF0000020, 0xCAFEBABEDEADBEEF,
	  { { RAX, ~0ULL } }, 0xCAFEBABEDEADBEEF, { { RAX, 0xDEADBEEF } } },
	{ "movabs [moffs64],al", GM_LONG64, "A2 20 00 00 F0 00 00 00 00",
	  0xF0000020, 0, { { RAX, 0x77 } }, 0x77 },
	{ "movzx eax,byte [rbx]", GM_LONG64, "0F B6 03", M, 0x80,
	  { { RBX, M }, { RAX, ~0ULL } }, 0x80, { { RAX, 0x80 } } },
	{ "movsx rax,word [rbx]", GM_LONG64, "48 0F BF 03", M, 0x8001,
	  { { RBX, M } }, 0x8001, { { RAX, 0xFFFFFFFFFFFF8001 } } },
	{ "movsxd rax,dword [rbx]", GM_LONG64, "48 63 03", M, 0x80000000,
	  { { RBX, M } }, 0x80000000, { { RAX, 0xFFFFFFFF80000000 } } },
	{ "movsx ecx,byte [rbx]", GM_LONG64, "0F BE 0B", M, 0xFE,
	  { { RBX, M }, { RCX, ~0ULL } }, 0xFE, { { RCX, 0xFFFFFFFE } } },
	{ "or dword [rbx],0x80", GM_LONG64, "81 0B 80 00 00 00", M,
	  0x0000000100000001, { { RBX, M }, { RFL, 0x2 | CF | OF | ZF } },
	  0x0000000100000081, { { NOREG, 0 } }, ARITH, PF },
	{ "add [rbx],al", GM_LONG64, "00 03", M, 0x7F,
	  { { RBX, M }, { RAX, 1 } }, 0x80, { { NOREG, 0 } }, ARITH,
	  OF | SF | AF },
	{ "add [rbx],eax", GM_LONG64, "01 03", M, 0xAAAAAAAAFFFFFFFF,
	  { { RBX, M }, { RAX, 1 } }, 0xAAAAAAAA00000000, { { NOREG, 0 } },
	  ARITH, CF | ZF | AF | PF },
	{ "sub rax,[rbx]", GM_LONG64, "48 2B 03", M, 7,
	  { { RBX, M }, { RAX, 5 } }, 7, { { RAX, 0xFFFFFFFFFFFFFFFE } },
	  ARITH, CF | SF | AF },
	{ "adc [rbx],ecx", GM_LONG64, "11 0B", M, 0x7FFFFFFF,
	  { { RBX, M }, { RFL, 0x2 | CF } }, 0x80000000, { { NOREG, 0 } },
	  ARITH, OF | SF | AF | PF },
	{ "sbb [rbx],dl", GM_LONG64, "18 13", M, 0,
	  { { RBX, M }, { RFL, 0x2 | CF } }, 0xFF, { { NOREG, 0 } }, ARITH,
	  CF | SF | AF | PF },
	{ "cmp [rbx],ecx", GM_LONG64, "39 0B", M, 3,
	  { { RBX, M }, { RCX, 3 } }, 3, { { NOREG, 0 } }, ARITH, ZF | PF },
	{ "cmp ecx,[rbx]", GM_LONG64, "3B 0B", M, 5,
	  { { RBX, M }, { RCX, 3 } }, 5, { { RCX, 3 } }, ARITH,
	  CF | SF | AF },
	{ "test [rbx],edx", GM_LONG64, "85 13", M, 0xF0,
	  { { RBX, M }, { RDX, 0x0F }, { RFL, 0x2 | CF | OF } }, 0xF0,
	  { { NOREG, 0 } }, CF | PF | ZF | SF | OF, ZF | PF },
	{ "test byte [rbx],0x80", GM_LONG64, "F6 03 80", M, 0x80,
	  { { RBX, M } }, 0x80, { { NOREG, 0 } }, CF | PF | ZF | SF | OF, SF },
	{ "and word [rbx],0xff", GM_LONG64, "66 81 23 FF 00", M, 0x1234,
	  { { RBX, M } }, 0x0034, { { NOREG, 0 } }, CF | PF | ZF | SF | OF, 0 },
	{ "xor qword [rbx],-1", GM_LONG64, "48 83 33 FF", M, 0x0F0F,
	  { { RBX, M } }, 0xFFFFFFFFFFFFF0F0, { { NOREG, 0 } },
	  CF | PF | ZF | SF | OF, SF | PF },
	{ "inc word [rbx]", GM_LONG64, "66 FF 03", M, 0x7FFF,
	  { { RBX, M }, { RFL, 0x2 | CF } }, 0x8000, { { NOREG, 0 } }, ARITH,
	  CF | OF | SF | AF | PF },
	{ "dec byte [rbx]", GM_LONG64, "FE 0B", M, 0,
	  { { RBX, M } }, 0xFF, { { NOREG, 0 } }, ARITH, SF | AF | PF },
	{ "neg dword [rbx]", GM_LONG64, "F7 1B", M, 1,
	  { { RBX, M } }, 0xFFFFFFFF, { { NOREG, 0 } }, ARITH,
	  CF | SF | AF | PF },
	{ "not qword [rbx]", GM_LONG64, "48 F7 13", M, 0x00FF00FF00FF00FF,
	  { { RBX, M }, { RFL, 0x2 | CF | ZF } }, 0xFF00FF00FF00FF00,
	  { { NOREG, 0 } }, ARITH, CF | ZF },
	{ "xchg [rbx],eax", GM_LONG64, "87 03", M, 0x1111111122222222,
	  { { RBX, M }, { RAX, 0xFFFFFFFF33333333 } }, 0x1111111133333333,
	  { { RAX, 0x22222222 } } },
	{ "lock xadd [rbx],ecx", GM_LONG64, "F0 0F C1 0B", M, 10,
	  { { RBX, M }, { RCX, 5 } }, 15, { { RCX, 10 } }, ARITH, PF },
	{ "lock cmpxchg equal", GM_LONG64, "F0 0F B1 0B", M, 7,
	  { { RBX, M }, { RCX, 9 }, { RAX, 0xFFFFFFFF00000007 } }, 9,
	  { { RAX, 0xFFFFFFFF00000007 } }, ARITH, ZF | PF },
	{ "cmpxchg not equal", GM_LONG64, "0F B1 0B", M, 7,
	  { { RBX, M }, { RCX, 9 }, { RAX, 0xFFFFFFFF00000006 } }, 7,
	  { { RAX, 7 } }, ARITH, CF | SF | AF | PF },
	{ "bts dword [rbx],33", GM_LONG64, "0F BA 2B 21", M, 0,
	  { { RBX, M }, { RFL, 0x2 | CF } }, 2, { { NOREG, 0 } }, CF, 0 },
	{ "bt [rbx],ecx (35)", GM_LONG64, "0F A3 0B", M + 4, 8,
	  { { RBX, M }, { RCX, 35 } }, 8, { { NOREG, 0 } }, CF, CF },
	{ "btr [rbx],rcx (-1)", GM_LONG64, "48 0F B3 0B", M - 8,
	  0x8000000000000000, { { RBX, M }, { RCX, ~0ULL } }, 0,
	  { { NOREG, 0 } }, CF, CF },
	{ "btc word [rbx],cx (-17)", GM_LONG64, "66 0F BB 0B", M - 4, 0,
	  { { RBX, M }, { RCX, 0xFFEF } }, 0x8000, { { NOREG, 0 } }, CF, 0 },
	{ "setz byte [rbx]", GM_LONG64, "0F 94 03", M, ~0ULL,
	  { { RBX, M }, { RFL, 0x2 | ZF } }, 0xFFFFFFFFFFFFFF01 },
	{ "setl byte [rbx]", GM_LONG64, "0F 9C 03", M, 0xFF,
	  { { RBX, M }, { RFL, 0x2 | SF } }, 0x01 },
	{ "cmovne eax,[rbx] (false)", GM_LONG64, "0F 45 03", M, 0x55,
	  { { RBX, M }, { RAX, 0xFFFFFFFF12345678 }, { RFL, 0x2 | ZF } },
	  0x55, { { RAX, 0x12345678 } } },
	{ "cmove rax,[rbx] (true)", GM_LONG64, "48 0F 44 03", M, 0x55,
	  { { RBX, M }, { RAX, 1 }, { RFL, 0x2 | ZF } }, 0x55,
	  { { RAX, 0x55 } } },
	{ "mov eax,[rip+disp]", GM_LONG64, "8B 05 3A 10 00 00", 0xF0000040,
	  0x42, { { RIP, 0xEFFFF000 } }, 0x42, { { RAX, 0x42 } }, 0, 0,
	  { 0 }, true },
	{ "mov eax,fs:[rbx]", GM_LONG64, "64 8B 03", M, 0x99,
	  { { RBX, M - 0x10 } }, 0x99, { { RAX, 0x99 } }, 0, 0,
	  { 0, 0, 0, 0, 0x10, 0 } },
	{ "fs es mov: es is a null prefix", GM_LONG64, "64 26 8B 03", M, 0x98,
	  { { RBX, M - 0x10 } }, 0x98, { { RAX, 0x98 } }, 0, 0,
	  { 0x5000, 0, 0, 0, 0x10, 0 } },
	{ "ds base ignored", GM_LONG64, "3E 8B 03", M, 0x97,
	  { { RBX, M } }, 0x97, { { RAX, 0x97 } }, 0, 0,
	  { 0x100, 0, 0x100, 0x100, 0, 0 } },
	{ "addr32 mov eax,[ebx]", GM_LONG64, "67 8B 03", M, 0x96,
	  { { RBX, 0xFFFFFFFF00000000 | M } }, 0x96, { { RAX, 0x96 } } },
	{ "mov eax,[rbx+rcx*4+0x10]", GM_LONG64, "8B 44 8B 10", M + 0x20, 0x95,
	  { { RBX, M }, { RCX, 4 } }, 0x95, { { RAX, 0x95 } } },
	{ "mov eax,[r8+r9]", GM_LONG64, "43 8B 04 08", M + 0x30, 0x94,
	  { { R8, M }, { R9, 0x30 } }, 0x94, { { RAX, 0x94 } } },
	{ "mov r10d,[rbx-4]", GM_LONG64, "44 8B 53 FC", M - 4, 0x93,
	  { { RBX, M } }, 0x93, { { NVMM_X64_GPR_R10, 0x93 } } },

	/* 32-bit protected mode and compatibility mode. */
	{ "mov [ebx+ecx*4+0x10],eax", GM_PROT32, "89 44 8B 10", M + 0x20, 0,
	  { { RBX, M }, { RCX, 4 }, { RAX, 0xDEADBEEF } }, 0xDEADBEEF },
	{ "mov ax,[ebx] (32)", GM_PROT32, "66 8B 03", M, 0xBEEF,
	  { { RBX, M } }, 0xBEEF, { { RAX, 0xBEEF } } },
	{ "mov eax,[moffs32]", GM_PROT32, "A1 30 00 00 F0", 0xF0000030, 0x91,
	  { { RAX, 0 } }, 0x91, { { RAX, 0x91 } } },
	{ "mov eax,es:[ebx]", GM_PROT32, "26 8B 03", M, 0x90,
	  { { RBX, M - 0x10 } }, 0x90, { { RAX, 0x90 } }, 0, 0,
	  { 0x10, 0, 0, 0, 0, 0 } },
	{ "add [ebp+8],eax (ss)", GM_PROT32, "01 45 08", 0xF0000008, 1,
	  { { RBP, 0xEFFFFF00 }, { RAX, 2 } }, 3, { { NOREG, 0 } }, ARITH, PF,
	  { 0, 0, 0x100, 0, 0, 0 } },
	{ "mov eax,[ecx*4+disp32]", GM_PROT32, "8B 04 8D 00 00 00 F0",
	  M, 0x8F, { { RCX, 4 } }, 0x8F, { { RAX, 0x8F } } },
	{ "addr16 mov eax,[bx]", GM_PROT32, "67 8B 07", M, 0x8E,
	  { { RBX, 0x12340010 } }, 0x8E, { { RAX, 0x8E } }, 0, 0,
	  { 0, 0, 0, 0xF0000000, 0, 0 } },
	{ "32-bit linear wraps", GM_PROT32, "8B 03", M, 0x8D,
	  { { RBX, 0xFFFFF010 } }, 0x8D, { { RAX, 0x8D } }, 0, 0,
	  { 0, 0, 0, 0xF0001000, 0, 0 } },
	{ "compat: mov [ebx],eax", GM_COMPAT32, "89 03", M, 0,
	  { { RBX, M }, { RAX, 0x12345678 } }, 0x12345678 },
	{ "compat: lock inc dword [ebx]", GM_COMPAT32, "F0 FF 03", M, 41,
	  { { RBX, M } }, 42, { { NOREG, 0 } }, ZF | SF, 0 },

	/* 16-bit: real mode and 16-bit protected mode. */
	{ "mov [bx+si+4],ax", GM_REAL, "89 40 04", 0xF0000034, 0,
	  { { RBX, 0x10 }, { RSI, 0x20 }, { RAX, 0xABCD } }, 0xABCD, { { 0, 0 } },
	  0, 0, R16 },
	{ "mov al,[bp+di] (ss)", GM_REAL, "8A 03", 0xF0000032, 0x8C,
	  { { RBP, 0x30 }, { RDI, 2 } }, 0x8C, { { RAX, 0x8C } }, 0, 0, R16 },
	{ "mov eax,[bx] (66)", GM_REAL, "66 8B 07", M, 0x8B8A8988,
	  { { RBX, 0x10 } }, 0x8B8A8988, { { RAX, 0x8B8A8988 } }, 0, 0, R16 },
	{ "mov [ebx],ax (67)", GM_REAL, "67 89 03", 0xF0000040, 0,
	  { { RBX, 0x40 }, { RAX, 0x1234 } }, 0x1234, { { 0, 0 } }, 0, 0, R16 },
	{ "mov ax,[moffs16]", GM_REAL, "A1 34 12", 0xF0001234, 0x8A,
	  { { RAX, 0xFFFF0000 } }, 0x8A, { { RAX, 0xFFFF008A } }, 0, 0, R16 },
	{ "mov ax,[disp16]", GM_REAL, "8B 06 34 12", 0xF0001234, 0x89,
	  { { 0, 0 } }, 0x89, { { RAX, 0x89 } }, 0, 0, R16 },
	{ "16-bit offset wraps", GM_REAL, "8A 00", M, 0x88,
	  { { RBX, 0xFFF0 }, { RSI, 0x20 } }, 0x88, { { RAX, 0x88 } }, 0, 0,
	  R16 },
	{ "cs: override", GM_REAL, "2E 8A 07", M, 0x87,
	  { { RBX, 0x10 } }, 0x87, { { RAX, 0x87 } }, 0, 0, R16E,
	  true },
	{ "movzx eax,word [bx]", GM_PROT16, "66 0F B7 07", M, 0xFFFF,
	  { { RBX, 0x10 }, { RAX, ~0ULL } }, 0xFFFF, { { RAX, 0xFFFF } }, 0, 0,
	  R16 },
	{ "sub word [bx],1", GM_PROT16, "83 2F 01", M, 0,
	  { { RBX, 0x10 } }, 0xFFFF, { { NOREG, 0 } }, ARITH,
	  CF | SF | AF | PF, R16 },
};

static void run_case(const struct mcase *c, bool give)
{
	struct guest g;
	uint8_t bytes[16];
	size_t n = parse_hex(c->hex, bytes), i;
	uint64_t before[NVMM_X64_NGPR], mem;

	ck_assert_int_eq(g_init(&g), 0);
	g_set_mode(&g, c->mode);
	for (i = 0; i < 6; i++)
		g.st->segs[i].base = c->segbase[i];
	g.st->gprs[RIP] = G_CODE;
	for (i = 0; i < 5; i++)
		if (c->in[i].r > 0 || c->in[i].v != 0)
			g.st->gprs[c->in[i].r] = c->in[i].v;
	g_mmio_set(&g, c->gpa, c->mem, 8);
	g_mem_exit(&g, NVMM_PROT_READ, c->gpa, bytes, n, give);
	memcpy(before, g.st->gprs, sizeof(before));

	ck_assert_msg(nvmm_assist_mem(&g.mach, &g.vcpu) == 0,
		      "%s (%s): errno %d", c->name, give ? "exit bytes" :
		      "fetched", errno);
	mem = g_mmio_get(&g, c->gpa, 8);
	ck_assert_msg(mem == c->mem_out, "%s: memory %#lx, expected %#lx",
		      c->name, (unsigned long)mem, (unsigned long)c->mem_out);
	ck_assert_msg(g.st->gprs[RIP] == before[RIP] + n,
		      "%s: RIP %#lx", c->name,
		      (unsigned long)g.st->gprs[RIP]);
	for (i = 0; i < 2; i++) {
		if (c->out[i].r <= 0 && c->out[i].v == 0)
			continue;
		ck_assert_msg(g.st->gprs[c->out[i].r] == c->out[i].v,
			      "%s: reg %d = %#lx, expected %#lx", c->name,
			      c->out[i].r,
			      (unsigned long)g.st->gprs[c->out[i].r],
			      (unsigned long)c->out[i].v);
	}
	ck_assert_msg((g.st->gprs[RFL] & c->fmask) == c->fval,
		      "%s: RFLAGS %#lx, expected %#lx under %#lx", c->name,
		      (unsigned long)g.st->gprs[RFL], (unsigned long)c->fval,
		      (unsigned long)c->fmask);
	/* Registers not named stay as they were. */
	for (i = 0; i < 16; i++) {
		bool named = false;
		size_t j;

		for (j = 0; j < 2; j++)
			if (c->out[j].r == (int)i &&
			    (c->out[j].r > 0 || c->out[j].v != 0))
				named = true;
		if (!named)
			ck_assert_msg(g.st->gprs[i] == before[i],
				      "%s: reg %zu changed", c->name, i);
	}
	ck_assert_msg(g.nmem >= 1, "%s: no callback", c->name);
	ck_assert_uint_eq(g.mach.pages[0]->state_commit, NVMM_X64_STATE_GPRS);
	g_fini(&g);
}

static void run_mode(enum g_mode mode)
{
	size_t i, ran = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].mode != mode)
			continue;
		run_case(&cases[i], true);
		if (!cases[i].exit_bytes_only)
			run_case(&cases[i], false);
		ran++;
	}
	ck_assert_uint_gt(ran, 0);
	ksft_print("%zu instructions", ran);
}

START_TEST(table_long64)
{
	run_mode(GM_LONG64);
}
END_TEST

START_TEST(table_prot32)
{
	run_mode(GM_PROT32);
}
END_TEST

START_TEST(table_compat32)
{
	run_mode(GM_COMPAT32);
}
END_TEST

START_TEST(table_real)
{
	run_mode(GM_REAL);
}
END_TEST

START_TEST(table_prot16)
{
	run_mode(GM_PROT16);
}
END_TEST

/* Run bytes at RIP = G_CODE in 64-bit mode; returns the assist's result. */
static int run64(struct guest *g, const char *hex, uint64_t gpa, bool give)
{
	uint8_t bytes[16];
	size_t n = parse_hex(hex, bytes);

	g_mem_exit(g, NVMM_PROT_WRITE, gpa, bytes, n, give);
	return nvmm_assist_mem(&g->mach, &g->vcpu);
}

/* Failures return -1 with errno, make no callback and change nothing. */
static void expect_fail(struct guest *g, const char *hex, uint64_t gpa,
			int err)
{
	struct nvmm_x64_state before;
	uint64_t commit = g->mach.pages[0]->state_commit;

	memcpy(&before, g->st, sizeof(before));
	ck_assert_msg(run64(g, hex, gpa, true) == -1, "%s succeeded", hex);
	ck_assert_msg(errno == err, "%s: errno %d, expected %d", hex, errno,
		      err);
	ck_assert_msg(memcmp(&before, g->st, sizeof(before)) == 0,
		      "%s: state changed", hex);
	ck_assert_uint_eq(g->nmem, 0);
	ck_assert_uint_eq(g->mach.pages[0]->state_commit, commit);
}

START_TEST(invalid_encodings)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	GPR(&g, RBX) = M;
	expect_fail(&g, "F7 23", M, ENODEV);		/* mul dword [rbx] */
	expect_fail(&g, "89 D8", M, ENODEV);		/* mov eax,ebx */
	expect_fail(&g, "F0 89 03", M, ENODEV);		/* lock mov */
	expect_fail(&g, "F0 39 03", M, ENODEV);		/* lock cmp */
	expect_fail(&g, "F0 01 D8", M, ENODEV);		/* lock add reg */
	expect_fail(&g, "82 03 01", M, ENODEV);		/* 82 in 64-bit */
	expect_fail(&g, "FF 33", M, ENODEV);		/* push [rbx] */
	expect_fail(&g, "0F 0B", M, ENODEV);		/* ud2 */
	expect_fail(&g, "6E", M, ENODEV);		/* outsb */
	expect_fail(&g, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 89",
		    M, ENODEV);			/* ModRM would be byte 16 */
	g_fini(&g);
}
END_TEST

START_TEST(bad_exits)
{
	struct guest g;
	struct nvmm_assist_callbacks cbs = { .io = NULL, .mem = NULL };
	uint8_t b[2] = { 0x89, 0x03 };

	ck_assert_int_eq(g_init(&g), 0);
	GPR(&g, RBX) = M;
	/* An instruction fetch from MMIO cannot be emulated. */
	g_mem_exit(&g, NVMM_PROT_EXEC, M, b, 2, true);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* Not a MEMORY exit. */
	g_mem_exit(&g, NVMM_PROT_WRITE, M, b, 2, true);
	g.exit->reason = NVMM_VCPU_EXIT_IO;
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_assist_mem(NULL, &g.vcpu), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, NULL), -1);
	/* MMIO without a mem callback. */
	ck_assert_int_eq(nvmm_vcpu_configure(&g.mach, &g.vcpu,
					     NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
	expect_fail(&g, "89 03", M, EINVAL);
	/* ... while RAM needs none. */
	GPR(&g, RBX) = 0x20000;
	GPR(&g, RAX) = 0x5555;
	ck_assert_int_eq(run64(&g, "89 03", 0x20000, true), 0);
	ck_assert_uint_eq(*(uint32_t *)(g.ram + 0x20000), 0x5555);
	/* Nothing to fetch from: RIP in MMIO, no bytes in the exit. */
	GPR(&g, RIP) = M;
	GPR(&g, RBX) = 0x20000;
	g_mem_exit(&g, NVMM_PROT_WRITE, 0x20000, b, 0, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EFAULT);
	g_fini(&g);
}
END_TEST

START_TEST(short_exit_bytes_are_refetched)
{
	struct guest g;
	uint8_t b[6] = { 0xC7, 0x03, 0x78, 0x56, 0x34, 0x12 };

	ck_assert_int_eq(g_init(&g), 0);
	GPR(&g, RBX) = M;
	g_mem_exit(&g, NVMM_PROT_WRITE, M, b, 6, true);
	g.exit->u.mem.inst_len = 3;	/* the CPU gave only 3 bytes */
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g_mmio_get(&g, M, 4), 0x12345678);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 6);
	g_fini(&g);
}
END_TEST

START_TEST(rom_and_ram_routing)
{
	struct guest g;
	uint32_t v = 0xA5A5A5A5;

	ck_assert_int_eq(g_init(&g), 0);
	memcpy(g.rom + 0x10, &v, 4);
	GPR(&g, RBX) = G_ROM_GPA + 0x10;
	/* A read from ROM is a plain read of its host memory. */
	ck_assert_int_eq(run64(&g, "8B 03", G_ROM_GPA + 0x10, true), 0);
	ck_assert_uint_eq(GPR(&g, RAX), 0xA5A5A5A5);
	ck_assert_uint_eq(g.nmem, 0);
	/* A write to ROM goes to the mem callback (which ignores it). */
	GPR(&g, RAX) = 0x11;
	ck_assert_int_eq(run64(&g, "89 03", G_ROM_GPA + 0x10, true), 0);
	ck_assert_uint_eq(g.nmem, 1);
	ck_assert(g.mem_log[0].write);
	ck_assert_uint_eq(g.mem_log[0].gpa, G_ROM_GPA + 0x10);
	ck_assert_uint_eq(g.mem_log[0].val, 0x11);
	ck_assert_uint_eq(*(uint32_t *)(g.rom + 0x10), 0xA5A5A5A5);
	/* Read-modify-write of ROM: both accesses through the callback. */
	ck_assert_int_eq(run64(&g, "01 03", G_ROM_GPA + 0x10, true), 0);
	ck_assert_uint_eq(g.nmem, 2);
	ck_assert(!g.mem_log[0].write);
	ck_assert(g.mem_log[1].write);
	ck_assert_uint_eq(g.mem_log[1].val, 0xA5A5A5B6);
	g_fini(&g);
}
END_TEST

/* 4 KiB pages for linear 0x10000000-0x10001FFF: RAM page, then MMIO. */
static void map_split_pages(struct guest *g)
{
	uint64_t e;

	/* PML4[0] -> PDPT 0x2000 (from g_long_tables); PDPT[0] is a 1 GiB
	   page; linear 0x10000000 is in it. Use a PD for PDPT[0] instead. */
	e = 0x3000 | 0x7;
	memcpy(g->ram + 0x2000, &e, 8);
	memset(g->ram + 0x3000, 0, 0x2000);
	for (int i = 0; i < 512; i++) {	/* 2 MiB pages, identity */
		e = ((uint64_t)i << 21) | 0x87;
		memcpy(g->ram + 0x3000 + 8 * i, &e, 8);
	}
	e = 0x4000 | 0x7;	/* PD[0x80] (0x10000000) -> PT 0x4000 */
	memcpy(g->ram + 0x3000 + 8 * 0x80, &e, 8);
	e = 0x30000 | 0x7;	/* linear 0x10000000 -> RAM 0x30000 */
	memcpy(g->ram + 0x4000, &e, 8);
	e = G_MMIO_GPA | 0x7;	/* linear 0x10001000 -> MMIO */
	memcpy(g->ram + 0x4008, &e, 8);
	e = 0x31000 | 0x5;	/* linear 0x10002000 -> RAM, read-only */
	memcpy(g->ram + 0x4010, &e, 8);
}

START_TEST(page_crossing_operand)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	map_split_pages(&g);
	memset(g.mmio, 0, 16);
	GPR(&g, RBX) = 0x10000FFE;
	GPR(&g, RAX) = 0x44332211;
	/* The CPU reports the MMIO part: gpa of the second page. */
	ck_assert_int_eq(run64(&g, "89 03", G_MMIO_GPA, true), 0);
	ck_assert_uint_eq(*(uint16_t *)(g.ram + 0x30FFE), 0x2211);
	ck_assert_uint_eq(g_mmio_get(&g, G_MMIO_GPA, 2), 0x4433);
	ck_assert_uint_eq(g.nmem, 1);
	ck_assert_uint_eq(g.mem_log[0].size, 2);
	/* Reading back an 8-byte value: 2 bytes RAM, 6 MMIO (4 + 2). */
	g_mmio_set(&g, G_MMIO_GPA, 0x887766554433, 6);
	ck_assert_int_eq(run64(&g, "48 8B 0B", G_MMIO_GPA, true), 0);
	ck_assert_uint_eq(GPR(&g, RCX), 0x8877665544332211);
	ck_assert_uint_eq(g.nmem, 2);
	ck_assert_uint_eq(g.mem_log[0].size, 4);
	ck_assert_uint_eq(g.mem_log[1].size, 2);
	ck_assert_uint_eq(g.mem_log[1].gpa, G_MMIO_GPA + 4);
	g_fini(&g);
}
END_TEST

START_TEST(operand_page_fault)
{
	struct guest g;
	uint64_t zero = 0;

	ck_assert_int_eq(g_init(&g), 0);
	map_split_pages(&g);
	/* Not present: linear 0x10003000. */
	memcpy(g.ram + 0x4018, &zero, 8);
	GPR(&g, RBX) = 0x10003000;
	expect_fail(&g, "89 03", G_MMIO_GPA + 0x123, EFAULT);
	/* Write to a read-only page (CR0.WP): the walk refuses it. */
	GPR(&g, RBX) = 0x10002000;
	expect_fail(&g, "89 03", G_MMIO_GPA + 0x123, EFAULT);
	/* User mode (CPL 3) on a supervisor page. */
	g.st->segs[NVMM_X64_SEG_SS].attrib.dpl = 3;
	g.ram[0x4008] &= (uint8_t)~4;
	GPR(&g, RBX) = 0x10001000;
	expect_fail(&g, "8B 43 10", G_MMIO_GPA + 0x123, EFAULT);
	g_fini(&g);
}
END_TEST

START_TEST(fetch_through_page_tables)
{
	struct guest g;
	uint8_t b[] = { 0x48, 0x89, 0x03 };	/* mov [rbx],rax */
	uint64_t e;

	ck_assert_int_eq(g_init(&g), 0);
	map_split_pages(&g);
	/* Code at linear 0x10000FFE crosses into the read-only RAM page:
	   remap PT[1] to RAM 0x32000 for the code's second page. */
	e = 0x32000 | 0x5;
	memcpy(g.ram + 0x4008, &e, 8);
	g.ram[0x30FFE] = b[0];
	g.ram[0x30FFF] = b[1];
	g.ram[0x32000] = b[2];
	GPR(&g, RIP) = 0x10000FFE;
	GPR(&g, RBX) = M;
	GPR(&g, RAX) = 0x0102030405060708;
	g_mem_exit(&g, NVMM_PROT_WRITE, M, b, 0, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g_mmio_get(&g, M, 8), 0x0102030405060708);
	ck_assert_uint_eq(GPR(&g, RIP), 0x10001001);
	/* The second page not executable (NX): only 2 bytes fetchable. */
	e = 0x32000 | 0x5 | (1ULL << 63);
	memcpy(g.ram + 0x4008, &e, 8);
	GPR(&g, RIP) = 0x10000FFE;
	g_mem_exit(&g, NVMM_PROT_WRITE, M, b, 0, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_uint_eq(GPR(&g, RIP), 0x10000FFE);
	g_fini(&g);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* String instructions. */

static void str_setup(struct guest *g, const char *hex, uint64_t rsi,
		      uint64_t rdi, uint64_t rcx, bool df)
{
	uint8_t bytes[16];
	size_t n = parse_hex(hex, bytes);

	GPR(g, RSI) = rsi;
	GPR(g, RDI) = rdi;
	GPR(g, RCX) = rcx;
	GPR(g, RFL) = 0x2 | (df ? DF : 0);
	GPR(g, RIP) = G_CODE;
	g_mem_exit(g, NVMM_PROT_WRITE, G_MMIO_GPA, bytes, n, true);
}

START_TEST(rep_movsb_ram_to_mmio)
{
	struct guest g;
	int i;

	ck_assert_int_eq(g_init(&g), 0);
	for (i = 0; i < 300; i++)
		g.ram[0x10000 + i] = (uint8_t)(i * 7);
	str_setup(&g, "F3 A4", 0x10000, G_MMIO_GPA, 300, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	/* All 300 in one call. */
	ck_assert_uint_eq(g.nmem, 300);
	ck_assert_mem_eq(g.mmio, g.ram + 0x10000, 300);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RSI), 0x10000 + 300);
	ck_assert_uint_eq(GPR(&g, RDI), G_MMIO_GPA + 300);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	g_fini(&g);
}
END_TEST

START_TEST(rep_movsd_batches_by_page)
{
	struct guest g;
	unsigned int calls = 0;

	ck_assert_int_eq(g_init(&g), 0);
	for (int i = 0; i < 0x8000; i++)
		g.ram[0x10000 + i] = (uint8_t)(i * 13 + 1);
	/* 5000 dwords from RAM at 0x10800 to MMIO. */
	str_setup(&g, "F3 A5", 0x10800, G_MMIO_GPA, 5000, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	/* Stops at the source's page boundary: 0x800 / 4 elements. */
	ck_assert_uint_eq(GPR(&g, RCX), 5000 - 0x200);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);	/* not done */
	calls = 1;
	while (GPR(&g, RIP) == G_CODE && calls < 100) {
		ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
		calls++;
	}
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	/* 512 dwords per call: the source and the destination reach a
	   page boundary every 2 KiB, alternately. */
	ck_assert_uint_eq(calls, 10);
	ck_assert_mem_eq(g.mmio, g.ram + 0x10800, 20000);
	g_fini(&g);
}
END_TEST

START_TEST(rep_movsb_backwards)
{
	struct guest g;
	int i;

	ck_assert_int_eq(g_init(&g), 0);
	for (i = 0; i < 100; i++)
		g.mmio[i] = (uint8_t)(0x80 + i);
	/* std; rep movsb from MMIO (top down) to RAM. */
	str_setup(&g, "F3 A4", G_MMIO_GPA + 99, 0x20000 + 99, 100, true);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 100);
	ck_assert_uint_eq(g.mem_log[0].gpa, G_MMIO_GPA + 99);
	ck_assert_uint_eq(g.mem_log[1].gpa, G_MMIO_GPA + 98);
	ck_assert_mem_eq(g.ram + 0x20000, g.mmio, 100);
	ck_assert_uint_eq(GPR(&g, RSI), G_MMIO_GPA - 1);
	ck_assert_uint_eq(GPR(&g, RDI), 0x20000 - 1);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	/* std; rep movsd from RAM (top down) to MMIO. */
	for (i = 0; i < 64; i++)
		g.ram[0x30000 + i] = (uint8_t)(0x11 * i + 3);
	str_setup(&g, "F3 A5", 0x30000 + 60, G_MMIO_GPA + 0x100 + 60, 16,
		  true);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 16);
	for (i = 0; i < 16; i++) {
		ck_assert_uint_eq(g.mem_log[i].gpa,
				  G_MMIO_GPA + 0x100 + 60 - 4 * i);
		ck_assert_uint_eq(g.mem_log[i].size, 4);
		ck_assert(g.mem_log[i].write);
	}
	ck_assert_mem_eq(g.mmio + 0x100, g.ram + 0x30000, 64);
	ck_assert_uint_eq(GPR(&g, RSI), 0x30000 - 4);
	ck_assert_uint_eq(GPR(&g, RDI), G_MMIO_GPA + 0x100 - 4);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	/* Going down, the batch stops at the page start. */
	str_setup(&g, "F3 66 A5", 0x20000 + 0x20, G_MMIO_GPA + 0x800, 1000,
		  true);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 0x20 / 2 + 1);
	ck_assert_uint_eq(GPR(&g, RCX), 1000 - 17);
	ck_assert_uint_eq(GPR(&g, RSI), 0x20000 - 2);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);
	g_fini(&g);
}
END_TEST

START_TEST(stos_lods)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	GPR(&g, RAX) = 0x1122334455667788;
	str_setup(&g, "F3 48 AB", 0, G_MMIO_GPA + 8, 3, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 3);
	ck_assert_uint_eq(g_mmio_get(&g, G_MMIO_GPA + 24, 8),
			  0x1122334455667788);
	ck_assert_uint_eq(g.mem_log[2].size, 8);
	ck_assert_uint_eq(GPR(&g, RDI), G_MMIO_GPA + 32);
	/* lodsw without REP: one element, RCX untouched. */
	g_mmio_set(&g, G_MMIO_GPA + 0x40, 0xBEEF, 2);
	str_setup(&g, "66 AD", G_MMIO_GPA + 0x40, 0, 77, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(GPR(&g, RAX), 0x112233445566BEEF);
	ck_assert_uint_eq(GPR(&g, RCX), 77);
	ck_assert_uint_eq(GPR(&g, RSI), G_MMIO_GPA + 0x42);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	/* lodsd with an FS override in 64-bit mode. */
	g.st->segs[NVMM_X64_SEG_FS].base = 0x1000;
	g_mmio_set(&g, G_MMIO_GPA + 0x1000, 0xCAFEF00D, 4);
	str_setup(&g, "64 AD", G_MMIO_GPA, 0, 0, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(GPR(&g, RAX), 0xCAFEF00D);
	g_fini(&g);
}
END_TEST

START_TEST(repe_cmpsb_and_repne_scasb)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	memcpy(g.ram + 0x10000, "abcdefghij", 10);
	memcpy(g.mmio, "abcdefgXij", 10);
	str_setup(&g, "F3 A6", 0x10000, G_MMIO_GPA, 10, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	/* Stops after the mismatch at index 7: 8 compared. */
	ck_assert_uint_eq(GPR(&g, RCX), 2);
	ck_assert_uint_eq(GPR(&g, RSI), 0x10000 + 8);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	/* 'h' - 'X': no borrow, not zero, positive. */
	ck_assert_uint_eq(GPR(&g, RFL) & (ZF | CF | SF), 0);
	/* repne scasb: find 'X'. */
	GPR(&g, RAX) = 'X';
	str_setup(&g, "F2 AE", 0, G_MMIO_GPA, 100, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(GPR(&g, RCX), 100 - 8);
	ck_assert_uint_eq(GPR(&g, RDI), G_MMIO_GPA + 8);
	ck_assert_uint_eq(GPR(&g, RFL) & ZF, ZF);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	/* All equal: runs to the count. */
	memcpy(g.mmio, "abcdefghij", 10);
	str_setup(&g, "F3 A6", 0x10000, G_MMIO_GPA, 10, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RFL) & ZF, ZF);
	g_fini(&g);
}
END_TEST

START_TEST(string_edge_cases)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	/* REP with a zero count: no access, RIP moves on. */
	str_setup(&g, "F3 A4", 0x10000, G_MMIO_GPA, 0, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 0);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 2);
	/* An element crossing a page: done alone, split 2 + 2. */
	str_setup(&g, "F3 AB", 0, G_MMIO_GPA + 0xFFE, 3, false);
	GPR(&g, RAX) = 0xDDCCBBAA;
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 2);
	ck_assert_uint_eq(g.mem_log[0].size, 2);
	ck_assert_uint_eq(g_mmio_get(&g, G_MMIO_GPA + 0xFFE, 4), 0xDDCCBBAA);
	ck_assert_uint_eq(GPR(&g, RCX), 2);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);
	/* 16-bit address size: SI wraps, the batch stops before it. */
	g_set_mode(&g, GM_REAL);
	g.st->segs[NVMM_X64_SEG_DS].base = 0x10000;
	g.st->segs[NVMM_X64_SEG_ES].base = G_MMIO_GPA;
	str_setup(&g, "F3 A4", 0xFFFC, 0x100, 10, false);
	GPR(&g, RSI) = 0xABCD0000FFFCULL;	/* upper bits stay */
	GPR(&g, RCX) = 0x55550000000AULL;
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 4);
	ck_assert_uint_eq(GPR(&g, RSI), 0xABCD00000000ULL);
	ck_assert_uint_eq(GPR(&g, RCX), 0x555500000006ULL);
	ck_assert_uint_eq(GPR(&g, RDI), 0x104);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);
	/* The next call does the wrapped element, at DS:0. */
	g.ram[0x10000] = 0x3C;
	g.exit->u.mem.inst_len = 2;
	g.nmem = 0;
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.mmio[0x104], 0x3C);
	g_fini(&g);
}
END_TEST

START_TEST(rep_limit_per_call)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	/* stosb within one page never exceeds the page, so use 4 KiB of
	   bytes: exactly one page per call, and never more than 4096. */
	str_setup(&g, "F3 AA", 0, G_MMIO_GPA, 100000, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 4096);
	ck_assert_uint_eq(GPR(&g, RCX), 100000 - 4096);
	g_fini(&g);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Host memory behind guest RAM that cannot be used: EFAULT, no signal. */

/* The VCPU's GPRs, to show that a refused assist changed none. */
static void gprs_copy(struct guest *g, uint64_t *out)
{
	memcpy(out, g->st->gprs, sizeof(g->st->gprs));
}

static void refused_untouched(struct guest *g, const uint64_t *before,
			      const char *what)
{
	errno = 0;
	ck_assert_msg(nvmm_assist_mem(&g->mach, &g->vcpu) == -1 &&
		      errno == EFAULT, "%s: not refused with EFAULT (errno "
		      "%d)", what, errno);
	ck_assert_msg(memcmp(before, g->st->gprs, sizeof(g->st->gprs)) == 0,
		      "%s: the VCPU's registers changed", what);
	ck_assert_msg(g->nmem == 0, "%s: %u device accesses", what, g->nmem);
}

START_TEST(host_ram_unusable_efault)
{
	uint64_t before[NVMM_X64_NGPR];
	struct guest g;
	int fd;

	ck_assert_int_eq(g_init(&g), 0);

	/* REP MOVSB from a PROT_NONE page of RAM to MMIO. */
	ck_assert_int_eq(mprotect(g.ram + 0x10000, 0x1000, PROT_NONE), 0);
	str_setup(&g, "F3 A4", 0x10000, G_MMIO_GPA, 16, false);
	gprs_copy(&g, before);
	refused_untouched(&g, before, "movsb from a PROT_NONE page");

	/* MOVSB from MMIO to a read-only page of RAM. */
	ck_assert_int_eq(mprotect(g.ram + 0x10000, 0x1000, PROT_READ), 0);
	g_mem_exit(&g, NVMM_PROT_READ, G_MMIO_GPA, (const uint8_t *)"\xA4",
		   1, true);
	GPR(&g, RSI) = G_MMIO_GPA;
	GPR(&g, RDI) = 0x10000;
	gprs_copy(&g, before);
	refused_untouched(&g, before, "movsb to a read-only page");

	/* The exit's own address in RAM whose host page is gone. */
	ck_assert_int_eq(munmap(g.ram + 0x10000, 0x1000), 0);
	g_mem_exit(&g, NVMM_PROT_WRITE, 0x10010, (const uint8_t *)"\x89\x03",
		   2, true);
	GPR(&g, RBX) = 0x10010;
	gprs_copy(&g, before);
	refused_untouched(&g, before, "mov to unmapped host memory");

	/* A shared file mapping beyond the end of its file (SIGBUS). */
	fd = memfd_create("ram", 0);
	ck_assert_int_ge(fd, 0);
	ck_assert(mmap(g.ram + 0x10000, 0x1000, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, fd, 0) == g.ram + 0x10000);
	close(fd);
	str_setup(&g, "F3 A4", 0x10000, G_MMIO_GPA, 16, false);
	gprs_copy(&g, before);
	refused_untouched(&g, before, "movsb from beyond EOF");

	/* The guest's page tables on a PROT_NONE page (the operand walk). */
	ck_assert_int_eq(mprotect(g.ram + 0x1000, 0x1000, PROT_NONE), 0);
	str_setup(&g, "F3 A4", 0x20000, G_MMIO_GPA, 16, false);
	gprs_copy(&g, before);
	refused_untouched(&g, before, "page table on a PROT_NONE page");
	ck_assert_int_eq(mprotect(g.ram + 0x1000, 0x1000, PROT_READ |
				  PROT_WRITE), 0);

	/* And the control: with usable memory the same MOVSB runs. */
	for (int i = 0; i < 16; i++)
		g.ram[0x20000 + i] = (uint8_t)(i + 1);
	str_setup(&g, "F3 A4", 0x20000, G_MMIO_GPA, 16, false);
	ck_assert_int_eq(nvmm_assist_mem(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nmem, 16);
	ck_assert_mem_eq(g.mmio, g.ram + 0x20000, 16);
	g_fini(&g);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(table_long64),
		KSFT_TEST(table_prot32),
		KSFT_TEST(table_compat32),
		KSFT_TEST(table_real),
		KSFT_TEST(table_prot16),
		KSFT_TEST(invalid_encodings),
		KSFT_TEST(bad_exits),
		KSFT_TEST(short_exit_bytes_are_refetched),
		KSFT_TEST(rom_and_ram_routing),
		KSFT_TEST(page_crossing_operand),
		KSFT_TEST(operand_page_fault),
		KSFT_TEST(fetch_through_page_tables),
		KSFT_TEST(rep_movsb_ram_to_mmio),
		KSFT_TEST(rep_movsd_batches_by_page),
		KSFT_TEST(rep_movsb_backwards),
		KSFT_TEST(host_ram_unusable_efault),
		KSFT_TEST(stos_lods),
		KSFT_TEST(repe_cmpsb_and_repne_scasb),
		KSFT_TEST(string_edge_cases),
		KSFT_TEST(rep_limit_per_call),
	};

	return ksft_run("assist_mem", tests, sizeof(tests) / sizeof(tests[0]),
			60);
}
