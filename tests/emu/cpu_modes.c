/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_cpu: protected mode, 32 and 16 bits, and the exits left over by
 * run.c (MONITOR, MWAIT; the instructions that raise #UD or #GP).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_cpu.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* Protected mode, 32 and 16 bits. */

static unsigned int io_in_count;
static uint8_t io_in_sizes[8];

static void io_cb(struct nvmm_io *io)
{
	static const uint32_t answer[5] = {
		[1] = 0x5A, [2] = 0x6B7C, [4] = 0x8D9EAFB0,
	};

	ck_assert_msg(io->in && io->port == 0x60, "unexpected I/O: port %#x "
		      "in %d", io->port, io->in);
	ck_assert(io->size == 1 || io->size == 2 || io->size == 4);
	if (io_in_count < 8)
		io_in_sizes[io_in_count] = (uint8_t)io->size;
	io_in_count++;
	memcpy(io->data, &answer[io->size], io->size);
}

/*
 * Run to HLT, doing the IN exits with nvmm_assist_io. Each IN exit must
 * have the expected address size and instruction length (npc).
 */
static void run_with_ins(unsigned int addr_size)
{
	const struct nvmm_vcpu_exit *exit = vm.vcpu[0].exit;
	uint64_t reason, rip;

	for (;;) {
		reason = vm_run(&vm, 0);
		if (reason == NVMM_VCPU_EXIT_HALTED)
			return;
		ck_assert_msg(reason == NVMM_VCPU_EXIT_IO, "exit %#" PRIx64,
			      reason);
		ck_assert(exit->u.io.in);
		ck_assert_uint_eq(exit->u.io.port, 0x60);
		ck_assert(!exit->u.io.str && !exit->u.io.rep);
		/* The address size matters to string I/O only (and QEMU
		 * leaves it out of EXITINFO1): not checked here. */
		(void)addr_size;
		rip = get_rip(&vm, 0);
		/* IN imm8 is 2 bytes (+0x66 in 16-bit code for 32 bits);
		 * IN from DX is 1. */
		ck_assert_msg(exit->u.io.npc > rip && exit->u.io.npc <= rip + 3,
			      "npc %#" PRIx64 " for RIP %#" PRIx64,
			      exit->u.io.npc, rip);
		ck_assert_int_eq(nvmm_assist_io(&vm.mach, &vm.vcpu[0]), 0);
	}
}

START_TEST(protected_mode_32)
{
	struct nvmm_assist_callbacks cbs = { .io = io_cb };
	uint32_t host0[4];
	uint32_t expect[] = {
		42, 142, 6, 0xF8000000, 1,
		0xA1, 0xB2C3, 0xD4E5F607, 0x12345678,
		0xFFFFFF5A, 0xFFFF6B7C, 0x8D9EAFB0,
		0 /* max leaf */, 0 /* vendor */, 0xCAFE, 0x08,
	};
	unsigned int n = sizeof(expect) / sizeof(expect[0]), i;

	host_cpuid(0, 0, host0);
	expect[12] = host0[0] < 0xD ? host0[0] : 0xD;
	expect[13] = host0[1];
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "prot32_ops");
	vm_mode_prot32(&vm, 0, VM_CODE);
	ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
					     NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
	io_in_count = 0;
	run_with_ins(4);
	ck_assert_uint_eq(io_in_count, 3);
	ck_assert_uint_eq(io_in_sizes[0], 1);
	ck_assert_uint_eq(io_in_sizes[1], 2);
	ck_assert_uint_eq(io_in_sizes[2], 4);
	ck_assert_msg(vm.nreports[0] == n, "%u reports, expected %u",
		      vm.nreports[0], n);
	for (i = 0; i < n; i++)
		ck_assert_msg(vm.reports[0][i] == expect[i], "report %u: %#x, "
			      "expected %#x", i, vm.reports[0][i], expect[i]);
	vm_get(&vm, 0, NVMM_X64_STATE_CRS | NVMM_X64_STATE_SEGS |
	       NVMM_X64_STATE_MSRS);
	ck_assert_uint_eq(vm_state(&vm, 0)->crs[NVMM_X64_CR_CR0] & 0x80000001,
			  1);
	ck_assert_uint_eq(vm_state(&vm, 0)->segs[NVMM_X64_SEG_CS].attrib.def,
			  1);
	ck_assert_uint_eq(vm_state(&vm, 0)->msrs[NVMM_X64_MSR_EFER] & 0x400,
			  0);
	vm_destroy(&vm);
}
END_TEST
KSFT_EXPORT(protected_mode_32)

