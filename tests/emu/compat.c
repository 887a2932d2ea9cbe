/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NetBSD's kernel behaviour on the inputs a client sends: each test is a
 * row of the compatibility table in doc/compat.md. A program written for
 * NetBSD's NVMM commits a state built from zero and values NetBSD
 * tolerates (sanitizes); those must run here too and read back as NetBSD
 * makes them. Where we refuse what NetBSD accepts, the row says why, and
 * the test checks the refusal and its log line.
 */
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "vm.h"
#include "x64_flat.h"

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

/*
 * The state a NetBSD program commits for real mode: memset to zero, then
 * flat 64 KiB segments, the system segments, RIP and RFLAGS. Nothing else:
 * XCR0, the FPU image, PAT and the DRs stay zero.
 */
static void zero_state_real(struct nvmm_x64_state *st, uint64_t rip)
{
	memset(st, 0, sizeof(*st));
	vm_segs_real(st);
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
	const struct x64_flat flat = {
		.code_sel = VM_SEL_CODE64,
		.data_sel = VM_SEL_DATA,
		.code64 = true,
		.gdt_base = VM_GDT_BASE,
		.gdt_limit = 4 * 8 - 1,
		.cr0 = CR0_PG | CR0_PE | CR0_NE | CR0_MP | CR0_WP,
		.cr3 = VM_PT_BASE,
		.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT |
		       (guest_xsave() ? CR4_OSXSAVE : 0),
		.efer = EFER_LME | EFER_LMA | EFER_SCE,
	};

	memset(st, 0, sizeof(*st));
	x64_flat_state(st, &flat);
	st->gprs[NVMM_X64_GPR_RIP] = rip;
	st->gprs[NVMM_X64_GPR_RSP] = VM_CODE - 0x10;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->gprs[NVMM_X64_GPR_RBX] = guest_xsave();
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

	vm.nreports[0] = 0;
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

/* -------------------------------------------------------------------------- */
/* Setstate rows: a valid 64-bit state with one field changed. */

#define EFER_SVME	0x00001000ULL
#define CR4_VMXE	0x00002000ULL
#define CR4_SMXE	0x00004000ULL
#define CR4_PKE		0x00400000ULL

/* The valid long-mode state of zero_state_long(), committed whole. */
static struct nvmm_x64_state *row_setup(void)
{
	setup_long();
	zero_state_long(vm_state(&vm, 0), VM_CODE);
	return vm_state(&vm, 0);
}

/*
 * Commit ALL, run to HLT, read everything back: the guest's XGETBV saw
 * the XCR0 that reads back.
 */
static void row_runs(void)
{
	uint64_t reason;

	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
	vm.nreports[0] = 0;
	reason = vm_run(&vm, 0);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED, "exit %#" PRIx64
		      " instead of HALTED", reason);
	ck_assert_uint_eq(vm.nreports[0], guest_xsave() ? 3 : 2);
	ck_assert_uint_eq(vm.reports[0][0], 0xC0DE0064);
	ck_assert_uint_eq(vm.reports[0][1], 0x40000000);
	vm_get(&vm, 0, NVMM_X64_STATE_ALL);
	if (guest_xsave())
		ck_assert_uint_eq(vm.reports[0][2],
				  (uint32_t)vm_state(&vm, 0)->crs[NVMM_X64_CR_XCR0]);
}

/*
 * Commit ALL: the run fails with EINVAL, the kernel logs the group and
 * the reason, and a valid state committed after it runs.
 */
