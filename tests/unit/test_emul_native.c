/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Differential test against the CPU: each instruction form we emulate is
 * run natively (in an executable buffer, on ordinary memory) and through
 * nvmm_assist_mem() on the mock VCPU (its memory operand in MMIO or in
 * RAM), with the same random registers, flags and memory, thousands of
 * times per instruction and operand size. Results, memory and the flags the
 * SDM/APM define must be identical.
 *
 * Undefined flags are not compared: AF after AND/OR/XOR/TEST, and OF, SF,
 * ZF, AF, PF after BT/BTS/BTR/BTC (ZF is "unaffected" for Intel, undefined
 * for AMD). How often our choice (AF cleared; BT* leave them unchanged)
 * matches this CPU is printed for information.
 *
 * Environment: NATIVE_ITERS (default 2000 per form and size), NATIVE_SEED.
 */
#include <errno.h>
#include <stdio.h>

#include "ksft.h"
#include "assist_harness.h"

#define CF 0x1ULL
#define PF 0x4ULL
#define AF 0x10ULL
#define ZF 0x40ULL
#define SF 0x80ULL
#define DF 0x400ULL
#define OF 0x800ULL
#define ARITH (CF | PF | AF | ZF | SF | OF)

/* Check's assertions write to a pipe each time they pass: in the hot
 * loops, only fail through Check. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			ck_abort_msg(__VA_ARGS__);			\
	} while (0)

/* ---------------------------------------------------------------------- */
/* Running an instruction natively. */

struct nctx {
	uint64_t r[16];		/* RSP (4) is not loaded nor stored */
	uint64_t rflags;	/* offset 128 */
	void *code;		/* offset 136: instruction + RET */
};

void native_run(struct nctx *c);

__asm__(
	".text\n"
	".p2align 4\n"
	".type native_run, @function\n"
	"native_run:\n"
	"	push %rbx\n push %rbp\n push %r12\n push %r13\n"
	"	push %r14\n push %r15\n"
	"	push %rdi\n"			/* ctx */
	"	pushq 136(%rdi)\n"		/* code */
	"	pushq 128(%rdi)\n"
	"	popfq\n"
	"	mov 0(%rdi), %rax\n mov 8(%rdi), %rcx\n mov 16(%rdi), %rdx\n"
	"	mov 24(%rdi), %rbx\n mov 40(%rdi), %rbp\n mov 48(%rdi), %rsi\n"
	"	mov 64(%rdi), %r8\n mov 72(%rdi), %r9\n mov 80(%rdi), %r10\n"
	"	mov 88(%rdi), %r11\n mov 96(%rdi), %r12\n mov 104(%rdi), %r13\n"
	"	mov 112(%rdi), %r14\n mov 120(%rdi), %r15\n"
	"	mov 56(%rdi), %rdi\n"
	"	call *(%rsp)\n"
	"	pushfq\n"
	"	push %rdi\n"			/* rdi, flags, code, ctx */
	"	mov 24(%rsp), %rdi\n"
	"	mov %rax, 0(%rdi)\n mov %rcx, 8(%rdi)\n mov %rdx, 16(%rdi)\n"
	"	mov %rbx, 24(%rdi)\n mov %rbp, 40(%rdi)\n mov %rsi, 48(%rdi)\n"
	"	mov %r8, 64(%rdi)\n mov %r9, 72(%rdi)\n mov %r10, 80(%rdi)\n"
	"	mov %r11, 88(%rdi)\n mov %r12, 96(%rdi)\n mov %r13, 104(%rdi)\n"
	"	mov %r14, 112(%rdi)\n mov %r15, 120(%rdi)\n"
	"	pop %rax\n mov %rax, 56(%rdi)\n"
	"	pop %rax\n mov %rax, 128(%rdi)\n"
	"	add $16, %rsp\n"
	"	cld\n"
	"	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n"
	".size native_run, .-native_run\n");

static uint8_t *code_page;

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

