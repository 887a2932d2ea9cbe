/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_cpu: the CPUID leaves a guest sees, masked from the host's, and the
 * per-VCPU masks of NVMM_VCPU_CONF_CPUID.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_cpu.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* CPUID. */

enum {
	Q_0, Q_1, Q_7_0, Q_7_1, Q_D_0, Q_D_1, Q_D_2, Q_80, Q_81, Q_88,
	Q_HV, Q_MAXB, Q_PAST_B, Q_PAST_HV, Q_PAST_E, Q_FAR, Q_LAST, Q_N,
};

static void cpuid_queries(uint32_t q[Q_N][2], uint32_t maxb)
{
	static const uint32_t fixed[Q_N][2] = {
		[Q_0] = { 0, 0 }, [Q_1] = { 1, 0 }, [Q_7_0] = { 7, 0 },
		[Q_7_1] = { 7, 1 }, [Q_D_0] = { 0xD, 0 }, [Q_D_1] = { 0xD, 1 },
		[Q_D_2] = { 0xD, 2 }, [Q_80] = { 0x80000000, 0 },
		[Q_81] = { 0x80000001, 0 }, [Q_88] = { 0x80000008, 0 },
		[Q_HV] = { 0x40000000, 0 }, [Q_PAST_HV] = { 0x40000001, 0 },
		[Q_PAST_E] = { 0x80000009, 0 }, [Q_FAR] = { 0x12345678, 0 },
		[Q_LAST] = { 0xFFFFFFFF, 0 },
	};

	memcpy(q, fixed, sizeof(fixed));
	q[Q_MAXB][0] = maxb;
	q[Q_PAST_B][0] = maxb + 1;
}

/* Run the CPUID table on VCPU cpu; out[q][reg]. */
static void cpuid_run(unsigned int cpu, uint32_t q[Q_N][2],
		      uint32_t out[Q_N][4])
{
	unsigned int i;

	memcpy(vm.ram + DATA_BASE, q, sizeof(uint32_t) * 2 * Q_N);
	vm_mode_long(&vm, cpu, VM_CODE);
	vm_state(&vm, cpu)->gprs[NVMM_X64_GPR_R14] = Q_N;
	vm_set(&vm, cpu, NVMM_X64_STATE_GPRS);
	vm.nreports[cpu] = 0;
	ck_assert_uint_eq(vm_run(&vm, cpu), NVMM_VCPU_EXIT_HALTED);
	ck_assert_uint_eq(vm.nreports[cpu], 4 * Q_N);
	for (i = 0; i < Q_N; i++)
		memcpy(out[i], &vm.reports[cpu][4 * i], 16);
}

/* Whether the host kernel uses a CPU feature (/proc/cpuinfo flags). */
static bool host_flag(const char *flag)
{
	char line[8192], *p;
	size_t n = strlen(flag);
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (p = strstr(line, flag); p != NULL && !found;
		     p = strstr(p + 1, flag))
			found = p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n');
		break;
	}
	fclose(f);
	return found;
}

#define SUBSET(g, h, what)						\
	ck_assert_msg(((g) & ~(h)) == 0, "%s: the guest sees %#x, the "	\
		      "host has %#x: extra bits %#x", what, (g), (h),	\
		      (g) & ~(h))

