/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm_assist_io() on a mock VCPU: IN/OUT of each size, INS/OUTS with REP
 * batching, DF=1, segment overrides (given by the exit, or found in the
 * fetched instruction), address sizes, MMIO as the memory operand, and the
 * failures.
 */
#include <errno.h>

#include "ksft.h"
#include "assist_harness.h"

#define RAX NVMM_X64_GPR_RAX
#define RCX NVMM_X64_GPR_RCX
#define RSI NVMM_X64_GPR_RSI
#define RDI NVMM_X64_GPR_RDI
#define RIP NVMM_X64_GPR_RIP
#define RFL NVMM_X64_GPR_RFLAGS
#define NPC (G_CODE + 2)

static void io_exit(struct guest *g, bool in, uint16_t port, int seg,
		    unsigned int adsize, unsigned int opsize, bool rep,
		    bool str)
{
	memset(g->exit, 0, sizeof(*g->exit));
	g->exit->reason = NVMM_VCPU_EXIT_IO;
	g->exit->u.io.in = in;
	g->exit->u.io.port = port;
	g->exit->u.io.seg = (int8_t)seg;
	g->exit->u.io.address_size = (uint8_t)adsize;
	g->exit->u.io.operand_size = (uint8_t)opsize;
	g->exit->u.io.rep = rep;
	g->exit->u.io.str = str;
	g->exit->u.io.npc = NPC;
	g->nio = 0;
	g->nmem = 0;
	GPR(g, RIP) = G_CODE;
	/* INS/OUTS are decoded when the exit has no segment: put them there
	 * (REP, operand size; the address size is the mode's). */
	if (str) {
		uint8_t *p = g->ram + G_CODE;

		if (rep)
			*p++ = 0xF3;
		if (opsize == 2)
			*p++ = 0x66;
		*p = (uint8_t)((in ? 0x6C : 0x6E) + (opsize > 1));
	}
}

START_TEST(in_out_sizes)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	GPR(&g, RAX) = 0x1122334455667788;
	io_exit(&g, false, 0x80, -1, 8, 1, false, false);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 1);
	ck_assert_uint_eq(g.io_log[0].val, 0x88);
	ck_assert_uint_eq(g.io_log[0].size, 1);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	io_exit(&g, false, 0x3F8, -1, 8, 4, false, false);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.io_log[0].val, 0x55667788);
	ck_assert_uint_eq(g.io_log[0].gpa, 0x3F8);

	memcpy(&g.ports[0x60], "\xAA\xBB\xCC\xDD", 4);
	/* IN AL and IN AX merge; IN EAX zero-extends. */
	io_exit(&g, true, 0x60, -1, 8, 1, false, false);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(GPR(&g, RAX), 0x11223344556677AA);
	io_exit(&g, true, 0x60, -1, 8, 2, false, false);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(GPR(&g, RAX), 0x112233445566BBAA);
	io_exit(&g, true, 0x60, -1, 8, 4, false, false);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(GPR(&g, RAX), 0xDDCCBBAA);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	ck_assert_uint_eq(g.mach.pages[0]->state_commit, NVMM_X64_STATE_GPRS);
	g_fini(&g);
}
END_TEST

START_TEST(rep_outsb_batched)
{
	struct guest g;
	int i;

	ck_assert_int_eq(g_init(&g), 0);
	for (i = 0; i < 600; i++)
		g.ram[0x10000 + i] = (uint8_t)i;
	GPR(&g, RSI) = 0x10000;
	GPR(&g, RCX) = 600;
	io_exit(&g, false, 0xE9, NVMM_X64_SEG_DS, 8, 1, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	/* All 600 in one call (NetBSD's assist does 32 bytes). */
	ck_assert_uint_eq(g.nio, 600);
	ck_assert_uint_eq(g.io_log[63].val, 63);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RSI), 0x10000 + 600);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	g_fini(&g);
}
END_TEST

