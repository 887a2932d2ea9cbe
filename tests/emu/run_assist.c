/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The assists end to end: guests running under /dev/nvmm do MMIO with every
 * instruction nvmm_assist_mem() emulates, in 64-bit, 32-bit and 16-bit code
 * (real mode and 16-bit protected mode), and string I/O through
 * nvmm_assist_io(); the test is the device.
 *
 * The guests (tests/guests/assist_long.S, assist_prot32.S, assist_code16.S)
 * are a runner and a list of stubs, each one instruction: at each request
 * (OUT to port 0xF0) the test gives the runner an entry (a stub, RFLAGS,
 * the GPRs); the runner loads them, runs the stub and reports every GPR and
 * RFLAGS with one REP OUTSL to port 0xF0 (which this test handles itself,
 * reading the guest's memory: the report does not go through the assists).
 *
 * Expectations are independent of libvmm: every instruction runs twice,
 * first on a mirror of the operands in ordinary RAM, where the CPU (the
 * emulated host's CPU running the nested guest) executes it, then on the
 * target operands (MMIO, RAM and MMIO across a page, ...) where a MEMORY
 * exit makes nvmm_assist_mem() emulate it. The registers, the flags the
 * SDM defines and the memory must come out the same. The device log must
 * hold exactly the accesses written down here: what the instruction reads
 * and writes (descriptors in the guest programs), split as the API says
 * (per page, then into 8/4/2/1-byte calls), reads with the bytes the
 * device held before, writes with the bytes it holds after. String
 * instructions are also checked against their definition (counts,
 * pointers, copied or stored data), and REP INS/OUTS (no RAM mirror for
 * I/O) entirely against it, with the number of VCPU runs they took.
 *
 * Guest-physical layout ("the window", WB its base):
 *   [WB, WB + 0x8000)            RAM (mirrors, RAM operands; in 16-bit
 *                                code also the runner's data and stack)
 *   [WB + 0x8000, WB + 0xF000)   MMIO: the device, a byte array
 *   [WB + 0xF000, WB + 0x10000)  RAM
 * WB is 0x3FFF8000 (MMIO from 1 GiB) except in real mode (0x78000).
 * Main RAM [0, 512 KiB) holds the program, page tables and GDT (vm.c), and
 * in 32/64-bit code the mirrors of large string operands.
 *
 * Environment: ASSIST_SEED (random registers and data), ASSIST_ROUNDS
 * (rounds of the instruction cases; default 2, 1 on the Bochs lanes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"
#include "../guests/assist.h"

/* Check's assertions cost a write each time they pass: only fail here. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			fail_at(__LINE__, __VA_ARGS__);			\
	} while (0)

/* The guests' protocol and descriptors (tests/guests/assist.h). */
#define S_REP		0x03

enum { OP_MOVS = 1, OP_STOS, OP_LODS, OP_CMPS, OP_SCAS, OP_INS, OP_OUTS };

struct ghdr {
	char magic[4];
	uint32_t bits, desc_start, desc_end, cur, save, dump_dwords, pad;
};

struct desc {
	uint32_t m, t, e, toff;
	uint8_t kind, acc, size, flags;
	int16_t arg;
	uint16_t pad;
	uint32_t name, pad2;
};

/* Flags. */
#define CF	0x001ULL
#define PF	0x004ULL
#define AF	0x010ULL
#define ZF	0x040ULL
#define SF	0x080ULL
#define DF	0x400ULL
#define OF	0x800ULL
#define ARITH	(CF | PF | AF | ZF | SF | OF)

/* The window. */
#define W_RAM1		0x0000
#define W_MMIO		0x8000
#define W_RAM2		0xF000
#define W_END		0x10000
#define DEV_SIZE	(W_RAM2 - W_MMIO)
#define FS_DELTA	0x100		/* FS.base = WB + 0x100 */
#define GS_DELTA	(-0x200)	/* GS.base = WB - 0x200 */
#define STREAM_PORT	0x3E0

#define MAIN_RAM	0x80000

/* GPRs as the runner loads and reports them. */
enum { G_AX, G_CX, G_DX, G_BX, G_BP, G_SI, G_DI, G_R8 };
#define NREG_MAX	15

struct mode {
	const char *name;
	const char *guest;
	unsigned int bits;	/* code size */
	bool real;
	uint64_t wb;		/* the window's guest-physical base */
	unsigned int nreg;	/* GPRs reported */
	unsigned int adsize;	/* default address size */
};

static const struct mode mode64 = {
	"64-bit", "assist_long", 64, false, 0x3FFF8000, 15, 8 };
static const struct mode mode32 = {
	"32-bit", "assist_prot32", 32, false, 0x3FFF8000, 7, 4 };
static const struct mode mode_real = {
	"real mode", "assist_code16", 16, true, 0x78000, 7, 2 };
static const struct mode mode_prot16 = {
	"16-bit protected", "assist_code16", 16, false, 0x3FFF8000, 7, 2 };

static struct vm vm;

/* Everything about the running test. */
static struct {
	const struct mode *m;
	const struct ghdr *hdr;
	const struct desc *descs;
	unsigned int ndesc;
	uint8_t *ram1, *ram2;		/* host views of the window's RAM */
	uint8_t *extra1, *extra2;	/* mappings to free */
	size_t extra1_size, extra2_size;
	uint64_t dev_gpa;
	uint8_t dev[DEV_SIZE];
	uint8_t dev_before[DEV_SIZE];
	uint8_t win_before[W_END];
	/* The device's log. */
	struct acc { uint64_t gpa; uint32_t size; bool write; uint64_t data; }
		*log;
	size_t nlog, log_cap;
	/* The port: IN gives stream bytes, OUT collects them. */
	uint64_t in_pos;
	uint8_t *out;
	size_t nout, out_cap;
	unsigned int nio_cb, io_size_seen;
	/* Random numbers. */
	uint64_t rng;
	/* Counters, for the report. */
	unsigned long entries, exits, mem_exits, io_exits;
} T;

static void fail_at(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static char ctx_what[256];	/* what was being checked, for messages */

static void fail_at(int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ck_abort_msg("line %d: %s [%s, %s]", line, msg,
		     T.m ? T.m->name : "?", ctx_what);
}

static uint64_t rnd(void)
{
	uint64_t x = T.rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	T.rng = x;
	return x;
}

static uint64_t seed(void)
{
	const char *e = getenv("ASSIST_SEED");
	uint64_t s = e ? strtoull(e, NULL, 0) : 0x5EED0A55157ULL;

	return s ? s : 1;
}

static unsigned int rounds(void)
{
	const char *e = getenv("ASSIST_ROUNDS");

	if (e)
		return (unsigned int)strtoul(e, NULL, 0);
	return emu_lane_bochs() ? 1 : 2;
}

static uint64_t regmask(void)
{
	return T.m->bits == 64 ? ~0ULL : 0xFFFFFFFFULL;
}

static uint64_t admask(unsigned int adsize)
{
	return adsize == 8 ? ~0ULL : (1ULL << (8 * adsize)) - 1;
}

/* -------------------------------------------------------------------------- */
/* Memory. */

static uint64_t wgpa(uint64_t off)
{
	return T.m->wb + off;
}

static bool is_mmio(uint64_t gpa)
{
	return gpa >= T.dev_gpa && gpa < T.dev_gpa + DEV_SIZE;
}

/* The host byte behind a guest-physical address (RAM or the device). */
static uint8_t *host(uint64_t gpa)
{
	if (gpa >= T.m->wb && gpa < T.m->wb + W_END) {
		uint64_t off = gpa - T.m->wb;

		if (off < W_MMIO)
			return T.ram1 + off;
		if (off < W_RAM2)
			return T.dev + (off - W_MMIO);
		return T.ram2 + (off - W_RAM2);
	}
	CHECK(gpa < MAIN_RAM, "no memory at %#" PRIx64, gpa);
	return vm.ram + gpa;
}

static uint64_t get_le(uint64_t gpa, unsigned int size)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)*host(gpa + i) << (8 * i);
	return v;
}

static void put_le(uint64_t gpa, uint64_t v, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		*host(gpa + i) = (uint8_t)(v >> (8 * i));
}

/* What the guest's DS/ES-relative register holds for gpa. */
static uint64_t regaddr(uint64_t gpa)
{
	if (T.m->bits == 16) {
		CHECK(gpa >= T.m->wb && gpa < T.m->wb + W_END,
		      "%#" PRIx64 " is outside the window", gpa);
		return gpa - T.m->wb;
	}
	return gpa;
}

/* The same through FS (base WB + FS_DELTA), wrapping as the CPU does. */
static uint64_t regaddr_fs(uint64_t gpa)
{
	if (T.m->bits == 16)
		return regaddr(gpa) - FS_DELTA;
	return (gpa - (T.m->wb + FS_DELTA)) & regmask();
}

static void mem_cb(struct nvmm_mem *mem)
{
	uint64_t v = 0;

	if (mem->gpa < T.dev_gpa || mem->gpa + mem->size > T.dev_gpa + DEV_SIZE ||
	    (mem->size != 1 && mem->size != 2 && mem->size != 4 &&
	     mem->size != 8))
		CHECK(false, "device access at %#" PRIx64 ", %zu bytes, %s",
		      mem->gpa, mem->size, mem->write ? "write" : "read");
	if (mem->write)
		memcpy(T.dev + (mem->gpa - T.dev_gpa), mem->data, mem->size);
	else
		memcpy(mem->data, T.dev + (mem->gpa - T.dev_gpa), mem->size);
	memcpy(&v, mem->data, mem->size);
	if (T.nlog == T.log_cap) {
		T.log_cap = T.log_cap ? T.log_cap * 2 : 4096;
		T.log = realloc(T.log, T.log_cap * sizeof(*T.log));
		ck_assert_ptr_nonnull(T.log);
	}
	T.log[T.nlog++] = (struct acc){ mem->gpa, (uint32_t)mem->size,
					mem->write, v };
}

static uint8_t stream_byte(uint64_t i)
{
	return (uint8_t)(i * 151 + (i >> 8) * 7 + 0x3C);
}

static void io_cb(struct nvmm_io *io)
{
	size_t i;

	if (io->port != STREAM_PORT ||
	    (io->size != 1 && io->size != 2 && io->size != 4))
		CHECK(false, "I/O to port %#x, %zu bytes", io->port, io->size);
	if (T.io_size_seen == 0)
		T.io_size_seen = (unsigned int)io->size;
	else if (T.io_size_seen != io->size)
		T.io_size_seen = ~0u;
	T.nio_cb++;
	if (io->in) {
		for (i = 0; i < io->size; i++)
			io->data[i] = stream_byte(T.in_pos++);
		return;
	}
	if (T.nout + io->size > T.out_cap) {
		T.out_cap = T.out_cap ? T.out_cap * 2 : 65536;
		T.out = realloc(T.out, T.out_cap);
		ck_assert_ptr_nonnull(T.out);
	}
	memcpy(T.out + T.nout, io->data, io->size);
	T.nout += io->size;
}

/* A RAM area at gpa, outside the main RAM. */
static uint8_t *map_extra(uint64_t gpa, size_t size)
{
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert(p != MAP_FAILED);
	ck_assert_msg(nvmm_hva_map(&vm.mach, (uintptr_t)p, size) == 0,
		      "hva_map: %s", strerror(errno));
	ck_assert_msg(nvmm_gpa_map(&vm.mach, (uintptr_t)p, gpa, size,
				   PROT_READ | PROT_WRITE | PROT_EXEC) == 0,
		      "gpa_map %#" PRIx64 ": %s", gpa, strerror(errno));
	return p;
}

/* -------------------------------------------------------------------------- */
/* The machine. */

static void seg_set(struct nvmm_x64_state_seg *s, uint16_t sel, uint64_t base)
{
	s->selector = sel;
	s->base = base;
}

static void setup(const struct mode *m)
{
	struct nvmm_assist_callbacks cbs = { .io = io_cb, .mem = mem_cb };
	struct nvmm_x64_state *st;
	unsigned int i;

	memset(&T, 0, sizeof(T));
	T.m = m;
	T.rng = seed();
	vm_create(&vm, MAIN_RAM);
	if (m->real) {
		T.ram1 = vm.ram + m->wb;
		T.extra2_size = 0x1000;
		T.extra2 = map_extra(m->wb + W_RAM2, T.extra2_size);
	} else {
		T.extra1_size = W_MMIO;
		T.extra1 = map_extra(m->wb, T.extra1_size);
		T.ram1 = T.extra1;
		T.extra2_size = W_END - W_RAM2;
		T.extra2 = map_extra(m->wb + W_RAM2, T.extra2_size);
	}
	T.ram2 = T.extra2;
	T.dev_gpa = m->wb + W_MMIO;
	vm_load(&vm, m->guest);
	T.hdr = (const struct ghdr *)(vm.ram + VM_CODE + 8);
	ck_assert_mem_eq(T.hdr->magic, "ASST", 4);
	ck_assert_uint_eq(T.hdr->bits, m->bits);
	ck_assert_uint_eq(T.hdr->dump_dwords,
			  m->bits == 64 ? 2 * (m->nreg + 1) : m->nreg + 1);
	T.descs = (const struct desc *)(vm.ram + T.hdr->desc_start);
	T.ndesc = (T.hdr->desc_end - T.hdr->desc_start) / sizeof(struct desc);
	ck_assert_uint_gt(T.ndesc, 10);

	if (m->bits == 64)
		vm_mode_long(&vm, 0, VM_CODE);
	else if (m->real)
		vm_mode_real(&vm, 0, VM_CODE);
	else
		vm_mode_prot32(&vm, 0, VM_CODE);
	ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
					     NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);

	vm_get(&vm, 0, NVMM_X64_STATE_ALL);
	st = vm_state(&vm, 0);
	if (m->bits == 16) {
		static const int data[] = { NVMM_X64_SEG_DS, NVMM_X64_SEG_ES,
					    NVMM_X64_SEG_SS };

		for (i = 0; i < 3; i++) {
			st->segs[data[i]].base = m->wb;
			st->segs[data[i]].limit = 0xFFFF;
			if (m->real)
				st->segs[data[i]].selector =
					(uint16_t)(m->wb >> 4);
		}
		st->segs[NVMM_X64_SEG_FS].limit = 0xFFFF;
		st->segs[NVMM_X64_SEG_GS].limit = 0xFFFF;
		if (!m->real) {
			st->segs[NVMM_X64_SEG_CS].attrib.def = 0;
			st->segs[NVMM_X64_SEG_CS].limit = 0xFFFF;
			st->segs[NVMM_X64_SEG_CS].attrib.g = 0;
			for (i = 0; i < 3; i++) {
				st->segs[data[i]].attrib.g = 0;
				st->segs[data[i]].attrib.def = 0;
			}
			st->segs[NVMM_X64_SEG_FS].attrib.g = 0;
			st->segs[NVMM_X64_SEG_GS].attrib.g = 0;
		}
		st->gprs[NVMM_X64_GPR_RSP] = 0x7800;
	}
	seg_set(&st->segs[NVMM_X64_SEG_FS],
		m->real ? (uint16_t)((m->wb + FS_DELTA) >> 4) :
		st->segs[NVMM_X64_SEG_FS].selector, m->wb + FS_DELTA);
	seg_set(&st->segs[NVMM_X64_SEG_GS],
		m->real ? (uint16_t)((m->wb + GS_DELTA) >> 4) :
		st->segs[NVMM_X64_SEG_GS].selector, m->wb + GS_DELTA);
	if (m->bits == 64 && strcmp(emu_lane(), "svm") != 0) {
		/*
		 * Null in 64-bit mode: a base there must change nothing. Not
		 * on QEMU: its TCG adds the base of ES, CS, SS or DS when a
		 * prefix names the segment, and the mirror runs would fault.
		 */
		st->segs[NVMM_X64_SEG_DS].base = 0x10000000;
		st->segs[NVMM_X64_SEG_ES].base = 0x20000000;
		st->segs[NVMM_X64_SEG_SS].base = 0x30000000;
	}
	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
}

static void teardown(void)
{
	vm_destroy(&vm);
	if (T.extra1)
		munmap(T.extra1, T.extra1_size);
	if (T.extra2)
		munmap(T.extra2, T.extra2_size);
	free(T.log);
	free(T.out);
}

/* -------------------------------------------------------------------------- */
/* Entries: one stub run with given registers. */

struct regs {
	uint64_t r[NREG_MAX];
	uint64_t fl;
};

struct res {
	struct regs out;
	unsigned int runs, mem_exits, io_exits;
};

static struct nvmm_x64_state *st0(void)
{
	return vm_state(&vm, 0);
}

static uint64_t cur_gpa(void)
{
	return T.m->bits == 16 ? wgpa(T.hdr->cur) : T.hdr->cur;
}

static uint64_t save_gpa(void)
{
	return T.m->bits == 16 ? wgpa(T.hdr->save) : T.hdr->save;
}

/* The VCPU stopped at a request: what the runner reports. */
static void read_dump(struct regs *out)
{
	const struct nvmm_vcpu_exit *exit = vm.vcpu[0].exit;
	struct nvmm_x64_state *st = st0();
	/* The runner's REP OUTSL has the code's address size (the exit may
	 * not say: QEMU's SVM does not). */
	uint64_t am = admask(T.m->adsize);
	uint64_t n = st->gprs[NVMM_X64_GPR_RCX] & am;
	uint64_t rsi = st->gprs[NVMM_X64_GPR_RSI];
	unsigned int i;

	CHECK(exit->u.io.rep && !exit->u.io.in && exit->u.io.operand_size == 4,
	      "unexpected string I/O to the report port");
	CHECK(n == T.hdr->dump_dwords && (rsi & am) == T.hdr->save,
	      "report of %" PRIu64 " dwords from %#" PRIx64, n, rsi);
	if (T.m->bits == 64) {
		for (i = 0; i < T.m->nreg; i++)
			out->r[i] = get_le(save_gpa() + 8 * i, 8);
		out->fl = get_le(save_gpa() + 8 * T.m->nreg, 8);
	} else {
		for (i = 0; i < T.m->nreg; i++)
			out->r[i] = get_le(save_gpa() + 4 * i, 4);
		out->fl = get_le(save_gpa() + 4 * T.m->nreg, 4);
	}
	st->gprs[NVMM_X64_GPR_RCX] &= ~am;
	st->gprs[NVMM_X64_GPR_RSI] = (rsi & ~am) | ((rsi + 4 * n) & am);
	st->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
}

/*
 * Run one entry from a request to the next. fail_errno: the assist must
 * fail with it (and change nothing); the test then skips the instruction.
 */
static void run_entry(const struct desc *d, bool target, const struct regs *in,
		      struct res *res, int fail_errno)
{
	const struct nvmm_vcpu_exit *exit = vm.vcpu[0].exit;
	struct nvmm_x64_state *st = st0();
	uint64_t cur = cur_gpa(), stub = target ? d->t : d->m;
	bool dumped = false;
	unsigned int i;

	memset(res, 0, sizeof(*res));
	/* The VCPU is at the request: fill the entry, go past the OUT. */
	CHECK(exit->reason == NVMM_VCPU_EXIT_IO && exit->u.io.port ==
	      VM_PORT_REPORT && (uint32_t)st->gprs[NVMM_X64_GPR_RAX] == ASSIST_REQ,
	      "not at a request");
	if (T.m->bits == 64) {
		put_le(cur, stub, 8);
		put_le(cur + 8, in->fl, 8);
		for (i = 0; i < T.m->nreg; i++)
			put_le(cur + 16 + 8 * i, in->r[i], 8);
	} else {
		put_le(cur, stub, 4);
		put_le(cur + 4, in->fl, 4);
		for (i = 0; i < T.m->nreg; i++)
			put_le(cur + 8 + 4 * i, in->r[i], 4);
	}
	st->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	T.entries++;

	for (;;) {
		uint64_t reason = vm_run_once(&vm, 0);

		res->runs++;
		T.exits++;
		if (reason == NVMM_VCPU_EXIT_NONE)
			continue;	/* the host took the CPU back */
		if (reason == NVMM_VCPU_EXIT_MEMORY) {
			res->mem_exits++;
			T.mem_exits++;
			if (fail_errno != 0) {
				struct nvmm_x64_state before;
				uint64_t commit = vm.mach.pages[0]->state_commit;
				size_t nlog = T.nlog;
				int r;

				memcpy(&before, st, sizeof(before));
				errno = 0;
				r = nvmm_assist_mem(&vm.mach, &vm.vcpu[0]);
				CHECK(r == -1 && errno == fail_errno,
				      "assist returned %d, errno %d, not %d",
				      r, errno, fail_errno);
				CHECK(memcmp(&before, st, sizeof(before)) == 0 &&
				      vm.mach.pages[0]->state_commit == commit &&
				      T.nlog == nlog,
				      "a failed assist changed the state or "
				      "made device accesses");
				CHECK(res->mem_exits == 1, "exits again");
				/* Skip the instruction. */
				vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
				st->gprs[NVMM_X64_GPR_RIP] = d->e;
				vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
				continue;
			}
			CHECK(nvmm_assist_mem(&vm.mach, &vm.vcpu[0]) == 0,
			      "nvmm_assist_mem at gpa %#" PRIx64 " (%s): %s",
			      exit->u.mem.gpa, exit->u.mem.prot ==
			      NVMM_PROT_WRITE ? "write" : "read",
			      strerror(errno));
			continue;
		}
		CHECK(reason == NVMM_VCPU_EXIT_IO,
		      "exit %#" PRIx64 " (RIP %#" PRIx64 ")", reason,
		      st->gprs[NVMM_X64_GPR_RIP]);
		if (exit->u.io.port == STREAM_PORT) {
			res->io_exits++;
			T.io_exits++;
			CHECK(nvmm_assist_io(&vm.mach, &vm.vcpu[0]) == 0,
			      "nvmm_assist_io: %s", strerror(errno));
			continue;
		}
		CHECK(exit->u.io.port == VM_PORT_REPORT,
		      "I/O to port %#x", exit->u.io.port);
		if (exit->u.io.str) {
			CHECK(!dumped, "two reports");
			read_dump(&res->out);
			dumped = true;
			continue;
		}
		CHECK(dumped && (uint32_t)st->gprs[NVMM_X64_GPR_RAX] == ASSIST_REQ,
		      "request without a report (EAX %#" PRIx64 ")",
		      st->gprs[NVMM_X64_GPR_RAX]);
		return;
	}
}

static void start_guest(void)
{
	uint64_t reason = vm_run_once(&vm, 0);

	ck_assert_msg(reason == NVMM_VCPU_EXIT_IO &&
		      vm.vcpu[0].exit->u.io.port == VM_PORT_REPORT,
		      "the runner did not start: exit %#" PRIx64, reason);
}

static void stop_guest(void)
{
	const struct nvmm_vcpu_exit *exit = vm.vcpu[0].exit;
	uint64_t reason;

	put_le(cur_gpa(), 0, T.m->bits == 64 ? 8 : 4);
	st0()->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	reason = vm_run_once(&vm, 0);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED, "exit %#" PRIx64
		      " instead of HALTED", reason);
}

/* -------------------------------------------------------------------------- */
/* Expected device accesses. */

static struct acc *exp_log;
static size_t nexp, exp_cap;

static void exp_reset(void)
{
	nexp = 0;
}

/* An access of size bytes at gpa: the MMIO parts, per page, 8/4/2/1. */
static void exp_add(uint64_t gpa, unsigned int size, bool write)
{
	while (size > 0) {
		unsigned int span = 4096 - (gpa & 4095);

		if (span > size)
			span = size;
		if (is_mmio(gpa)) {
			uint64_t a = gpa;
			unsigned int left = span;

			while (left > 0) {
				unsigned int k = left >= 8 ? 8 : left >= 4 ? 4 :
						 left >= 2 ? 2 : 1;

				if (nexp == exp_cap) {
					exp_cap = exp_cap ? exp_cap * 2 : 4096;
					exp_log = realloc(exp_log, exp_cap *
							  sizeof(*exp_log));
					ck_assert_ptr_nonnull(exp_log);
				}
				exp_log[nexp++] = (struct acc){ a, k, write, 0 };
				a += k;
				left -= k;
			}
		}
		gpa += span;
		size -= span;
	}
}

/* Reads see what the device held before; writes leave what it holds now. */
static void exp_check(void)
{
	size_t i;

	for (i = 0; i < nexp && i < T.nlog; i++) {
		const struct acc *e = &exp_log[i], *g = &T.log[i];
		uint64_t want = 0;
		unsigned int k;

		for (k = 0; k < e->size; k++) {
			uint64_t off = e->gpa + k - T.dev_gpa;

			want |= (uint64_t)(e->write ? T.dev[off] :
					   T.dev_before[off]) << (8 * k);
		}
		CHECK(g->gpa == e->gpa && g->size == e->size &&
		      g->write == e->write && g->data == want,
		      "device access %zu of %zu: %s %u bytes at %#" PRIx64
		      " = %#" PRIx64 ", expected %s %u at %#" PRIx64 " = %#"
		      PRIx64, i, nexp, g->write ? "write" : "read", g->size,
		      g->gpa, g->data, e->write ? "write" : "read", e->size,
		      e->gpa, want);
	}
	CHECK(T.nlog == nexp, "%zu device accesses, expected %zu", T.nlog,
	      nexp);
}

/* -------------------------------------------------------------------------- */
/* Memory areas: initialized before a pair of runs, compared after. */

struct area {
	uint64_t t, m;		/* target and mirror gpa (equal: shared) */
	uint64_t len;
};

#define MAX_AREAS 4
static struct area areas[MAX_AREAS];
static unsigned int nareas;

static void area_add(uint64_t t, uint64_t m, uint64_t len)
{
	ck_assert_uint_lt(nareas, MAX_AREAS);
	areas[nareas++] = (struct area){ t, m, len };
}

static void areas_fill_random(void)
{
	unsigned int i;
	uint64_t k;

	for (i = 0; i < nareas; i++) {
		for (k = 0; k < areas[i].len; k++) {
			uint8_t b = (uint8_t)rnd();

			*host(areas[i].t + k) = b;
			*host(areas[i].m + k) = b;
		}
	}
}

static void areas_compare(void)
{
	unsigned int i;
	uint64_t k;

	for (i = 0; i < nareas; i++) {
		if (areas[i].t == areas[i].m)
			continue;
		for (k = 0; k < areas[i].len; k++)
			CHECK(*host(areas[i].t + k) == *host(areas[i].m + k),
			      "memory at %#" PRIx64 " is %#x, the CPU left %#x "
			      "at its mirror %#" PRIx64, areas[i].t + k,
			      *host(areas[i].t + k), *host(areas[i].m + k),
			      areas[i].m + k);
	}
}

/* Before a target run: snapshot the window (and the device). */
static void snapshot(void)
{
	uint64_t k;

	for (k = 0; k < W_END; k++)
		T.win_before[k] = *host(wgpa(k));
	memcpy(T.dev_before, T.dev, DEV_SIZE);
	T.nlog = 0;
}

/* After it: nothing changed in the window but the target areas. */
static void check_untouched(void)
{
	uint64_t k;
	unsigned int i;

	for (k = 0; k < W_END; k++) {
		uint64_t gpa = wgpa(k);
		bool mine = false;

		if (T.m->bits == 16 && k >= 0x7000 && k < 0x7800)
			continue;	/* the runner's data and stack */
		for (i = 0; i < nareas && !mine; i++)
			mine = gpa >= areas[i].t &&
			       gpa < areas[i].t + areas[i].len;
		if (mine)
			continue;
		CHECK(*host(gpa) == T.win_before[k],
		      "stray write at %#" PRIx64 ": %#x -> %#x", gpa,
		      T.win_before[k], *host(gpa));
	}
}

/* -------------------------------------------------------------------------- */
/* Register results: the target run against the mirror run. */

static void compare_runs(const struct regs *in_m, const struct res *m,
			 const struct regs *in_t, const struct res *t,
			 uint64_t undef)
{
	static const char *const names64[] = {
		"RAX", "RCX", "RDX", "RBX", "RBP", "RSI", "RDI", "R8", "R9",
		"R10", "R11", "R12", "R13", "R14", "R15" };
	const uint64_t mask = regmask();
	unsigned int i;

	for (i = 0; i < T.m->nreg; i++) {
		uint64_t a = t->out.r[i], b = m->out.r[i];

		if (in_t->r[i] != in_m->r[i]) {	/* a pointer: compare moves */
			a = (a - in_t->r[i]) & mask;
			b = (b - in_m->r[i]) & mask;
		}
		CHECK(a == b, "%s: %#" PRIx64 " (in %#" PRIx64 "), the CPU "
		      "gives %#" PRIx64 " (in %#" PRIx64 ")", names64[i],
		      t->out.r[i], in_t->r[i], m->out.r[i], in_m->r[i]);
	}
	CHECK(((t->out.fl ^ m->out.fl) & ~undef) == 0,
	      "RFLAGS %#" PRIx64 ", the CPU gives %#" PRIx64 " (in %#" PRIx64
	      ", undefined %#" PRIx64 ")", t->out.fl, m->out.fl, in_t->fl,
	      undef);
}

static void random_regs(struct regs *r, bool df)
{
	unsigned int i;

	for (i = 0; i < NREG_MAX; i++)
		r->r[i] = rnd() & regmask();
	r->fl = 0x2 | (rnd() & ARITH) | (df ? DF : 0);
}

/* -------------------------------------------------------------------------- */
/* Instructions with a ModRM or moffs memory operand. */

static const char *dname(const struct desc *d)
{
	return (const char *)(vm.ram + d->name);
}

static void run_insn(const struct desc *d)
{
	const uint64_t tgt = wgpa(d->toff), mir = wgpa(0x1000);
	struct regs in_m, in_t;
	struct res rm, rt;
	int64_t off = d->arg;
	uint64_t undef = 0;

	snprintf(ctx_what, sizeof(ctx_what), "%s at %#" PRIx64, dname(d), tgt);
	random_regs(&in_m, false);
	in_m.r[G_SI] = 2;
	in_m.r[G_DI] = 3;
	if (d->flags & F_BTREG) {
		int64_t bits = 8 * d->size, bit = d->arg;

		in_m.r[G_DX] = (uint64_t)(int64_t)d->arg & regmask();
		off = (bit >= 0 ? bit / bits : -((-bit + bits - 1) / bits)) *
		      d->size;
	}
	if (d->flags & F_AF)
		undef |= AF;
	if (d->flags & F_BT)
		undef |= OF | SF | ZF | AF | PF;

	nareas = 0;
	area_add(tgt - 32, mir - 32, 80);
	areas_fill_random();
	if (d->flags & F_EQ) {
		uint64_t m = d->size == 8 ? ~0ULL : (1ULL << (8 * d->size)) - 1;

		in_m.r[G_AX] = (in_m.r[G_AX] & ~m) | get_le(tgt + off, d->size);
	}
	in_t = in_m;
	in_m.r[G_BX] = in_m.r[G_BP] = regaddr(mir);
	in_t.r[G_BX] = in_t.r[G_BP] = regaddr(tgt);

	if (d->kind == K_FAIL) {
		snapshot();
		run_entry(d, true, &in_t, &rt, d->arg);
		CHECK(memcmp(rt.out.r, in_t.r, T.m->nreg * 8) == 0 &&
		      rt.out.fl == in_t.fl, "registers changed");
		CHECK(T.nlog == 0, "device accessed");
		check_untouched();
		return;
	}

	run_entry(d, false, &in_m, &rm, 0);
	CHECK(rm.mem_exits == 0, "MEMORY exit on the mirror");
	snapshot();
	run_entry(d, true, &in_t, &rt, 0);
	CHECK(rt.mem_exits == 1, "%u MEMORY exits", rt.mem_exits);

	compare_runs(&in_m, &rm, &in_t, &rt, undef);
	areas_compare();
	check_untouched();
	exp_reset();
	if (d->acc & A_R)
		exp_add(tgt + off, d->size, false);
	if (d->acc & A_W)
		exp_add(tgt + off, d->size, true);
	exp_check();
}

static void test_insns(const struct mode *m)
{
	unsigned int i, r, n = 0, nr = rounds();
	struct timespec t0, t1;

	setup(m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	start_guest();
	for (r = 0; r < nr; r++) {
		for (i = 0; i < T.ndesc; i++) {
			const struct desc *d = &T.descs[i];

			if (d->kind != K_INSN && d->kind != K_FAIL)
				continue;
			if (d->kind == K_FAIL && r > 0)
				continue;
			run_insn(d);
			n++;
		}
	}
	stop_guest();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ksft_print("%s: %u instruction cases in %u round(s) (seed %#" PRIx64
		   "), %lu entries, %lu exits (%lu MEMORY), %.1f s", m->name,
		   n, nr, seed(), T.entries, T.exits, T.mem_exits,
		   (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	teardown();
}

START_TEST(insn_64)
{
	test_insns(&mode64);
}
END_TEST

START_TEST(insn_32)
{
	test_insns(&mode32);
}
END_TEST

START_TEST(insn_real16)
{
	test_insns(&mode_real);
}
END_TEST

START_TEST(insn_prot16)
{
	test_insns(&mode_prot16);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* String instructions. */

struct sc {
	uint8_t op, size, rep, var;	/* var: S_FS, S_ADDR */
	bool df;
	uint32_t n;		/* REP: RCX; else 1 element */
	uint64_t src, dst;	/* the target operands (gpa) */
	uint64_t msrc, mdst;	/* their mirrors (gpa); 0: shared (RAM read) */
	int32_t p;		/* CMPS/SCAS with REP: where it stops; -1 */
	bool big;		/* check the batching */
};

static const struct desc *find_str(uint8_t op, uint8_t size, uint8_t flags)
{
	unsigned int i;

	for (i = 0; i < T.ndesc; i++) {
		const struct desc *d = &T.descs[i];

		if (d->kind == K_STR && d->acc == op && d->size == size &&
		    d->flags == flags)
			return d;
	}
	ck_abort_msg("no string stub op %u size %u flags %#x", op, size,
		     flags);
}

static bool has_src(unsigned int op)
{
	return op == OP_MOVS || op == OP_LODS || op == OP_CMPS ||
	       op == OP_OUTS;
}

static bool has_dst(unsigned int op)
{
	return op == OP_MOVS || op == OP_STOS || op == OP_CMPS ||
	       op == OP_SCAS || op == OP_INS;
}

/* Element k of an operand starting at a. */
static uint64_t elem(const struct sc *s, uint64_t a, uint64_t k)
{
	return s->df ? a - k * s->size : a + k * s->size;
}

/* The bytes an operand covers, with a margin of 16 on both sides. */
static void op_range(const struct sc *s, uint64_t a, uint64_t cnt,
		     uint64_t *lo, uint64_t *len)
{
	uint64_t first = s->df ? a - (cnt - 1) * s->size : a;

	*lo = first - 16;
	*len = cnt * s->size + 32;
}

static unsigned int pages(uint64_t lo, uint64_t len)
{
	return (unsigned int)(((lo + len - 1) >> 12) - (lo >> 12) + 1);
}

/* The new value of a pointer or count register moved by delta. */
static uint64_t reg_move(uint64_t v, uint64_t delta, unsigned int adsize)
{
	if (adsize == 2)
		return (v & ~0xFFFFULL) | ((v + delta) & 0xFFFF);
	if (adsize == 4)
		return (v + delta) & 0xFFFFFFFFULL;
	return v + delta;
}

static void sc_name(const struct sc *s, const struct desc *d)
{
	snprintf(ctx_what, sizeof(ctx_what), "%s n=%u DF=%d src %#" PRIx64
		 " dst %#" PRIx64, dname(d), s->n, s->df, s->src, s->dst);
}

static void run_string(const struct sc *s)
{
	const struct desc *d = find_str(s->op, s->size, s->rep | s->var);
	const bool rep = s->rep != 0;
	const unsigned int adsize = (s->var & S_ADDR) ?
		(T.m->bits == 64 ? 4 : T.m->bits == 16 ? 4 : 2) :
		T.m->adsize;
	const uint64_t am = admask(adsize), n = rep ? s->n : 1;
	const bool io = s->op == OP_INS || s->op == OP_OUTS;
	uint64_t done = n, k, lo, len, mlo, acc_val, upper;
	uint64_t msrc = s->msrc ? s->msrc : s->src;
	uint64_t mdst = s->mdst ? s->mdst : s->dst;
	struct regs in_m, in_t;
	struct res rm, rt;
	unsigned int bound;

	sc_name(s, d);
	random_regs(&in_t, s->df);
	if (rep && (s->op == OP_CMPS || s->op == OP_SCAS) && s->p >= 0 &&
	    (uint64_t)s->p < n)
		done = (uint64_t)s->p + 1;

	/* Areas and their contents. */
	nareas = 0;
	bound = 1;
	if (has_src(s->op)) {
		op_range(s, s->src, n, &lo, &len);
		op_range(s, msrc, n, &mlo, &len);
		area_add(lo, mlo, len);
		bound += pages(lo, len);
	}
	if (has_dst(s->op)) {
		op_range(s, s->dst, n, &lo, &len);
		op_range(s, mdst, n, &mlo, &len);
		area_add(lo, mlo, len);
		bound += pages(lo, len);
	}
	areas_fill_random();
	acc_val = in_t.r[G_AX] & admask(s->size);
	if (rep && (s->op == OP_CMPS || s->op == OP_SCAS)) {
		/* REPE: equal but at p; REPNE: different but at p. */
		for (k = 0; k < n; k++) {
			uint64_t v = s->op == OP_CMPS ?
				get_le(elem(s, s->src, k), s->size) : acc_val;
			bool eq = (s->rep == 1) != ((int64_t)k == s->p);

			if (!eq)
				v ^= 1ULL << (rnd() % (8 * s->size));
			put_le(elem(s, s->dst, k), v, s->size);
			put_le(elem(s, mdst, k), v, s->size);
		}
	}

	/* Registers: pointers, count, port; the rest random. */
	upper = rnd() & regmask() & ~am;
	if (adsize == 4 && T.m->bits != 64)
		upper = 0;
	if (s->var & S_ADDR)
		upper = T.m->bits == 64 ? rnd() & ~am : 0;
	in_t.r[G_CX] = rep ? upper | n : in_t.r[G_CX];
	in_t.r[G_DX] = (in_t.r[G_DX] & ~0xFFFFULL) | STREAM_PORT;
	in_m = in_t;
	if (has_src(s->op)) {
		uint64_t (*ra)(uint64_t) = (s->var & S_FS) ? regaddr_fs :
					    regaddr;

		in_t.r[G_SI] = upper | (ra(s->src) & am);
		in_m.r[G_SI] = upper | (ra(msrc) & am);
	}
	if (has_dst(s->op)) {
		in_t.r[G_DI] = upper | (regaddr(s->dst) & am);
		in_m.r[G_DI] = upper | (regaddr(mdst) & am);
	}

	if (!io) {
		run_entry(d, false, &in_m, &rm, 0);
		CHECK(rm.mem_exits == 0, "MEMORY exit on the mirror");
	}
	snapshot();
	T.in_pos = 0;
	T.nout = 0;
	T.nio_cb = 0;
	T.io_size_seen = 0;
	run_entry(d, true, &in_t, &rt, 0);

	/* The definition: count, pointers, data. */
	if (rep)
		CHECK(rt.out.r[G_CX] == reg_move(in_t.r[G_CX], -done, adsize),
		      "RCX %#" PRIx64 " (in %#" PRIx64 "), %" PRIu64
		      " elements expected", rt.out.r[G_CX], in_t.r[G_CX], done);
	if (has_src(s->op))
		CHECK(rt.out.r[G_SI] == reg_move(in_t.r[G_SI], s->df ?
			-done * s->size : done * s->size, adsize),
		      "RSI %#" PRIx64 " (in %#" PRIx64 ")", rt.out.r[G_SI],
		      in_t.r[G_SI]);
	if (has_dst(s->op))
		CHECK(rt.out.r[G_DI] == reg_move(in_t.r[G_DI], s->df ?
			-done * s->size : done * s->size, adsize),
		      "RDI %#" PRIx64 " (in %#" PRIx64 ")", rt.out.r[G_DI],
		      in_t.r[G_DI]);
	for (k = 0; k < done; k++) {
		uint64_t sv = has_src(s->op) && s->op != OP_OUTS ?
			get_le(elem(s, msrc, k), s->size) : 0;

		if (s->op == OP_MOVS)
			CHECK(get_le(elem(s, s->dst, k), s->size) == sv,
			      "element %" PRIu64 " not copied", k);
		else if (s->op == OP_STOS)
			CHECK(get_le(elem(s, s->dst, k), s->size) == acc_val,
			      "element %" PRIu64 " not stored", k);
		else if (s->op == OP_INS) {
			uint64_t want = 0;
			unsigned int b;

			for (b = 0; b < s->size; b++)
				want |= (uint64_t)stream_byte(k * s->size + b)
					<< (8 * b);
			CHECK(get_le(elem(s, s->dst, k), s->size) == want,
			      "element %" PRIu64 " of INS: %#" PRIx64
			      ", the port gave %#" PRIx64, k,
			      get_le(elem(s, s->dst, k), s->size), want);
		} else if (s->op == OP_OUTS) {
			uint64_t got = 0;
			unsigned int b;

			CHECK(T.nout == done * s->size, "%zu bytes out, "
			      "expected %" PRIu64, T.nout, done * s->size);
			for (b = 0; b < s->size; b++)
				got |= (uint64_t)T.out[k * s->size + b] <<
				       (8 * b);
			CHECK(got == get_le(elem(s, s->src, k), s->size),
			      "element %" PRIu64 " of OUTS: %#" PRIx64, k, got);
		}
	}
	if (s->op == OP_LODS)
		CHECK((rt.out.r[G_AX] & admask(s->size)) ==
		      get_le(elem(s, s->src, done - 1), s->size),
		      "LODS loaded %#" PRIx64, rt.out.r[G_AX]);

	if (io) {
		unsigned int i;

		CHECK(T.nio_cb == done && T.io_size_seen == s->size,
		      "%u port accesses of %u bytes, expected %" PRIu64
		      " of %u", T.nio_cb, T.io_size_seen, done, s->size);
		for (i = 0; i < T.m->nreg; i++) {
			if (i == G_CX || i == G_SI || i == G_DI)
				continue;
			CHECK(rt.out.r[i] == in_t.r[i], "register %u changed",
			      i);
		}
		CHECK(rt.out.fl == in_t.fl, "RFLAGS changed");
		CHECK(rt.io_exits >= 1 && rt.io_exits <= bound + n / 4096,
		      "%u I/O exits for %" PRIu64 " elements", rt.io_exits, n);
		if (s->big)
			CHECK(rt.io_exits * 32 <= n, "%u I/O exits for %" PRIu64
			      " elements", rt.io_exits, n);
	} else {
		compare_runs(&in_m, &rm, &in_t, &rt, 0);
		areas_compare();
		CHECK(rt.mem_exits <= bound + n / 4096 + 2, "%u MEMORY exits "
		      "for %" PRIu64 " elements", rt.mem_exits, n);
		if (s->big)
			CHECK(rt.mem_exits * 32 <= n, "%u MEMORY exits for %"
			      PRIu64 " elements", rt.mem_exits, n);
	}
	check_untouched();

	exp_reset();
	for (k = 0; k < done; k++) {
		if (has_src(s->op))
			exp_add(elem(s, s->src, k), s->size, false);
		if (s->op == OP_CMPS || s->op == OP_SCAS)
			exp_add(elem(s, s->dst, k), s->size, false);
		else if (has_dst(s->op))
			exp_add(elem(s, s->dst, k), s->size, true);
	}
	exp_check();
	if (s->big)
		ksft_print("  %s: %" PRIu64 " elements, %u runs (%u exits "
			   "to the assist)", ctx_what, done, rt.runs,
			   io ? rt.io_exits : rt.mem_exits);
}

struct pl {
	uint64_t src, dst, msrc, mdst;
};

/*
 * Small cases for every string stub: each placement of the operands (MMIO,
 * RAM), a few elements, both directions.
 */
static void strings_small(void)
{
	const uint64_t m0 = wgpa(0x9000), m1 = wgpa(0xB000);
	const uint64_t r0 = wgpa(0x3000), r1 = wgpa(0x5000);
	const uint64_t mir0 = wgpa(0x1000), mir1 = wgpa(0x2000);
	unsigned int i, j;

	for (i = 0; i < T.ndesc; i++) {
		const struct desc *d = &T.descs[i];
		struct sc s = { 0 };
		struct pl pl[3];
		unsigned int npl = 0;

		if (d->kind != K_STR || (d->flags & (S_FS | S_ADDR)))
			continue;
		s.op = d->acc;
		s.size = d->size;
		s.rep = d->flags & S_REP;
		switch (s.op) {
		case OP_MOVS:
		case OP_CMPS:
			pl[npl++] = (struct pl){ m0 + 8, m1 + 24, mir0 + 8,
						     mir1 + 24 };
			pl[npl++] = (struct pl){ r0 + 4, m1 + 16, 0,
						     mir1 + 16 };
			pl[npl++] = (struct pl){ m0 + 40, r1 + 8, mir0 + 40,
						     mir1 + 8 };
			break;
		case OP_LODS:
		case OP_OUTS:
			pl[npl++] = (struct pl){ m0 + 16, 0, mir0 + 16, 0 };
			if (s.op == OP_OUTS)
				pl[npl++] = (struct pl){ r0 + 16, 0, 0, 0 };
			break;
		default:	/* STOS, SCAS, INS */
			pl[npl++] = (struct pl){ 0, m1 + 32, 0, mir1 + 32 };
			if (s.op == OP_INS)
				pl[npl++] = (struct pl){ 0, r1 + 32, 0,
							     mir1 + 32 };
			break;
		}
		for (j = 0; j < 2 * npl; j++) {
			s.src = pl[j / 2].src;
			s.dst = pl[j / 2].dst;
			s.msrc = pl[j / 2].msrc;
			s.mdst = pl[j / 2].mdst;
			s.df = j & 1;
			s.n = 5 + (unsigned int)(rnd() % 5);
			s.p = (int32_t)(rnd() % (s.n + 1));
			run_string(&s);
		}
	}
}

/* The variants: FS on the source, the other address size. */
static void strings_variants(void)
{
	const uint64_t m0 = wgpa(0x9000), r1 = wgpa(0x5000);
	const uint64_t mir0 = wgpa(0x1000), mir1 = wgpa(0x2000);
	unsigned int i;

	for (i = 0; i < T.ndesc; i++) {
		const struct desc *d = &T.descs[i];
		struct sc s = { 0 };

		if (d->kind != K_STR || !(d->flags & (S_FS | S_ADDR)))
			continue;
		s.op = d->acc;
		s.size = d->size;
		s.rep = d->flags & S_REP;
		s.var = d->flags & (S_FS | S_ADDR);
		s.n = 300;
		s.p = -1;
		if (s.op == OP_MOVS) {
			s.src = m0 + 0x123;
			s.msrc = mir0 + 0x123;
			s.dst = (s.var & S_FS) ? r1 : m0 + 0x1800;
			s.mdst = mir1;
		} else if (s.op == OP_STOS) {
			s.dst = m0 + 0x10;
			s.mdst = mir1;
		} else {
			s.src = m0 + 0x200;
			s.msrc = mir0;
		}
		run_string(&s);
		s.df = true;
		s.n = 100;
		run_string(&s);
	}
}

static void big(uint8_t op, uint8_t size, bool df, uint32_t n, uint64_t src,
		uint64_t dst, uint64_t msrc, uint64_t mdst, int32_t p,
		uint8_t rep)
{
	struct sc s = {
		.op = op, .size = size, .rep = rep ? rep : 1, .df = df,
		.n = n, .src = src, .dst = dst, .msrc = msrc, .mdst = mdst,
		.p = p, .big = n >= 1024,
	};

	run_string(&s);
}

/*
 * Large counts across pages; operands across the RAM/MMIO boundaries at
 * WB + 0x8000 (RAM below, MMIO above) and WB + 0xF000 (MMIO below, RAM
 * above); elements straddling them.
 */
static void strings_big(void)
{
	const bool w16 = T.m->bits == 16;
	const uint64_t r0 = wgpa(0x3000), m0 = wgpa(0x8100);
	const uint64_t m1 = wgpa(0xA000), mb = wgpa(W_MMIO), rb = wgpa(W_RAM2);
	/* Mirrors: main RAM in 32/64-bit code, the window's RAM in 16-bit. */
	const uint64_t x0 = w16 ? wgpa(0x0100) : 0x30000;
	const uint64_t x1 = w16 ? wgpa(0x1900) : 0x48000;
	const uint32_t nb = w16 ? 5000 : 10000;
	const uint8_t q = T.m->bits == 64 ? 8 : 4;

	/* RAM to MMIO, the RAM side across pages. */
	big(OP_MOVS, 1, false, nb, r0 + 0x345, m0 + 0x10, 0, x1, -1, 0);
	/* MMIO to RAM, downwards. */
	big(OP_MOVS, 2, true, 2000, m0 + 0x1000, r0 + 0x1100, x0 + 0x1000,
	    x1 + 0x1000, -1, 0);
	/* MMIO to MMIO. */
	big(OP_MOVS, 4, false, 1200, m0 + 0x8, m1 + 0x204, x0, x1, -1, 0);
	big(OP_MOVS, q, true, w16 ? 700 : 1000, r0 + 0x1FF8,
	    m0 + 0x2000 - 8 + 0x3000, 0, x1 + 0x1FF8, -1, 0);
	/* STOS of each size, both ways. */
	big(OP_STOS, 1, false, nb, 0, m0 + 0x77, 0, x1, -1, 0);
	big(OP_STOS, 2, true, 3000, 0, m0 + 0x1800, 0, x1 + 0x1800, -1, 0);
	big(OP_STOS, 4, false, 2000, 0, m0 + 0x12, 0, x1, -1, 0);
	big(OP_STOS, q, true, 1000, 0, m0 + 0x2000, 0, x1 + 0x2000, -1, 0);
	/* Across the RAM/MMIO boundaries. */
	big(OP_MOVS, 1, false, 0x300, r0, mb - 0x100, 0, x1, -1, 0);
	big(OP_MOVS, 4, true, 0x100, r0 + 0x800, mb + 0x10, 0, x1 + 0x800,
	    -1, 0);
	big(OP_MOVS, 2, false, 0x100, mb - 0x80, r0, x0, x1, -1, 0);
	big(OP_MOVS, q, true, 0x80, mb + 0x80, r0 + 0x800, x0 + 0x800,
	    x1 + 0x800, -1, 0);
	big(OP_STOS, 4, false, 0x100, 0, rb - 0x100, 0, x1, -1, 0);
	big(OP_STOS, 2, true, 0x100, 0, rb + 0x100, 0, x1 + 0x400, -1, 0);
	/* Elements straddling RAM|MMIO, MMIO|MMIO, MMIO|RAM. */
	big(OP_MOVS, 4, false, 16, r0, mb - 0xE, 0, x1, -1, 0);
	big(OP_MOVS, q, false, 4, r0, wgpa(0x9000) - q / 2, 0, x1, -1, 0);
	big(OP_STOS, 2, false, 4, 0, rb - 3, 0, x1, -1, 0);
	big(OP_MOVS, 4, true, 6, rb + 2, r0 + 0x100, x0 + 0x10, x1 + 0x100,
	    -1, 0);
	/* Compare and scan, stopping late or not at all. */
	big(OP_CMPS, 1, false, nb / 2, m0, r0, x0, 0, (int32_t)nb / 2 - 500,
	    1);
	big(OP_CMPS, 4, true, 1200, m0 + 0x1400, m1 + 0x1400, x0 + 0x1400,
	    x1 + 0x1400, 1199, 1);
	big(OP_CMPS, 2, false, 1500, r0, m1, 0, x1, -1, 2);
	big(OP_SCAS, 2, false, 2000, 0, m1 + 0x2, 0, x1, 1700, 2);
	big(OP_SCAS, 1, true, 3000, 0, m1 + 0x1000, 0, x1 + 0x1000, -1, 1);
	big(OP_LODS, 1, false, 5000, m0, 0, x0, 0, -1, 0);
}

static void test_strings(const struct mode *m)
{
	struct timespec t0, t1;

	setup(m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	start_guest();
	strings_small();
	strings_variants();
	strings_big();
	stop_guest();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ksft_print("%s: %lu entries, %lu exits (%lu MEMORY), %.1f s",
		   m->name, T.entries, T.exits, T.mem_exits,
		   (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	teardown();
}

START_TEST(strings_64)
{
	test_strings(&mode64);
}
END_TEST

START_TEST(strings_32)
{
	test_strings(&mode32);
}
END_TEST

START_TEST(strings_real16)
{
	test_strings(&mode_real);
}
END_TEST

START_TEST(strings_prot16)
{
	test_strings(&mode_prot16);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* REP INS and OUTS of more than 4 KiB through nvmm_assist_io(). */

static void io_one(uint8_t op, uint8_t size, bool df, uint32_t n, uint64_t a,
		   uint8_t var)
{
	struct sc s = {
		.op = op, .size = size, .rep = 1, .var = var, .df = df,
		.n = n, .p = -1, .big = n * size > 4096,
	};

	if (op == OP_INS)
		s.dst = a;
	else
		s.src = a;
	run_string(&s);
}

static void test_rep_io(const struct mode *m)
{
	struct timespec t0, t1;
	uint64_t r0, m0;

	setup(m);
	r0 = wgpa(0x0800);
	m0 = wgpa(0x9000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	start_guest();
	io_one(OP_INS, 1, false, 6000, r0 + 0x123, 0);
	io_one(OP_INS, 2, true, 2500, r0 + 0x1800, 0);
	io_one(OP_INS, 4, false, 1500, r0 + 0x10, 0);
	io_one(OP_OUTS, 1, false, 7000, r0 + 0x7, 0);
	io_one(OP_OUTS, 2, true, 2600, r0 + 0x1900, 0);
	io_one(OP_OUTS, 4, false, 1200, r0 + 0x402, 0);
	/* The memory side in MMIO, and across RAM/MMIO. */
	io_one(OP_INS, 1, false, 300, m0 + 0x10, 0);
	io_one(OP_OUTS, 2, true, 200, m0 + 0x1000, 0);
	io_one(OP_INS, 4, false, 64, wgpa(W_MMIO) - 0x82, 0);
	io_one(OP_OUTS, 1, true, 0x100, wgpa(W_MMIO) + 0x7F, 0);
	io_one(OP_OUTS, 1, false, 5000, m0, S_FS);
	stop_guest();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ksft_print("%s: %lu entries, %lu exits (%lu I/O, %lu MEMORY), %.1f s",
		   m->name, T.entries, T.exits, T.io_exits, T.mem_exits,
		   (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	teardown();
}

START_TEST(rep_io_64)
{
	test_rep_io(&mode64);
}
END_TEST

START_TEST(rep_io_32)
{
	test_rep_io(&mode32);
}
END_TEST

START_TEST(rep_io_real16)
{
	test_rep_io(&mode_real);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(insn_64),
		KSFT_TEST(insn_32),
		KSFT_TEST(insn_real16),
		KSFT_TEST(insn_prot16),
		KSFT_TEST(strings_64),
		KSFT_TEST(strings_32),
		KSFT_TEST(strings_real16),
		KSFT_TEST(strings_prot16),
		KSFT_TEST(rep_io_64),
		KSFT_TEST(rep_io_32),
		KSFT_TEST(rep_io_real16),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("run_assist", tests, sizeof(tests) / sizeof(tests[0]),
			900);
}