/* Random values with a bias toward the edges where flags change. */
static uint64_t rnd_val(void)
{
	static const uint64_t edge[] = {
		0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF,
		0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000,
		~0ULL, 0xF, 0x10,
	};
	uint64_t r = rnd();

	switch (r & 7) {
	case 0:
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))] +
		       ((r >> 16) & 3) - 1;
	case 2:
		return (r >> 20) & 0xFF;
	default:
		return rnd();
	}
}

static unsigned int iters(void)
{
	const char *e = getenv("NATIVE_ITERS");

	return e ? (unsigned int)strtoul(e, NULL, 0) : 2000;
}

static void seed(void)
{
	const char *e = getenv("NATIVE_SEED");

	rng_state = e ? strtoull(e, NULL, 0) : 0x9E3779B97F4A7C15ULL;
	if (rng_state == 0)
		rng_state = 1;
}

/* ---------------------------------------------------------------------- */
/* Instruction forms. */

enum { IMM_NONE, IMM_B, IMM_Z };
enum { K_NORMAL, K_BTREG, K_CMPXCHG };

struct form {
	const char *name;
	uint8_t map;		/* 0 or 0x0F */
	uint8_t opc;
	int8_t ext;		/* ModRM.reg digit, -1: a register */
	uint8_t imm;
	uint8_t sizes;		/* bit 0: 1, 1: 2, 2: 4, 3: 8 */
	uint64_t undef;		/* flags not compared */
	uint8_t kind;
};

#define SB	0x1
#define SV	0xE
#define SW	0x2

static struct form forms[256];
static size_t nforms;

static void add(const char *name, uint8_t map, uint8_t opc, int ext,
		uint8_t imm, uint8_t sizes, uint64_t undef, uint8_t kind)
{
	forms[nforms++] = (struct form){ name, map, opc, (int8_t)ext, imm,
					 sizes, undef, kind };
}