static void row_refused(const char *group, const char *why)
{
	char line[160];
	unsigned int before;

	snprintf(line, sizeof(line), "state refused (%s): %s", group, why);
	before = emu_kmsg_count(line);
	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
	ck_assert_int_eq(nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Still refused: the commit stays until userland replaces it. */
	ck_assert_int_eq(nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(emu_kmsg_count(line) >= before + 2, "no kernel log line "
		      "\"%s\"", line);
	zero_state_long(vm_state(&vm, 0), VM_CODE);
	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
	run_long_expect_xcr0(XCR0_X87);
}

START_TEST(segs_reserved_attrib_bits_ignored)
{
	struct nvmm_x64_state *st = row_setup();
	unsigned int i;

	for (i = 0; i < NVMM_X64_NSEG; i++)
		st->segs[i].attrib.rsvd = 0xF;
	row_runs();
	for (i = 0; i < NVMM_X64_NSEG; i++)
		ck_assert_uint_eq(st->segs[i].attrib.rsvd, 0);
	ck_assert_uint_eq(st->segs[NVMM_X64_SEG_CS].attrib.l, 1);
	vm_destroy(&vm);
}
END_TEST

START_TEST(segs_noncanonical_base_refused)
{
	struct nvmm_x64_state *st = row_setup();

	st->segs[NVMM_X64_SEG_FS].base = 0x8000000000000000ULL;
	row_refused("SEGS", "a non-canonical segment base");
	vm_destroy(&vm);
}
END_TEST

START_TEST(gprs_rflags_reserved_bits_masked)
{
	struct nvmm_x64_state *st = row_setup();

	/* Reserved bits 3, 5, 15, 22-63 set, bit 1 clear. */
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0xFFFFFFFFFFC08028ULL;
	row_runs();
	ck_assert_uint_eq(st->gprs[NVMM_X64_GPR_RFLAGS] & ~0x46ULL, 0);
	ck_assert_uint_eq(st->gprs[NVMM_X64_GPR_RFLAGS] & 2, 2);
	vm_destroy(&vm);
}
END_TEST

START_TEST(crs_cr4_bits_not_offered_cleared)
{
	struct nvmm_x64_state *st = row_setup();
	uint64_t cr4 = st->crs[NVMM_X64_CR_CR4];

	/* VMXE, SMXE, PKE, reserved bit 31 and above. */
	st->crs[NVMM_X64_CR_CR4] |= CR4_VMXE | CR4_SMXE | CR4_PKE |
		0x80000000ULL | 0xFFFF00000000ULL;
	row_runs();
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_CR4], cr4);
	vm_destroy(&vm);
}
END_TEST

START_TEST(crs_cr8_keeps_four_bits)
{
	struct nvmm_x64_state *st = row_setup();

	st->crs[NVMM_X64_CR_CR8] = 0x1F5;
	row_runs();
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_CR8], 5);
	vm_destroy(&vm);
}
END_TEST

START_TEST(crs_xcr0_masked_x87_forced)
{
	struct nvmm_x64_state *st = row_setup();
	uint64_t mask = cap().arch.xcr0_mask;

	/* Every bit: those the guest may have remain. */
	st->crs[NVMM_X64_CR_XCR0] = ~0ULL;
	row_runs();
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], guest_xsave() ? mask : 3);

	/* x87 alone missing: forced. */
	zero_state_long(st, VM_CODE);
	st->crs[NVMM_X64_CR_XCR0] = XCR0_SSE;
	row_runs();
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], XCR0_X87 | XCR0_SSE);
	vm_destroy(&vm);
}
END_TEST

/*
 * NetBSD offers x87 and SSE only; we offer AVX (and AVX-512) where the
 * host has them, so a masked value can still be one XSETBV refuses. It is
 * repaired, never refused: YMM without SSE, and AVX-512 in part or without
 * YMM, are dropped.
 */