/* OUTS from, INS to, host memory that cannot be used: EFAULT, no I/O. */
START_TEST(string_host_ram_unusable_efault)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	ck_assert_int_eq(mprotect(g.ram + 0x10000, 0x1000, PROT_NONE), 0);
	GPR(&g, RSI) = 0x10000;
	GPR(&g, RCX) = 16;
	io_exit(&g, false, 0xE9, NVMM_X64_SEG_DS, 8, 1, true, true);
	errno = 0;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_uint_eq(g.nio, 0);
	ck_assert_uint_eq(GPR(&g, RSI), 0x10000);
	ck_assert_uint_eq(GPR(&g, RCX), 16);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);

	ck_assert_int_eq(mprotect(g.ram + 0x10000, 0x1000, PROT_READ), 0);
	GPR(&g, RDI) = 0x10000;
	GPR(&g, RCX) = 16;
	io_exit(&g, true, 0xE9, NVMM_X64_SEG_ES, 8, 1, true, true);
	errno = 0;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_uint_eq(g.nio, 0);
	ck_assert_uint_eq(GPR(&g, RDI), 0x10000);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);
	g_fini(&g);
}
END_TEST

START_TEST(rep_insw_stops_at_page)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	memcpy(&g.ports[0x1F0], "\x34\x12", 2);
	GPR(&g, RDI) = 0x20F00;
	GPR(&g, RCX) = 1000;
	io_exit(&g, true, 0x1F0, -1, 8, 2, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	/* 0x100 bytes left in the page: 128 words, then run again. */
	ck_assert_uint_eq(g.nio, 128);
	ck_assert_uint_eq(GPR(&g, RCX), 1000 - 128);
	ck_assert_uint_eq(GPR(&g, RDI), 0x21000);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);
	ck_assert_uint_eq(*(uint16_t *)(g.ram + 0x20FFE), 0x1234);
	ck_assert_uint_eq(*(uint16_t *)(g.ram + 0x21000), 0);
	/* The next call: a full page (2048 words). */
	g.nio = 0;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 872);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	g_fini(&g);
}
END_TEST

START_TEST(rep_outsd_backwards)
{
	struct guest g;
	uint32_t v;
	int i;

	ck_assert_int_eq(g_init(&g), 0);
	for (i = 0; i < 8; i++) {
		v = 0x1000 + (uint32_t)i;
		memcpy(g.ram + 0x30000 + 4 * i, &v, 4);
	}
	GPR(&g, RSI) = 0x30000 + 4 * 7;
	GPR(&g, RCX) = 8;
	GPR(&g, RFL) = 0x2 | 0x400;
	io_exit(&g, false, 0xCF8, NVMM_X64_SEG_DS, 8, 4, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 8);
	ck_assert_uint_eq(g.io_log[0].val, 0x1007);
	ck_assert_uint_eq(g.io_log[7].val, 0x1000);
	ck_assert_uint_eq(GPR(&g, RSI), 0x30000 - 4);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	g_fini(&g);
}
END_TEST