static void build_forms(void)
{
	static const char *const alu[8] = {
		"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"
	};
	static char names[8][5][24];
	int i;

	nforms = 0;
	for (i = 0; i < 8; i++) {
		uint64_t u = (i == 1 || i == 4 || i == 6) ? AF : 0;

		snprintf(names[i][0], 24, "%s E,G", alu[i]);
		snprintf(names[i][1], 24, "%s G,E", alu[i]);
		snprintf(names[i][2], 24, "%s E,Ib (80)", alu[i]);
		snprintf(names[i][3], 24, "%s E,Iz (81)", alu[i]);
		snprintf(names[i][4], 24, "%s E,Ib (83)", alu[i]);
		add(names[i][0], 0, (uint8_t)(i * 8), -1, IMM_NONE, SB, u, 0);
		add(names[i][0], 0, (uint8_t)(i * 8 + 1), -1, IMM_NONE, SV, u, 0);
		add(names[i][1], 0, (uint8_t)(i * 8 + 2), -1, IMM_NONE, SB, u, 0);
		add(names[i][1], 0, (uint8_t)(i * 8 + 3), -1, IMM_NONE, SV, u, 0);
		add(names[i][2], 0, 0x80, i, IMM_B, SB, u, 0);
		add(names[i][3], 0, 0x81, i, IMM_Z, SV, u, 0);
		add(names[i][4], 0, 0x83, i, IMM_B, SV, u, 0);
	}
	add("test E,G", 0, 0x84, -1, IMM_NONE, SB, AF, 0);
	add("test E,G", 0, 0x85, -1, IMM_NONE, SV, AF, 0);
	add("test E,I", 0, 0xF6, 0, IMM_B, SB, AF, 0);
	add("test E,I", 0, 0xF7, 0, IMM_Z, SV, AF, 0);
	add("not", 0, 0xF6, 2, IMM_NONE, SB, 0, 0);
	add("not", 0, 0xF7, 2, IMM_NONE, SV, 0, 0);
	add("neg", 0, 0xF6, 3, IMM_NONE, SB, 0, 0);
	add("neg", 0, 0xF7, 3, IMM_NONE, SV, 0, 0);
	add("inc", 0, 0xFE, 0, IMM_NONE, SB, 0, 0);
	add("inc", 0, 0xFF, 0, IMM_NONE, SV, 0, 0);
	add("dec", 0, 0xFE, 1, IMM_NONE, SB, 0, 0);
	add("dec", 0, 0xFF, 1, IMM_NONE, SV, 0, 0);
	add("xchg", 0, 0x86, -1, IMM_NONE, SB, 0, 0);
	add("xchg", 0, 0x87, -1, IMM_NONE, SV, 0, 0);
	add("mov E,G", 0, 0x88, -1, IMM_NONE, SB, 0, 0);
	add("mov E,G", 0, 0x89, -1, IMM_NONE, SV, 0, 0);
	add("mov G,E", 0, 0x8A, -1, IMM_NONE, SB, 0, 0);
	add("mov G,E", 0, 0x8B, -1, IMM_NONE, SV, 0, 0);
	add("mov E,I", 0, 0xC6, 0, IMM_B, SB, 0, 0);
	add("mov E,I", 0, 0xC7, 0, IMM_Z, SV, 0, 0);
	add("movsxd", 0, 0x63, -1, IMM_NONE, SV, 0, 0);
	add("movzx Gv,Eb", 0x0F, 0xB6, -1, IMM_NONE, SV, 0, 0);
	add("movzx Gv,Ew", 0x0F, 0xB7, -1, IMM_NONE, SV, 0, 0);
	add("movsx Gv,Eb", 0x0F, 0xBE, -1, IMM_NONE, SV, 0, 0);
	add("movsx Gv,Ew", 0x0F, 0xBF, -1, IMM_NONE, SV, 0, 0);
	add("xadd", 0x0F, 0xC0, -1, IMM_NONE, SB, 0, 0);
	add("xadd", 0x0F, 0xC1, -1, IMM_NONE, SV, 0, 0);
	add("cmpxchg", 0x0F, 0xB0, -1, IMM_NONE, SB, 0, K_CMPXCHG);
	add("cmpxchg", 0x0F, 0xB1, -1, IMM_NONE, SV, 0, K_CMPXCHG);
	add("bt E,G", 0x0F, 0xA3, -1, IMM_NONE, SV, OF | SF | ZF | AF | PF,
	    K_BTREG);
	add("bts E,G", 0x0F, 0xAB, -1, IMM_NONE, SV, OF | SF | ZF | AF | PF,
	    K_BTREG);
	add("btr E,G", 0x0F, 0xB3, -1, IMM_NONE, SV, OF | SF | ZF | AF | PF,
	    K_BTREG);
	add("btc E,G", 0x0F, 0xBB, -1, IMM_NONE, SV, OF | SF | ZF | AF | PF,
	    K_BTREG);
	add("bt E,Ib", 0x0F, 0xBA, 4, IMM_B, SV, OF | SF | ZF | AF | PF, 0);
	add("bts E,Ib", 0x0F, 0xBA, 5, IMM_B, SV, OF | SF | ZF | AF | PF, 0);
	add("btr E,Ib", 0x0F, 0xBA, 6, IMM_B, SV, OF | SF | ZF | AF | PF, 0);
	add("btc E,Ib", 0x0F, 0xBA, 7, IMM_B, SV, OF | SF | ZF | AF | PF, 0);
	for (i = 0; i < 16; i++) {
		add("setcc", 0x0F, (uint8_t)(0x90 + i), 0, IMM_NONE, SB, 0, 0);
		add("cmovcc", 0x0F, (uint8_t)(0x40 + i), -1, IMM_NONE, SV, 0, 0);
	}
}

/* ---------------------------------------------------------------------- */

#define BUF	256
#define MID	128
#define EMU_RAM	0x20000ULL
#define EMU_MMIO_OFF 0x1000ULL

struct stats {
	unsigned long runs, undef_runs, undef_same;
};

/* Registers usable as ModRM.reg: never RBX (the base) nor RSP. */
static unsigned int pick_reg(unsigned int size, bool *rex_r)
{
	static const uint8_t byte_regs[] = { 0, 1, 2, 4, 5, 6 };	/* AL CL DL AH CH DH */
	static const uint8_t regs[] = { 0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12,
					13, 14, 15 };
	unsigned int r;

	if (size == 1) {
		*rex_r = false;
		return byte_regs[rnd() % sizeof(byte_regs)];
	}
	r = regs[rnd() % sizeof(regs)];
	*rex_r = r >= 8;
	return r;
}