START_TEST(crs_xcr0_bad_combinations_repaired)
{
	struct nvmm_x64_state *st = row_setup();
	uint64_t mask = cap().arch.xcr0_mask;

	if (!(mask & XCR0_YMM))
		ksft_skip("the capability's xcr0_mask %#" PRIx64 " has no YMM: "
			  "no combination to repair", mask);
	st->crs[NVMM_X64_CR_XCR0] = XCR0_X87 | XCR0_YMM;
	row_runs();
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], XCR0_X87);
	if (mask & 0xE0) {
		/* Opmask without the ZMM parts; then all of it, no YMM. */
		zero_state_long(st, VM_CODE);
		st->crs[NVMM_X64_CR_XCR0] = XCR0_X87 | XCR0_SSE | XCR0_YMM |
			0x20;
		row_runs();
		ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], 7);
		zero_state_long(st, VM_CODE);
		st->crs[NVMM_X64_CR_XCR0] = XCR0_X87 | XCR0_SSE | 0xE0;
		row_runs();
		ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], 3);
	}
	vm_destroy(&vm);
}
END_TEST

START_TEST(crs_cr0_invalid_refused)
{
	struct nvmm_x64_state *st = row_setup();

	st->crs[NVMM_X64_CR_CR0] |= 1ULL << 40;
	row_refused("CRS", "CR0 has bits above 31");
	st->crs[NVMM_X64_CR_CR0] |= 1ULL << 29;		/* NW, no CD */
	row_refused("CRS", "CR0.NW without CR0.CD");
	vm_destroy(&vm);
}
END_TEST

START_TEST(drs_dr6_truncated)
{
	struct nvmm_x64_state *st = row_setup();

	st->drs[NVMM_X64_DR_DR6] = 0xABCD0000FFFF0FF0ULL;
	row_runs();
	ck_assert_uint_eq(st->drs[NVMM_X64_DR_DR6] >> 32, 0);
	vm_destroy(&vm);
}
END_TEST

START_TEST(drs_dr7_high_or_noncanonical_dr_refused)
{
	struct nvmm_x64_state *st = row_setup();

	st->drs[NVMM_X64_DR_DR7] = 0x100000400ULL;
	row_refused("DRS", "DR7 has bits above 31");
	st->drs[NVMM_X64_DR_DR1] = 0x8000000000000000ULL;
	row_refused("DRS", "a non-canonical address in DR0-3");
	vm_destroy(&vm);
}
END_TEST

START_TEST(msrs_efer_bits_not_offered_cleared)
{
	struct nvmm_x64_state *st = row_setup();

	/* SVME (NetBSD's SVM backend forces it; it never shows), TCE
	 * (bit 15), bit 63. */
	st->msrs[NVMM_X64_MSR_EFER] |= EFER_SVME | (1ULL << 15) | (1ULL << 63);
	row_runs();
	ck_assert_uint_eq(st->msrs[NVMM_X64_MSR_EFER],
			  EFER_LME | EFER_LMA | EFER_SCE);
	vm_destroy(&vm);
}
END_TEST

START_TEST(msrs_sysenter_cs_truncated)
{
	struct nvmm_x64_state *st = row_setup();

	st->msrs[NVMM_X64_MSR_SYSENTER_CS] = 0x123400000008ULL;
	row_runs();
	ck_assert_uint_eq(st->msrs[NVMM_X64_MSR_SYSENTER_CS], 8);
	vm_destroy(&vm);
}
END_TEST

START_TEST(msrs_pat_and_noncanonical_refused)
{
	struct nvmm_x64_state *st = row_setup();

	st->msrs[NVMM_X64_MSR_PAT] = 0x0007040600070402ULL;	/* type 2 */
	row_refused("MSRS", "PAT holds a reserved memory type");
	st->msrs[NVMM_X64_MSR_LSTAR] = 0x8000000000000000ULL;
	row_refused("MSRS", "a non-canonical address in an MSR");
	st->msrs[NVMM_X64_MSR_SFMASK] = 1ULL << 32;
	row_refused("MSRS", "SFMASK has bits above 31");
	vm_destroy(&vm);
}
END_TEST