START_TEST(cpuid_leaves_and_masks)
{
	struct nvmm_capability cap;
	struct nvmm_vcpu_conf_cpuid conf;
	uint32_t q[Q_N][2], g[Q_N][4], g1[Q_N][4], h[4], h7[4], h81[4];
	uint32_t hmaxb, maxb, hmaxe;
	unsigned int i;

	ck_assert_int_eq(nvmm_init(), 0);
	ck_assert_int_eq(nvmm_capability(&cap), 0);
	host_cpuid(0, 0, h);
	hmaxb = h[0];
	maxb = hmaxb < 0xD ? hmaxb : 0xD;
	host_cpuid(0x80000000, 0, h);
	hmaxe = h[0];
	cpuid_queries(q, maxb);

	vm_create(&vm, 1 * MIB);
	vm_add_vcpu(&vm, 1);
	vm_load(&vm, "long_cpuid_table");
	cpuid_run(0, q, g);

	/* Leaf 0. */
	ck_assert_uint_eq(g[Q_0][0], maxb);
	host_cpuid(0, 0, h);
	ck_assert_uint_eq(g[Q_0][1], h[1]);
	ck_assert_uint_eq(g[Q_0][2], h[2]);
	ck_assert_uint_eq(g[Q_0][3], h[3]);
	/* Leaf 1: hypervisor, APIC ID, VCPUs, no VMX/MONITOR/OSXSAVE. */
	host_cpuid(1, 0, h);
	ck_assert(g[Q_1][2] & (1u << 31));
	ck_assert_uint_eq(g[Q_1][1] >> 24, 0);
	ck_assert_uint_eq((g[Q_1][1] >> 16) & 0xFF, 2);
	ck_assert(!(g[Q_1][2] & (1u << 5)));
	ck_assert(!(g[Q_1][2] & (1u << 3)));
	ck_assert(!(g[Q_1][2] & (1u << 27)));
	SUBSET(g[Q_1][2] & ~(1u << 31), h[2], "1.ECX");
	SUBSET(g[Q_1][3], h[3], "1.EDX");
	/* Leaf 7.0: a subset, without TSX, MPX, SGX, PKU. */
	host_cpuid(7, 0, h7);
	ck_assert_uint_eq(g[Q_7_0][0], 0);
	SUBSET(g[Q_7_0][1], h7[1], "7.EBX");
	SUBSET(g[Q_7_0][2], h7[2], "7.ECX");
	SUBSET(g[Q_7_0][3], h7[3], "7.EDX");
	ck_assert_msg(!(g[Q_7_0][1] & ((1u << 2) | (1u << 4) | (1u << 11) |
				       (1u << 14))),
		      "7.EBX %#x: SGX/HLE/RTM/MPX", g[Q_7_0][1]);
	ck_assert_msg(!(g[Q_7_0][2] & ((1u << 3) | (1u << 4))),
		      "7.ECX %#x: PKU/OSPKE", g[Q_7_0][2]);
	if (!(cap.arch.xcr0_mask & 0xE0))
		ck_assert_msg(!(g[Q_7_0][1] & (1u << 16)), "AVX512F without "
			      "its XCR0 state");
	if (!(cap.arch.xcr0_mask & 4))
		ck_assert(!(g[Q_7_0][1] & (1u << 5)));		/* AVX2 */
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(g[Q_7_1][i], 0);
	/* Leaf 0xD, when there is XSAVE. */
	if (g[Q_1][2] & (1u << 26)) {
		ck_assert_uint_eq(g[Q_D_0][0], (uint32_t)cap.arch.xcr0_mask);
		ck_assert_uint_eq(g[Q_D_0][1], 576);	/* XCR0 = x87 */
		ck_assert_uint_eq(g[Q_D_0][2],
				  emu_xsave_size(cap.arch.xcr0_mask, false));
		ck_assert_uint_eq(g[Q_D_0][3],
				  (uint32_t)(cap.arch.xcr0_mask >> 32));
		host_cpuid(0xD, 1, h);
		SUBSET(g[Q_D_1][0], h[0] & 0x7, "0xD.1.EAX");
		/*
		 * Not what the host kernel turned off: the Bochs lanes boot
		 * with clearcpuid=xsaves,xsavec (Bochs' compacted format is
		 * wrong), and a guest using XSAVEC there lost its AVX state.
		 */
		if (!host_flag("xsaveopt"))
			ck_assert(!(g[Q_D_1][0] & 1));
		if (!host_flag("xsavec"))
			ck_assert_msg(!(g[Q_D_1][0] & 2), "XSAVEC offered, "
				      "the host kernel does not use it");
		if (!host_flag("xgetbv1"))
			ck_assert(!(g[Q_D_1][0] & 4));
		host_cpuid(0xD, 2, h);
		ck_assert_uint_eq(g[Q_D_2][0], h[0]);
		ck_assert_uint_eq(g[Q_D_2][1], h[1]);
	}
	/* Extended leaves. */
	ck_assert_uint_eq(g[Q_80][0], hmaxe < 0x80000008 ? hmaxe : 0x80000008);
	host_cpuid(0x80000001, 0, h81);
	SUBSET(g[Q_81][2], h81[2], "0x80000001.ECX");
	SUBSET(g[Q_81][3], h81[3], "0x80000001.EDX");
	ck_assert_msg(!(g[Q_81][2] & (1u << 2)), "SVM offered to the guest");
	ck_assert_msg(!(g[Q_81][2] & (1u << 12)), "SKINIT offered");
	ck_assert_msg(!(g[Q_81][3] & (1u << 27)), "RDTSCP offered, but it "
		      "raises #UD");
	ck_assert(g[Q_81][3] & (1u << 29));			/* LM */
	ck_assert(g[Q_81][3] & (1u << 20));			/* NX */
	ck_assert_uint_eq(g[Q_88][2] & 0xFF, 1);		/* 2 VCPUs */
	/* The hypervisor's leaf. */
	ck_assert_uint_eq(g[Q_HV][0], 0x40000000);
	ck_assert_mem_eq(&g[Q_HV][1], "___ NVMM ___", 12);
	/* Past the maxima: the highest basic leaf, as Intel does it. */
	for (i = Q_PAST_B; i <= Q_LAST; i++)
		ck_assert_msg(memcmp(g[i], g[Q_MAXB], 16) == 0, "leaf %#x: "
			      "%#x %#x %#x %#x, not leaf %#x's", q[i][0],
			      g[i][0], g[i][1], g[i][2], g[i][3], maxb);

	/* Per-VCPU masks: VCPU 0 loses SSE3 and gains EDX bit 30 in leaf
	 * 1; VCPU 1 gains 7.EDX bit 0 only. */
	memset(&conf, 0, sizeof(conf));
	conf.mask = 1;
	conf.leaf = 1;
	conf.u.mask.del.ecx = 1;
	conf.u.mask.set.edx = 1u << 30;
	ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
					     NVMM_VCPU_CONF_CPUID, &conf), 0);
	memset(&conf, 0, sizeof(conf));
	conf.mask = 1;
	conf.leaf = 7;
	conf.u.mask.set.edx = 1;
	ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[1],
					     NVMM_VCPU_CONF_CPUID, &conf), 0);
	cpuid_run(0, q, g);
	cpuid_run(1, q, g1);
	ck_assert(!(g[Q_1][2] & 1));
	ck_assert(g[Q_1][3] & (1u << 30));
	ck_assert(!(g[Q_7_0][3] & 1));
	host_cpuid(1, 0, h);
	ck_assert_uint_eq(g1[Q_1][2] & 1, h[2] & 1);		/* SSE3 */
	ck_assert(!(g1[Q_1][3] & (1u << 30)));
	ck_assert(g1[Q_7_0][3] & 1);
	ck_assert_uint_eq(g1[Q_1][1] >> 24, 1);			/* APIC ID */
	/* A configuration with neither mask nor exit removes it. */
	memset(&conf, 0, sizeof(conf));
	conf.leaf = 1;
	ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
					     NVMM_VCPU_CONF_CPUID, &conf), 0);
	cpuid_run(0, q, g);
	ck_assert_uint_eq(g[Q_1][2] & 1, h[2] & 1);
	ck_assert(!(g[Q_1][3] & (1u << 30)));
	vm_destroy(&vm);
}
END_TEST
KSFT_EXPORT(cpuid_leaves_and_masks)