static size_t encode(const struct form *f, unsigned int size, unsigned int reg,
		     bool rex_r, int8_t disp, uint64_t imm, uint8_t *b)
{
	size_t n = 0;
	uint8_t rex = 0x40;

	if (size == 2)
		b[n++] = 0x66;
	if (size == 8)
		rex |= 0x08;
	if (rex_r)
		rex |= 0x04;
	if (rex != 0x40)
		b[n++] = rex;
	if (f->map)
		b[n++] = f->map;
	b[n++] = f->opc;
	b[n++] = (uint8_t)((disp ? 0x40 : 0x00) |
			   (((f->ext >= 0 ? (unsigned int)f->ext : reg) & 7) << 3) |
			   3);
	if (disp)
		b[n++] = (uint8_t)disp;
	if (f->imm == IMM_B) {
		b[n++] = (uint8_t)imm;
	} else if (f->imm == IMM_Z) {
		unsigned int k = size == 2 ? 2 : size == 1 ? 1 : 4;

		for (unsigned int j = 0; j < k; j++)
			b[n++] = (uint8_t)(imm >> (8 * j));
	}
	return n;
}

static void run_form(struct guest *g, const struct form *f, unsigned int size,
		     struct stats *st)
{
	uint8_t bytes[16], nbuf[BUF], ibuf[BUF];
	uint8_t *emem;
	uint64_t ebase;
	struct nctx nc;
	unsigned int it, reg, i;
	bool rex_r, in_ram;
	int8_t disp;
	size_t n;

	for (it = 0; it < iters(); it++) {
		uint64_t imm = rnd_val(), fl;

		reg = (f->ext >= 0) ? 0 : pick_reg(size, &rex_r);
		if (f->ext >= 0)
			rex_r = false;
		disp = (rnd() & 1) ? (int8_t)((int)(rnd() % 33) - 16) : 0;
		n = encode(f, size, reg, rex_r, disp, imm, bytes);
		memcpy(code_page, bytes, n);
		code_page[n] = 0xC3;

		for (i = 0; i < BUF; i += 8) {
			uint64_t v = rnd_val();

			memcpy(ibuf + i, &v, 8);
		}
		for (i = 0; i < 16; i++)
			nc.r[i] = rnd_val();
		if (f->kind == K_BTREG)	/* a bit offset within the buffer */
			nc.r[reg] = (uint64_t)((int64_t)(rnd() % 801) - 400);
		if (f->kind == K_CMPXCHG && (rnd() & 1))
			memcpy(&nc.r[0], ibuf + MID + disp, 8);
		fl = 0x2 | (rnd() & ARITH);
		nc.rflags = fl;
		nc.code = code_page;
		nc.r[3] = (uint64_t)(uintptr_t)(nbuf + MID);
		memcpy(nbuf, ibuf, BUF);

		/* The emulation, on the same inputs. */
		in_ram = rnd() & 1;
		ebase = in_ram ? EMU_RAM : G_MMIO_GPA + EMU_MMIO_OFF;
		emem = in_ram ? g->ram + EMU_RAM : g->mmio + EMU_MMIO_OFF;
		memcpy(emem, ibuf, BUF);
		memcpy(g->st->gprs, nc.r, sizeof(nc.r));
		g->st->gprs[NVMM_X64_GPR_RBX] = ebase + MID;
		g->st->gprs[NVMM_X64_GPR_RIP] = G_CODE;
		g->st->gprs[NVMM_X64_GPR_RFLAGS] = fl;
		g_mem_exit(g, NVMM_PROT_WRITE, ebase + MID + disp, bytes, n,
			   true);

		native_run(&nc);

		CHECK(nvmm_assist_mem(&g->mach, &g->vcpu) == 0,
			      "%s/%u: errno %d", f->name, size, errno);
		CHECK(g->st->gprs[NVMM_X64_GPR_RIP] == G_CODE + n, "%s: RIP",
		      f->name);
		for (i = 0; i < 16; i++) {
			if (i == 3 || i == 4)
				continue;
			CHECK(g->st->gprs[i] == nc.r[i],
				      "%s/%u (%02x %02x %02x %02x): reg %u: "
				      "emulated %#lx native %#lx", f->name,
				      size, bytes[0], bytes[1], bytes[2],
				      bytes[3], i,
				      (unsigned long)g->st->gprs[i],
				      (unsigned long)nc.r[i]);
		}
		CHECK(nc.r[3] == (uint64_t)(uintptr_t)(nbuf + MID),
			      "native base changed");
		CHECK(memcmp(emem, nbuf, BUF) == 0,
			      "%s/%u: memory differs", f->name, size);
		CHECK(((g->st->gprs[NVMM_X64_GPR_RFLAGS] ^ nc.rflags) &
			       ARITH & ~f->undef) == 0,
			      "%s/%u (%02x %02x %02x %02x): flags emulated %#lx "
			      "native %#lx (in %#lx)", f->name, size, bytes[0],
			      bytes[1], bytes[2], bytes[3],
			      (unsigned long)g->st->gprs[NVMM_X64_GPR_RFLAGS],
			      (unsigned long)nc.rflags, (unsigned long)fl);
		st->runs++;
		if (f->undef) {
			st->undef_runs++;
			if (((g->st->gprs[NVMM_X64_GPR_RFLAGS] ^ nc.rflags) &
			     f->undef) == 0)
				st->undef_same++;
		}
	}
}