START_TEST(fpu_mxcsr_masked_by_given_mask)
{
	struct nvmm_x64_state *st = row_setup();

	/* A mask of 0 (a zeroed image): MXCSR becomes 0, as on NetBSD. */
	st->fpu.fx_mxcsr = 0x1F80;
	st->fpu.fx_mxcsr_mask = 0;
	row_runs();
	ck_assert_uint_eq(st->fpu.fx_mxcsr, 0);

	/* Bits above the CPU's mask are dropped, the rest kept. */
	zero_state_long(st, VM_CODE);
	st->fpu.fx_mxcsr = 0xFFFF1F80;
	st->fpu.fx_mxcsr_mask = 0xFFFFFFFF;
	row_runs();
	ck_assert_uint_eq(st->fpu.fx_mxcsr, 0xFFFF1F80 & cap().arch.mxcsr_mask);
	vm_destroy(&vm);
}
END_TEST

START_TEST(unknown_state_groups_ignored)
{
	row_setup();
	ck_assert_int_eq(nvmm_vcpu_setstate(&vm.mach, &vm.vcpu[0],
					    NVMM_X64_STATE_ALL | 0xFF00), 0);
	run_long_expect_xcr0(XCR0_X87);
	ck_assert_int_eq(nvmm_vcpu_getstate(&vm.mach, &vm.vcpu[0],
					    NVMM_X64_STATE_CRS | 0xFF00), 0);
	ck_assert_uint_eq(vm_state(&vm, 0)->crs[NVMM_X64_CR_CR3], VM_PT_BASE);
	vm_destroy(&vm);
}
END_TEST

START_TEST(reset_state_as_netbsd)
{
	struct nvmm_x64_state *st;

	vm_create(&vm, 1 * MIB);
	vm_get(&vm, 0, NVMM_X64_STATE_ALL);
	st = vm_state(&vm, 0);
	ck_assert_uint_eq(st->gprs[NVMM_X64_GPR_RDX], 0x600);
	ck_assert_uint_eq(st->gprs[NVMM_X64_GPR_RIP], 0xFFF0);
	ck_assert_uint_eq(st->segs[NVMM_X64_SEG_CS].selector, 0xF000);
	ck_assert_uint_eq(st->segs[NVMM_X64_SEG_CS].base, 0xFFFF0000);
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_CR0], 0x60000010);
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], XCR0_X87);
	ck_assert_uint_eq(st->msrs[NVMM_X64_MSR_PAT], 0x0007040600070406ULL);
	ck_assert_uint_eq(st->fpu.fx_mxcsr, 0x1F80);
	ck_assert_uint_eq(st->fpu.fx_cw, 0x40);
	vm_destroy(&vm);
}
END_TEST

/* The TSC reads live, where NetBSD returns the value at the last exit. */
START_TEST(getstate_tsc_live)
{
	uint64_t t0, t1;

	row_setup();
	row_runs();
	t0 = vm_state(&vm, 0)->msrs[NVMM_X64_MSR_TSC];
	usleep(10000);
	vm.mach.pages[0]->state_cached = 0;
	vm_get(&vm, 0, NVMM_X64_STATE_MSRS);
	t1 = vm_state(&vm, 0)->msrs[NVMM_X64_MSR_TSC];
	ck_assert_msg(t1 > t0, "TSC %#" PRIx64 " then %#" PRIx64, t0, t1);
	vm_destroy(&vm);
}
END_TEST

/*
 * CR0 reads back as committed but for ET, which is 1 on every x86-64 CPU
 * (NetBSD's VMX backend also shows NE set whatever was committed).
 */
START_TEST(getstate_cr0_et_forced_ne_as_committed)
{
	struct nvmm_x64_state *st = row_setup();
	uint64_t cr0 = CR0_PG | CR0_PE | CR0_MP | CR0_WP;	/* no ET, NE */

	st->crs[NVMM_X64_CR_CR0] = cr0;
	row_runs();
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_CR0], cr0 | CR0_ET);
	vm_destroy(&vm);
}
END_TEST