START_TEST(protected_mode_16)
{
	struct nvmm_assist_callbacks cbs = { .io = io_cb };
	uint32_t host0[4];
	uint32_t expect[] = {
		0, 0x12345678, 0x062A, 0x5C, 0x6D7E,
		0xFFFFFF5A, 0xFFFF6B7C, 0x8D9EAFB0, 0 /* vendor */, 0x16,
	};
	unsigned int n = sizeof(expect) / sizeof(expect[0]), i;

	host_cpuid(0, 0, host0);
	expect[8] = host0[1];
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "prot16_ops");
	vm_mode_prot32(&vm, 0, VM_CODE);
	/* A 16-bit code segment: D = 0. */
	vm_get(&vm, 0, NVMM_X64_STATE_SEGS);
	vm_state(&vm, 0)->segs[NVMM_X64_SEG_CS].attrib.def = 0;
	vm_set(&vm, 0, NVMM_X64_STATE_SEGS);
	ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
					     NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
	io_in_count = 0;
	run_with_ins(2);
	ck_assert_uint_eq(io_in_count, 3);
	ck_assert_uint_eq(io_in_sizes[0], 1);
	ck_assert_uint_eq(io_in_sizes[1], 2);
	ck_assert_uint_eq(io_in_sizes[2], 4);
	ck_assert_msg(vm.nreports[0] == n, "%u reports, expected %u",
		      vm.nreports[0], n);
	for (i = 0; i < n; i++)
		ck_assert_msg(vm.reports[0][i] == expect[i], "report %u: %#x, "
			      "expected %#x", i, vm.reports[0][i], expect[i]);
	vm_get(&vm, 0, NVMM_X64_STATE_CRS | NVMM_X64_STATE_SEGS);
	ck_assert_uint_eq(vm_state(&vm, 0)->crs[NVMM_X64_CR_CR0] & 1, 1);
	ck_assert_uint_eq(vm_state(&vm, 0)->segs[NVMM_X64_SEG_CS].attrib.def,
			  0);
	vm_destroy(&vm);
}
END_TEST
KSFT_EXPORT(protected_mode_16)

/* -------------------------------------------------------------------------- */
/* The other exits. */

/* The guest's RIP report r points at these bytes. */
static void assert_insn_at(uint32_t rip, const uint8_t *bytes, size_t n,
			   const char *name)
{
	ck_assert_msg(rip >= VM_CODE && rip + n <= VM_CODE + 0x1000,
		      "%s: RIP %#x", name, rip);
	ck_assert_msg(memcmp(vm.ram + rip, bytes, n) == 0,
		      "%s: the reported RIP %#x is not the instruction", name,
		      rip);
}

/* The instructions each backend makes raise #UD in the guest. */
struct ud_insn {
	const char *name;
	uint8_t bytes[5];
	unsigned int len;
};

static const struct ud_insn svm_ud[] = {
	{ "VMMCALL", { 0x0F, 0x01, 0xD9 }, 3 },
	{ "VMRUN", { 0x0F, 0x01, 0xD8 }, 3 },
	{ "VMLOAD", { 0x0F, 0x01, 0xDA }, 3 },
	{ "VMSAVE", { 0x0F, 0x01, 0xDB }, 3 },
	{ "STGI", { 0x0F, 0x01, 0xDC }, 3 },
	{ "CLGI", { 0x0F, 0x01, 0xDD }, 3 },
	{ "SKINIT", { 0x0F, 0x01, 0xDE }, 3 },
	{ "INVLPGA", { 0x0F, 0x01, 0xDF }, 3 },
	{ "RDTSCP", { 0x0F, 0x01, 0xF9 }, 3 },
};

static const struct ud_insn vmx_ud[] = {
	{ "VMCALL", { 0x0F, 0x01, 0xC1 }, 3 },
	{ "VMLAUNCH", { 0x0F, 0x01, 0xC2 }, 3 },
	{ "VMRESUME", { 0x0F, 0x01, 0xC3 }, 3 },
	{ "VMXOFF", { 0x0F, 0x01, 0xC4 }, 3 },
	{ "VMPTRLD", { 0x0F, 0xC7, 0x30 }, 3 },
	{ "VMPTRST", { 0x0F, 0xC7, 0x38 }, 3 },
	{ "VMREAD", { 0x0F, 0x78, 0xC1 }, 3 },
	{ "VMWRITE", { 0x0F, 0x79, 0xC1 }, 3 },
	{ "VMFUNC", { 0x0F, 0x01, 0xD4 }, 3 },
	{ "RDTSCP", { 0x0F, 0x01, 0xF9 }, 3 },
	{ "VMCLEAR", { 0x66, 0x0F, 0xC7, 0x30 }, 4 },
	{ "VMXON", { 0xF3, 0x0F, 0xC7, 0x30 }, 4 },
	{ "INVEPT", { 0x66, 0x0F, 0x38, 0x80, 0x08 }, 5 },
	{ "INVVPID", { 0x66, 0x0F, 0x38, 0x81, 0x08 }, 5 },
	{ "GETSEC", { 0x0F, 0x37 }, 2 },
};

