/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NetBSD's kernel behaviour on the inputs a client sends: each test is a
 * row of the compatibility table in doc/compat.md. A program written for
 * NetBSD's NVMM commits a state built from zero and values NetBSD
 * tolerates (sanitizes); those must run here too and read back as NetBSD
 * makes them. Where we refuse what NetBSD accepts, the row says why, and
 * the test checks the refusal and its log line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"

#define MIB		(1024 * 1024)

#define CR0_PE		0x00000001ULL
#define CR0_MP		0x00000002ULL
#define CR0_ET		0x00000010ULL
#define CR0_NE		0x00000020ULL
#define CR0_WP		0x00010000ULL
#define CR0_PG		0x80000000ULL
#define CR4_PAE		0x00000020ULL
#define CR4_OSFXSR	0x00000200ULL
#define CR4_OSXMMEXCPT	0x00000400ULL
#define CR4_OSXSAVE	0x00040000ULL
#define EFER_SCE	0x00000001ULL
#define EFER_LME	0x00000100ULL
#define EFER_LMA	0x00000400ULL
#define EFER_NXE	0x00000800ULL
#define XCR0_X87	0x1ULL
#define XCR0_SSE	0x2ULL
#define XCR0_YMM	0x4ULL

static struct vm vm;

static struct nvmm_capability cap(void)
{
	struct nvmm_capability c;

	ck_assert_int_eq(nvmm_capability(&c), 0);
	return c;
}

/* Guests can use XSAVE (the host has it, and so CR4.OSXSAVE is allowed). */
static bool guest_xsave(void)
{
	return (cap().arch.xcr0_mask & ~(XCR0_X87 | XCR0_SSE)) != 0;
}

static void seg(struct nvmm_x64_state_seg *s, uint16_t sel, unsigned int type,
		unsigned int sbit, unsigned int l, unsigned int def,
		unsigned int g, uint32_t limit, uint64_t base)
{
	s->selector = sel;
	s->attrib.type = type;
	s->attrib.s = sbit;
	s->attrib.p = 1;
	s->attrib.l = l;
	s->attrib.def = def;
	s->attrib.g = g;
	s->limit = limit;
	s->base = base;
}

/*
 * The state a NetBSD program commits for real mode: memset to zero, then
 * flat 64 KiB segments, the system segments, RIP and RFLAGS. Nothing else:
 * XCR0, the FPU image, PAT and the DRs stay zero.
 */
static void zero_state_real(struct nvmm_x64_state *st, uint64_t rip)
{
	static const int data[] = {
		NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_DS,
		NVMM_X64_SEG_FS, NVMM_X64_SEG_GS,
	};
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		seg(&st->segs[data[i]], 0, 3, 1, 0, 0, 0, 0xFFFF, 0);
	seg(&st->segs[NVMM_X64_SEG_CS], 0, 0xB, 1, 0, 0, 0, 0xFFFF, 0);
	seg(&st->segs[NVMM_X64_SEG_LDT], 0, 2, 0, 0, 0, 0, 0xFFFF, 0);
	seg(&st->segs[NVMM_X64_SEG_TR], 0, 0xB, 0, 0, 0, 0, 0xFFFF, 0);
	st->segs[NVMM_X64_SEG_GDT].limit = 0xFFFF;
	st->segs[NVMM_X64_SEG_IDT].limit = 0xFFFF;
	st->gprs[NVMM_X64_GPR_RIP] = rip;
	st->gprs[NVMM_X64_GPR_RSP] = VM_CODE - 0x10;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->crs[NVMM_X64_CR_CR0] = CR0_ET | CR0_NE;
}

/*
 * The same for 64-bit mode, as NetBSD's libnvmm tests do it: flat
 * segments, paging on, EFER and PAT set, the rest zero. vm_mode_long()
 * has built the page tables and the GDT it points at.
 */
static void zero_state_long(struct nvmm_x64_state *st, uint64_t rip)
{
	static const int data[] = {
		NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_DS,
		NVMM_X64_SEG_FS, NVMM_X64_SEG_GS,
	};
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		seg(&st->segs[data[i]], VM_SEL_DATA, 3, 1, 0, 1, 1,
		    0xFFFFFFFF, 0);
	seg(&st->segs[NVMM_X64_SEG_CS], VM_SEL_CODE64, 0xB, 1, 1, 0, 1,
	    0xFFFFFFFF, 0);
	seg(&st->segs[NVMM_X64_SEG_LDT], 0, 2, 0, 0, 0, 0, 0xFFFF, 0);
	seg(&st->segs[NVMM_X64_SEG_TR], 0, 0xB, 0, 0, 0, 0, 0xFFFF, 0);
	st->segs[NVMM_X64_SEG_GDT].base = VM_GDT_BASE;
	st->segs[NVMM_X64_SEG_GDT].limit = 4 * 8 - 1;
	st->gprs[NVMM_X64_GPR_RIP] = rip;
	st->gprs[NVMM_X64_GPR_RSP] = VM_CODE - 0x10;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->gprs[NVMM_X64_GPR_RBX] = guest_xsave();
	st->crs[NVMM_X64_CR_CR0] = CR0_PG | CR0_PE | CR0_NE | CR0_MP | CR0_WP;
	st->crs[NVMM_X64_CR_CR3] = VM_PT_BASE;
	st->crs[NVMM_X64_CR_CR4] = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT |
		(guest_xsave() ? CR4_OSXSAVE : 0);
	st->msrs[NVMM_X64_MSR_EFER] = EFER_LME | EFER_LMA | EFER_SCE;
	st->msrs[NVMM_X64_MSR_PAT] = 0x0007040600070406ULL;
}

static void setup_long(void)
{
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "compat_long");
	/* Page tables and GDT; the state itself is replaced below. */
	vm_mode_long(&vm, 0, VM_CODE);
}

/* Run compat_long to HLT: marker, 1.0 + 1.0, and XCR0 when it can. */
static void run_long_expect_xcr0(uint32_t xcr0)
{
	const uint32_t expect[] = { 0xC0DE0064, 0x40000000, xcr0 };

	vm_run_expect(&vm, 0, expect, guest_xsave() ? 3 : 2);
}

/* -------------------------------------------------------------------------- */
/* Whole states built from zero. */

START_TEST(zeroed_state_real_mode_runs)
{
	const uint32_t expect[] = { 0xC0DE0016, 0x600DF00D };

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "compat_real");
	zero_state_real(vm_state(&vm, 0), VM_CODE);
	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
	vm_run_expect(&vm, 0, expect, 2);
	ck_assert_uint_eq(*(uint32_t *)(vm.ram + 0x20010), 0x600DF00D);

	vm_get(&vm, 0, NVMM_X64_STATE_CRS);
	ck_assert_uint_eq(vm_state(&vm, 0)->crs[NVMM_X64_CR_XCR0], XCR0_X87);
	vm_destroy(&vm);
}
END_TEST

START_TEST(zeroed_state_long_mode_runs)
{
	setup_long();
	zero_state_long(vm_state(&vm, 0), VM_CODE);
	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
	run_long_expect_xcr0(XCR0_X87);

	vm_get(&vm, 0, NVMM_X64_STATE_CRS);
	ck_assert_uint_eq(vm_state(&vm, 0)->crs[NVMM_X64_CR_XCR0], XCR0_X87);
	vm_destroy(&vm);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(zeroed_state_real_mode_runs),
		KSFT_TEST(zeroed_state_long_mode_runs),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("compat", tests, sizeof(tests) / sizeof(tests[0]), 120);
}