/*
 * The guest's own XSETBV (of every feature offered) is what CPUID leaf 0xD
 * and a later getstate see: the standard size in 0xD.0 EBX, the compacted
 * one in 0xD.1 EBX where XSAVEC is offered (they differ with AVX-512, whose
 * standard offsets leave room for MPX). The host gets its XCR0 back, also
 * where the CPU ignores the XSETBV intercept (QEMU before 8.2, the svm
 * lane): there the guest's XSETBV reaches XCR0 itself, and nvmm.ko must
 * notice it at the exit.
 */
START_TEST(guest_xsetbv_seen_host_xcr0_kept)
{
	struct nvmm_x64_state *st;
	uint32_t a, d, host_lo, host_hi;
	uint64_t mask;

	vm_create(&vm, 1 * MIB);
	mask = cap().arch.xcr0_mask;
	if (!(mask & XCR0_YMM))
		ksft_skip("no YMM in the capability's xcr0_mask");
	__asm__ volatile("xgetbv" : "=a"(host_lo), "=d"(host_hi) : "c"(0));
	vm_load(&vm, "compat_xsetbv");
	vm_mode_long(&vm, 0, VM_CODE);
	st = vm_state(&vm, 0);
	vm_get(&vm, 0, NVMM_X64_STATE_ALL);
	st->crs[NVMM_X64_CR_CR4] |= CR4_OSXSAVE;
	st->gprs[NVMM_X64_GPR_RBX] = mask;
	vm_set(&vm, 0, NVMM_X64_STATE_ALL);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	ck_assert_uint_eq(vm.nreports[0], 4);
	ksft_print("XCR0 %#" PRIx64 ": 0xD.0 EBX %u, 0xD.1 EAX %#x EBX %u",
		   mask, vm.reports[0][0], vm.reports[0][2], vm.reports[0][3]);
	ck_assert_msg(vm.reports[0][0] == emu_xsave_size(mask, false),
		      "CPUID 0xD.0 EBX %u after XSETBV %#" PRIx64 ", expected "
		      "%u", vm.reports[0][0], mask, emu_xsave_size(mask, false));
	ck_assert_uint_eq(vm.reports[0][1], (uint32_t)mask);
	if (vm.reports[0][2] & 2)	/* XSAVEC */
		ck_assert_msg(vm.reports[0][3] == emu_xsave_size(mask, true),
			      "CPUID 0xD.1 EBX %u, expected the compacted size "
			      "%u", vm.reports[0][3],
			      emu_xsave_size(mask, true));
	vm_get(&vm, 0, NVMM_X64_STATE_CRS);
	ck_assert_uint_eq(st->crs[NVMM_X64_CR_XCR0], mask);
	__asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	ck_assert_msg(a == host_lo && d == host_hi, "host XCR0 %#x:%#x after "
		      "the run, was %#x:%#x", d, a, host_hi, host_lo);
	vm_destroy(&vm);
}
END_TEST

/* -------------------------------------------------------------------------- */
/* Events. */

#define STACK_GPA	0x300000ULL	/* outside RAM: MEMORY exits */

/* long_events to its first HLT (reports 1 and 2). */
static void events_setup(void)
{
	const uint32_t expect[] = { 1, 2 };

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_events");
	vm_mode_long(&vm, 0, VM_CODE);
	vm_run_expect(&vm, 0, expect, 2);
}