/*
 * MONITOR and MWAIT exit to userland; the virtualization instructions of
 * the lane's backend (guests/long_excp.S on SVM, long_excp_vmx.S on VMX)
 * and RDTSCP raise #UD, RDPMC #GP, INVD and WBINVD do nothing.
 */
START_TEST(exits_ud_gp_monitor_mwait)
{
	static const uint8_t monitor[] = { 0x0F, 0x01, 0xC8 };
	static const uint8_t mwait[] = { 0x0F, 0x01, 0xC9 };
	static const uint8_t rdpmc[] = { 0x0F, 0x33 };
	bool vmx = strcmp(emu_lane(), "vmx") == 0;
	const struct ud_insn *ud = vmx ? vmx_ud : svm_ud;
	unsigned int nud = vmx ? sizeof(vmx_ud) / sizeof(vmx_ud[0]) :
			   sizeof(svm_ud) / sizeof(svm_ud[0]);
	const struct nvmm_vcpu_exit *exit;
	uint32_t host1[4], *r;
	uint64_t reason, rip;
	unsigned int i, k, n;
	bool qemu = qemu_version() != 0;

	host_cpuid(1, 0, host1);
	if (!(host1[2] & (1u << 3)))
		ksft_skip("the CPU has no MONITOR/MWAIT");
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, vmx ? "long_excp_vmx" : "long_excp");
	vm_mode_long(&vm, 0, VM_CODE);
	exit = vm.vcpu[0].exit;

	reason = vm_run(&vm, 0);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_MONITOR, "exit %#" PRIx64
		      " instead of MONITOR (reports %u)", reason,
		      vm.nreports[0]);
	rip = get_rip(&vm, 0);
	assert_insn_at((uint32_t)rip, monitor, 3, "MONITOR");
	ck_assert_uint_eq(exit->u.insn.npc, rip + 3);
	vm_skip(&vm, 0, exit->u.insn.npc);

	reason = vm_run(&vm, 0);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_MWAIT, "exit %#" PRIx64
		      " instead of MWAIT", reason);
	rip = get_rip(&vm, 0);
	assert_insn_at((uint32_t)rip, mwait, 3, "MWAIT");
	ck_assert_uint_eq(exit->u.insn.npc, rip + 3);
	vm_skip(&vm, 0, exit->u.insn.npc);

	reason = vm_run(&vm, 0);
	if (reason != NVMM_VCPU_EXIT_HALTED)
		nvmm_vcpu_dump(&vm.mach, &vm.vcpu[0]);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED, "exit %#" PRIx64
		      " after %u reports", reason, vm.nreports[0]);
	r = vm.reports[0];
	n = vm.nreports[0];
	ck_assert_uint_ge(n, 3);
	ck_assert_uint_eq(r[0], 1);
	ck_assert_uint_eq(r[1], 2);
	ck_assert_uint_eq(r[2], 3);
	for (i = 0, k = 3; i < nud; i++) {
		/* QEMU checks only the RDTSC intercept for RDTSCP. */
		if (qemu && !vmx && strcmp(ud[i].name, "RDTSCP") == 0 &&
		    (k >= n || r[k] != 0xE06 ||
		     vm.ram[r[k + 1] + 2] != 0xF9)) {
			ksft_print("RDTSCP ran in the guest: QEMU does not "
				   "implement the RDTSCP intercept");
			continue;
		}
		ck_assert_msg(k + 1 < n && r[k] == 0xE06, "%s: report %#x, "
			      "not the #UD handler's 0xe06", ud[i].name,
			      k < n ? r[k] : 0);
		assert_insn_at(r[k + 1], ud[i].bytes, ud[i].len, ud[i].name);
		/* One after the other, or a MOV to R15 (6 bytes) between. */
		if (i)
			ck_assert_msg(r[k + 1] == r[k - 1] + ud[i - 1].len ||
				      r[k + 1] == r[k - 1] + ud[i - 1].len + 6 ||
				      r[k + 1] == r[k - 1] + ud[i - 1].len + 11,
				      "%s at %#x after %s at %#x", ud[i].name,
				      r[k + 1], ud[i - 1].name, r[k - 1]);
		k += 2;
	}
	ck_assert_uint_eq(n, k + 4);
	ck_assert_msg(r[k] == 0xE13, "RDPMC: report %#x, not #GP", r[k]);
	assert_insn_at(r[k + 1], rdpmc, 2, "RDPMC");
	ck_assert_uint_eq(r[k + 2], 0);
	/* INVD and WBINVD: skipped, no exit, no exception. */
	ck_assert_uint_eq(r[k + 3], 4);
	vm_destroy(&vm);
}
END_TEST
KSFT_EXPORT(exits_ud_gp_monitor_mwait)