START_TEST(segments_and_address_sizes)
{
	struct guest g;
	uint8_t outs_fs[3] = { 0x64, 0xF3, 0x6E };	/* rep outsb fs: */

	ck_assert_int_eq(g_init(&g), 0);
	g.ram[0x11005] = 0x5A;
	g.ram[0x12005] = 0xA5;
	g.st->segs[NVMM_X64_SEG_FS].base = 0x11000;
	g.st->segs[NVMM_X64_SEG_DS].base = 0x99000;	/* ignored in 64-bit */
	/* The exit names FS. */
	GPR(&g, RSI) = 5;
	io_exit(&g, false, 0x80, NVMM_X64_SEG_FS, 8, 1, false, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.io_log[0].val, 0x5A);
	ck_assert_uint_eq(GPR(&g, RSI), 6);
	/* The kernel did not know: the override is in the instruction. */
	GPR(&g, RSI) = 5;
	GPR(&g, RCX) = 1;
	io_exit(&g, false, 0x80, -1, 8, 1, true, true);
	memcpy(g.ram + G_CODE, outs_fs, 3);
	g.exit->u.io.npc = G_CODE + 3;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.io_log[0].val, 0x5A);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE + 3);
	/* ... and without one: DS. */
	g.ram[G_CODE] = 0x6E;
	GPR(&g, RSI) = 0x12005;
	io_exit(&g, false, 0x80, -1, 8, 1, false, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.io_log[0].val, 0xA5);

	/* Real mode, 16-bit addresses: SI and CX, the upper bits stay. */
	g_set_mode(&g, GM_REAL);
	g.st->segs[NVMM_X64_SEG_DS].base = 0x12000;
	g.st->segs[NVMM_X64_SEG_ES].base = 0x13000;
	GPR(&g, RSI) = 0xFFFF0005;
	GPR(&g, RCX) = 0xFFFF0001;
	io_exit(&g, false, 0x80, NVMM_X64_SEG_DS, 2, 1, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.io_log[0].val, 0xA5);
	ck_assert_uint_eq(GPR(&g, RSI), 0xFFFF0006);
	ck_assert_uint_eq(GPR(&g, RCX), 0xFFFF0000);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	/* INS always writes ES:DI. */
	g.ports[0x81] = 0x77;
	GPR(&g, RDI) = 0x10;
	io_exit(&g, true, 0x81, NVMM_X64_SEG_FS, 2, 1, false, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.ram[0x13010], 0x77);
	ck_assert_uint_eq(GPR(&g, RDI), 0x11);
	g_fini(&g);
}
END_TEST

/* Without a segment in the exit, the address size is the instruction's
 * too: QEMU's SVM reports none (the kernel then says 2). */
START_TEST(address_size_from_the_instruction)
{
	struct guest g;
	static const uint8_t ins32[] = { 0x67, 0xF3, 0x6C };	/* addr32 */

	ck_assert_int_eq(g_init(&g), 0);
	memcpy(&g.ports[0x300], "\x5C", 1);
	GPR(&g, RDI) = 0x21000;
	GPR(&g, RCX) = 3;
	io_exit(&g, true, 0x300, -1, 2, 1, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 3);
	ck_assert_uint_eq(g.ram[0x21002], 0x5C);
	ck_assert_uint_eq(GPR(&g, RDI), 0x21003);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	/* 32-bit addresses in 64-bit mode: EDI, zero-extended. */
	GPR(&g, RDI) = 0xABCD000000022000ULL;
	GPR(&g, RCX) = 0x7700000000000002ULL;
	io_exit(&g, true, 0x300, -1, 2, 1, true, true);
	memcpy(g.ram + G_CODE, ins32, sizeof(ins32));
	g.exit->u.io.npc = G_CODE + 3;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 2);
	ck_assert_uint_eq(g.ram[0x22001], 0x5C);
	ck_assert_uint_eq(GPR(&g, RDI), 0x22002);
	ck_assert_uint_eq(GPR(&g, RCX), 0);
	/* 16-bit addresses in 32-bit code, the exit saying 4: DI. */
	g_set_mode(&g, GM_PROT32);
	GPR(&g, RDI) = 0xFFFF3000;
	GPR(&g, RCX) = 0xFFFF0001;
	io_exit(&g, true, 0x300, -1, 4, 1, true, true);
	memcpy(g.ram + G_CODE, ins32, sizeof(ins32));
	g.exit->u.io.npc = G_CODE + 3;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.ram[0x3000], 0x5C);
	ck_assert_uint_eq(GPR(&g, RDI), 0xFFFF3001);
	ck_assert_uint_eq(GPR(&g, RCX), 0xFFFF0000);
	g_fini(&g);
}
END_TEST