START_TEST(inject_de_bp_refused_and_consumed)
{
	struct nvmm_vcpu_event *ev;
	static const uint8_t vectors[] = { 0, 3 };
	const uint32_t expect[] = { 1, 2, 3 };
	unsigned int i;

	events_setup();
	ev = vm.vcpu[0].event;
	for (i = 0; i < 2; i++) {
		ev->type = NVMM_VCPU_EVENT_EXCP;
		ev->vector = vectors[i];
		ev->u.excp.error = 0;
		ck_assert_int_eq(nvmm_vcpu_inject(&vm.mach, &vm.vcpu[0]), 0);
		ck_assert_int_eq(nvmm_vcpu_run(&vm.mach, &vm.vcpu[0]), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	/* Dropped by the refusal: the guest goes on without it. */
	vm_run_expect(&vm, 0, expect, 3);
	vm_destroy(&vm);
}
END_TEST

/*
 * An event injected while another's delivery is pending (it exited to
 * userland half-way: its stack is not mapped yet) is held, not refused
 * (we returned EBUSY) nor put over the pending one (NetBSD loses that
 * one): the guest gets both, the pending first. The error code keeps its
 * low 32 bits. One try: true when the guest reported them in that order.
 */
static bool pending_then_held_once(void)
{
	const struct nvmm_vcpu_exit *exit = vm.vcpu[0].exit;
	const uint32_t expect[] = { 1, 2, 0xE30, 0xE13, 0xBEEF, 3 };
	struct nvmm_vcpu_event *ev;
	uint8_t *page;
	uint64_t reason;
	bool ok;

	events_setup();
	exit = vm.vcpu[0].exit;
	ev = vm.vcpu[0].event;
	vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RSP] = STACK_GPA + 0x1000;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	ev->type = NVMM_VCPU_EVENT_INTR;
	ev->vector = 0x30;
	ck_assert_int_eq(nvmm_vcpu_inject(&vm.mach, &vm.vcpu[0]), 0);
	reason = vm_run(&vm, 0);
	ck_assert_uint_eq(reason, NVMM_VCPU_EXIT_MEMORY);
	ck_assert_uint_eq(exit->u.mem.gpa & ~0xFFFULL, STACK_GPA);
	ck_assert_msg(exit->exitstate.evt_pending, "the interrupt's delivery "
		      "is not pending");

	/* The stack appears; a #GP comes while the interrupt is pending. */
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(page != MAP_FAILED);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)page, 4096), 0);
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)page, STACK_GPA,
				      4096, PROT_READ | PROT_WRITE), 0);
	ev->type = NVMM_VCPU_EVENT_EXCP;
	ev->vector = 13;
	ev->u.excp.error = 0xFFFFFFFF0000BEEFULL;
	ck_assert_int_eq(nvmm_vcpu_inject(&vm.mach, &vm.vcpu[0]), 0);
	reason = vm_run(&vm, 0);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED, "exit %#llx instead of "
		      "HALTED", (unsigned long long)reason);
	ok = vm.nreports[0] == 6 &&
	     memcmp(vm.reports[0], expect, sizeof(expect)) == 0;
	if (ok)
		ck_assert(!exit->exitstate.evt_pending);
	else
		ksft_print("%u reports: %#x %#x %#x %#x ...", vm.nreports[0],
			   vm.reports[0][0], vm.reports[0][1],
			   vm.reports[0][2], vm.reports[0][3]);
	vm_destroy(&vm);
	munmap(page, 4096);
	return ok;
}

/*
 * QEMU 7.2's TCG SVM (lane svm) now and then loses the pending injection
 * when a host interrupt makes the guest exit on the way: measured on
 * 2026-12-07, 4 failures in 37 tries that had such an exit (the module's
 * exit_intr count), none in 263 without one; Bochs' SVM and VMX never
 * lost it. There, and only after a host interrupt exit, the test tries
 * again; a wrong order without one fails at once.
 */
#define HELD_TRIES	10

START_TEST(inject_while_pending_held)
{
	unsigned int i;
	long intr;

	for (i = 0;; i++) {
		intr = emu_stat("exit_intr");
		if (pending_then_held_once())
			break;
		intr = emu_stat("exit_intr") - intr;
		ck_assert_msg(intr > 0 && strcmp(emu_lane(), "svm") == 0,
			      "the held #GP came before the pending interrupt "
			      "(host interrupt exits: %ld)", intr);
		ck_assert_msg(i + 1 < HELD_TRIES, "%u tries in a row lost the "
			      "pending interrupt", HELD_TRIES);
	}
}
END_TEST