static void run_forms(size_t from, size_t to)
{
	struct guest g;
	struct stats st = { 0, 0, 0 };
	size_t i;
	unsigned int s;

	ck_assert_int_eq(g_init(&g), 0);
	for (i = from; i < to && i < nforms; i++)
		for (s = 0; s < 4; s++)
			if (forms[i].sizes & (1u << s))
				run_form(&g, &forms[i], 1u << s, &st);
	ksft_print("%lu runs; undefined flags equal to the CPU's in %lu of %lu",
		   st.runs, st.undef_same, st.undef_runs);
	ck_assert_uint_gt(st.runs, 0);
	g_fini(&g);
}

static void setup(void)
{
	seed();
	build_forms();
	if (code_page == NULL) {
		code_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(code_page, MAP_FAILED);
	}
}

START_TEST(native_alu)
{
	setup();
	run_forms(0, 56);
}
END_TEST

START_TEST(native_unary_mov_xchg)
{
	setup();
	run_forms(56, 84);
}
END_TEST

START_TEST(native_bt_setcc_cmov)
{
	setup();
	run_forms(84, nforms);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* String instructions. */

struct sform {
	const char *name;
	uint8_t opc;
	bool src, dst;
};

static const struct sform sforms[] = {
	{ "movs", 0xA4, true, true }, { "cmps", 0xA6, true, true },
	{ "stos", 0xAA, false, true }, { "lods", 0xAC, true, false },
	{ "scas", 0xAE, false, true },
};

START_TEST(native_strings)
{
	static uint8_t nsrc[1024], ndst[1024], isrc[1024], idst[1024];
	struct guest g;
	struct nctx nc;
	unsigned long runs = 0;
	unsigned int it, s, k;

	setup();
	ck_assert_int_eq(g_init(&g), 0);
	for (it = 0; it < iters() * 2; it++) {
		const struct sform *f = &sforms[rnd() % 5];
		unsigned int size = 1u << (rnd() % 4), calls = 0;
		unsigned int pfx = (unsigned int)(rnd() % 3);	/* -, F3, F2 */
		bool down = rnd() & 1, src_ram = rnd() & 1;
		/* Emulated bases: a page boundary may fall in the run. */
		uint64_t so = 0x800 + (rnd() % 0x900), doff = 0x800 + (rnd() % 0x900);
		uint64_t sgpa = src_ram ? EMU_RAM + so : G_MMIO_GPA + so;
		uint64_t dgpa = src_ram ? G_MMIO_GPA + 0x4000 + doff :
					  EMU_RAM + 0x4000 + doff;
		uint8_t *semu = src_ram ? g.ram + EMU_RAM + so : g.mmio + so;
		uint8_t *demu = src_ram ? g.mmio + 0x4000 + doff :
					  g.ram + EMU_RAM + 0x4000 + doff;
		uint8_t bytes[4];
		size_t n = 0;
		uint64_t fl;

		if (pfx)
			bytes[n++] = pfx == 1 ? 0xF3 : 0xF2;
		if (size == 2)
			bytes[n++] = 0x66;
		if (size == 8)
			bytes[n++] = 0x48;
		bytes[n++] = (uint8_t)(f->opc + (size > 1));
		memcpy(code_page, bytes, n);
		code_page[n] = 0xC3;

		/* Mostly equal buffers so that REPE runs a while. */
		for (k = 0; k < 1024; k++) {
			isrc[k] = (uint8_t)(k * 3);
			idst[k] = (rnd() % 64) ? isrc[k] : (uint8_t)rnd();
		}
		for (k = 0; k < 16; k++)
			nc.r[k] = rnd_val();
		nc.r[1] = rnd() % 41;
		if (rnd() % 4 == 0)
			nc.r[0] = isrc[512 + (rnd() % 8)];
		fl = 0x2 | (rnd() & ARITH) | (down ? DF : 0);
		memcpy(nsrc, isrc, 1024);
		memcpy(ndst, idst, 1024);
		nc.r[6] = (uint64_t)(uintptr_t)(nsrc + 512);
		nc.r[7] = (uint64_t)(uintptr_t)(ndst + 512);
		nc.rflags = fl;
		nc.code = code_page;

		memcpy(semu - 512, isrc, 1024);
		memcpy(demu - 512, idst, 1024);
		memcpy(g.st->gprs, nc.r, sizeof(nc.r));
		g.st->gprs[NVMM_X64_GPR_RSI] = sgpa;
		g.st->gprs[NVMM_X64_GPR_RDI] = dgpa;
		g.st->gprs[NVMM_X64_GPR_RIP] = G_CODE;
		g.st->gprs[NVMM_X64_GPR_RFLAGS] = fl;

		native_run(&nc);

		/* Call the assist until the instruction is done. */
		do {
			g_mem_exit(&g, NVMM_PROT_WRITE, G_MMIO_GPA, bytes, n,
				   true);
			CHECK(nvmm_assist_mem(&g.mach, &g.vcpu) == 0,
				      "%s: errno %d", f->name, errno);
			calls++;
		} while (g.st->gprs[NVMM_X64_GPR_RIP] == G_CODE && calls < 50);
		CHECK(g.st->gprs[NVMM_X64_GPR_RIP] == G_CODE + n, "%s: RIP",
		      f->name);

		for (k = 0; k < 16; k++) {
			uint64_t e = g.st->gprs[k], v = nc.r[k];

			if (k == 4)
				continue;
			if (k == 6) {
				e -= sgpa;
				v -= (uint64_t)(uintptr_t)(nsrc + 512);
			}
			if (k == 7) {
				e -= dgpa;
				v -= (uint64_t)(uintptr_t)(ndst + 512);
			}
			CHECK(e == v, "%s/%u pfx %u df %d: reg %u: "
				      "emulated %#lx native %#lx", f->name,
				      size, pfx, down, k, (unsigned long)e,
				      (unsigned long)v);
		}
		CHECK(((g.st->gprs[NVMM_X64_GPR_RFLAGS] ^ nc.rflags) &
			       (ARITH | DF)) == 0,
			      "%s/%u pfx %u: flags emulated %#lx native %#lx",
			      f->name, size, pfx,
			      (unsigned long)g.st->gprs[NVMM_X64_GPR_RFLAGS],
			      (unsigned long)nc.rflags);
		CHECK(memcmp(semu - 512, nsrc, 1024) == 0 &&
			      memcmp(demu - 512, ndst, 1024) == 0,
			      "%s/%u: memory differs", f->name, size);
		runs++;
		(void)s;
	}
	ksft_print("%lu string runs", runs);
	g_fini(&g);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(native_alu),
		KSFT_TEST(native_unary_mov_xchg),
		KSFT_TEST(native_bt_setcc_cmov),
		KSFT_TEST(native_strings),
	};

	return ksft_run("emul_native", tests,
			sizeof(tests) / sizeof(tests[0]), 240);
}