START_TEST(ins_to_mmio_and_zero_count)
{
	struct guest g;

	ck_assert_int_eq(g_init(&g), 0);
	memcpy(&g.ports[0x300], "\x01\x02\x03\x04", 4);
	GPR(&g, RDI) = G_MMIO_GPA + 0x40;
	GPR(&g, RCX) = 3;
	io_exit(&g, true, 0x300, -1, 8, 4, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 3);
	ck_assert_uint_eq(g.nmem, 3);
	ck_assert(g.mem_log[2].write);
	ck_assert_uint_eq(g.mem_log[2].gpa, G_MMIO_GPA + 0x48);
	ck_assert_uint_eq(g_mmio_get(&g, G_MMIO_GPA + 0x48, 4), 0x04030201);
	/* REP with RCX = 0: nothing, RIP to npc. */
	GPR(&g, RCX) = 0;
	io_exit(&g, true, 0x300, -1, 8, 4, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 0);
	ck_assert_uint_eq(GPR(&g, RIP), NPC);
	/* An element across a page: split in two memory accesses. */
	GPR(&g, RDI) = G_MMIO_GPA + 0xFFF;
	GPR(&g, RCX) = 2;
	io_exit(&g, true, 0x300, -1, 8, 2, true, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), 0);
	ck_assert_uint_eq(g.nio, 1);
	ck_assert_uint_eq(g.nmem, 2);
	ck_assert_uint_eq(GPR(&g, RCX), 1);
	ck_assert_uint_eq(GPR(&g, RIP), G_CODE);
	g_fini(&g);
}
END_TEST

START_TEST(io_failures)
{
	struct guest g;
	struct nvmm_assist_callbacks cbs = { .io = NULL, .mem = g_mem_cb };
	struct nvmm_x64_state before;

	ck_assert_int_eq(g_init(&g), 0);
	memcpy(&before, g.st, sizeof(before));
	io_exit(&g, false, 0x80, -1, 8, 3, false, false);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EINVAL);
	io_exit(&g, false, 0x80, -1, 3, 1, false, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EINVAL);
	io_exit(&g, false, 0x80, 7, 8, 1, false, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* seg -1 and the instruction is no OUTS, or of another size. */
	io_exit(&g, false, 0x80, -1, 8, 1, false, true);
	g.ram[G_CODE] = 0x90;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, ENODEV);
	io_exit(&g, true, 0x80, -1, 8, 2, false, true);
	g.ram[G_CODE] = 0x6E;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, ENODEV);
	io_exit(&g, true, 0x80, -1, 8, 4, false, true);
	g.ram[G_CODE] = 0x6C;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, ENODEV);
	io_exit(&g, false, 0x80, -1, 8, 1, false, false);
	g.exit->reason = NVMM_VCPU_EXIT_MEMORY;
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Memory operand not mapped in the guest page tables. */
	GPR(&g, RSI) = 0x0000100000000000ULL;	/* beyond PML4[0] */
	io_exit(&g, false, 0x80, NVMM_X64_SEG_DS, 8, 1, false, true);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EFAULT);
	GPR(&g, RSI) = 0;
	ck_assert_int_eq(nvmm_vcpu_configure(&g.mach, &g.vcpu,
					     NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
	io_exit(&g, false, 0x80, -1, 8, 1, false, false);
	ck_assert_int_eq(nvmm_assist_io(&g.mach, &g.vcpu), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(g.nio, 0);
	GPR(&g, RIP) = before.gprs[RIP];
	ck_assert(memcmp(&before, g.st, sizeof(before)) == 0);
	ck_assert_uint_eq(g.mach.pages[0]->state_commit, 0);
	g_fini(&g);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(in_out_sizes),
		KSFT_TEST(rep_outsb_batched),
		KSFT_TEST(string_host_ram_unusable_efault),
		KSFT_TEST(rep_insw_stops_at_page),
		KSFT_TEST(rep_outsd_backwards),
		KSFT_TEST(segments_and_address_sizes),
		KSFT_TEST(address_size_from_the_instruction),
		KSFT_TEST(ins_to_mmio_and_zero_count),
		KSFT_TEST(io_failures),
	};

	return ksft_run("assist_io", tests, sizeof(tests) / sizeof(tests[0]),
			30);
}