/* -------------------------------------------------------------------------- */
/* Configuration. */

static int conf_cpuid(const struct nvmm_vcpu_conf_cpuid *c)
{
	return nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0], NVMM_VCPU_CONF_CPUID,
				   (void *)c);
}

START_TEST(conf_cpuid_as_netbsd)
{
	struct nvmm_vcpu_conf_cpuid c;

	vm_create(&vm, 1 * MIB);
	/* Reserved bits: ignored. */
	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.rsvd = 0x155;
	c.leaf = 1;
	c.u.mask.set.ecx = 1;
	ck_assert_int_eq(conf_cpuid(&c), 0);
	/* Exit with set/del words (not a mask): the words are ignored. */
	memset(&c, 0, sizeof(c));
	c.exit = 1;
	c.leaf = 0x40000010;
	c.u.mask.set.eax = 0x1234;
	c.u.mask.del.edx = 0x5678;
	ck_assert_int_eq(conf_cpuid(&c), 0);
	/* A bit both set and deleted: refused. */
	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.leaf = 7;
	c.u.mask.set.ebx = 0x11;
	c.u.mask.del.ebx = 0x10;
	ck_assert_int_eq(conf_cpuid(&c), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Mask and exit together: refused. */
	c.u.mask.del.ebx = 0;
	c.exit = 1;
	ck_assert_int_eq(conf_cpuid(&c), -1);
	ck_assert_int_eq(errno, EINVAL);
	vm_destroy(&vm);
}
END_TEST

START_TEST(conf_tpr_reserved_bits_ignored)
{
	struct nvmm_vcpu_conf_tpr t = { .exit_changed = 1, .rsvd = 0x7F };
	int ret;

	vm_create(&vm, 1 * MIB);
	ret = nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0], NVMM_VCPU_CONF_TPR,
				  &t);
	if (cap().arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_TPR) {
		ck_assert_int_eq(ret, 0);
	} else {
		/* Not offered (SVM), as on NetBSD: refused. */
		ck_assert_int_eq(ret, -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	vm_destroy(&vm);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(zeroed_state_real_mode_runs),
		KSFT_TEST(zeroed_state_long_mode_runs),
		KSFT_TEST(segs_reserved_attrib_bits_ignored),
		KSFT_TEST(segs_noncanonical_base_refused),
		KSFT_TEST(gprs_rflags_reserved_bits_masked),
		KSFT_TEST(crs_cr4_bits_not_offered_cleared),
		KSFT_TEST(crs_cr8_keeps_four_bits),
		KSFT_TEST(crs_xcr0_masked_x87_forced),
		KSFT_TEST(crs_xcr0_bad_combinations_repaired),
		KSFT_TEST(crs_cr0_invalid_refused),
		KSFT_TEST(drs_dr6_truncated),
		KSFT_TEST(drs_dr7_high_or_noncanonical_dr_refused),
		KSFT_TEST(msrs_efer_bits_not_offered_cleared),
		KSFT_TEST(msrs_sysenter_cs_truncated),
		KSFT_TEST(msrs_pat_and_noncanonical_refused),
		KSFT_TEST(fpu_mxcsr_masked_by_given_mask),
		KSFT_TEST(unknown_state_groups_ignored),
		KSFT_TEST(reset_state_as_netbsd),
		KSFT_TEST(getstate_tsc_live),
		KSFT_TEST(getstate_cr0_et_forced_ne_as_committed),
		KSFT_TEST(guest_xsetbv_seen_host_xcr0_kept),
		KSFT_TEST(inject_de_bp_refused_and_consumed),
		KSFT_TEST(inject_while_pending_held),
		KSFT_TEST(conf_cpuid_as_netbsd),
		KSFT_TEST(conf_tpr_reserved_bits_ignored),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("compat", tests, sizeof(tests) / sizeof(tests[0]), 120);
}
