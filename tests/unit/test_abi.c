/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The public headers: names and layouts emulators written for NetBSD's
 * libnvmm v2 depend on, and the BSD helper macros <nvmm.h> supplies.
 */
#include <nvmm.h>
#include <stddef.h>
#include <string.h>

#include "ksft.h"

/* Code written like QEMU's nvmm accelerator must compile. */
#define DESC_TYPE_MASK	(15 << 8)
#define DESC_S_MASK	(1 << 12)
#define DESC_DPL_MASK	(3 << 13)
#define DESC_P_MASK	(1 << 15)
#define DESC_AVL_MASK	(1 << 20)
#define DESC_L_MASK	(1 << 21)
#define DESC_B_MASK	(1 << 22)
#define DESC_G_MASK	(1 << 23)

START_TEST(bsd_macros)
{
	ck_assert_uint_eq(__BIT(0), 1);
	ck_assert_uint_eq(__BIT(63), 0x8000000000000000ULL);
	ck_assert_uint_eq(__BIT(64), 0);
	ck_assert_uint_eq(__BITS(7, 0), 0xFF);
	ck_assert_uint_eq(__BITS(0, 7), 0xFF);
	ck_assert_uint_eq(__BITS(15, 12), 0xF000);
	ck_assert_uint_eq(__BITS(63, 0), UINT64_MAX);
	ck_assert_uint_eq(__SHIFTOUT(0x0000A500u, DESC_TYPE_MASK), 5);
	ck_assert_uint_eq(__SHIFTIN(3u, DESC_DPL_MASK), 3u << 13);
	ck_assert_uint_eq(__SHIFTOUT(__SHIFTIN(1u, DESC_G_MASK), DESC_G_MASK),
			  1);
	ck_assert_int_ne(EPROGMISMATCH, 0);
}
END_TEST

START_TEST(segment_roundtrip_qemu_style)
{
	struct nvmm_x64_state_seg seg;
	uint32_t flags = DESC_P_MASK | DESC_S_MASK | DESC_L_MASK |
			 DESC_G_MASK | (3u << 13) | (0xBu << 8);
	uint32_t back;

	memset(&seg, 0, sizeof(seg));
	seg.attrib.type = __SHIFTOUT(flags, DESC_TYPE_MASK);
	seg.attrib.s = __SHIFTOUT(flags, DESC_S_MASK);
	seg.attrib.dpl = __SHIFTOUT(flags, DESC_DPL_MASK);
	seg.attrib.p = __SHIFTOUT(flags, DESC_P_MASK);
	seg.attrib.avl = __SHIFTOUT(flags, DESC_AVL_MASK);
	seg.attrib.l = __SHIFTOUT(flags, DESC_L_MASK);
	seg.attrib.def = __SHIFTOUT(flags, DESC_B_MASK);
	seg.attrib.g = __SHIFTOUT(flags, DESC_G_MASK);
	back = __SHIFTIN((uint32_t)seg.attrib.type, DESC_TYPE_MASK) |
	       __SHIFTIN((uint32_t)seg.attrib.s, DESC_S_MASK) |
	       __SHIFTIN((uint32_t)seg.attrib.dpl, DESC_DPL_MASK) |
	       __SHIFTIN((uint32_t)seg.attrib.p, DESC_P_MASK) |
	       __SHIFTIN((uint32_t)seg.attrib.avl, DESC_AVL_MASK) |
	       __SHIFTIN((uint32_t)seg.attrib.l, DESC_L_MASK) |
	       __SHIFTIN((uint32_t)seg.attrib.def, DESC_B_MASK) |
	       __SHIFTIN((uint32_t)seg.attrib.g, DESC_G_MASK);
	ck_assert_uint_eq(back, flags);
}
END_TEST

START_TEST(fxsave_layout)
{
	struct nvmm_x64_state st;

	/* QEMU copies 8 x 16-byte x87 registers and 16 XMM registers. */
	ck_assert_uint_eq(sizeof(struct fxsave), 512);
	ck_assert_uint_eq(sizeof(st.fpu.fx_87_ac), 128);
	ck_assert_uint_eq(sizeof(st.fpu.fx_xmm[0].xmm_bytes), 16);
	ck_assert_uint_eq(offsetof(struct fxsave, fx_ip), 8);
	ck_assert_uint_eq(offsetof(struct fxsave, fx_dp), 16);
	ck_assert_uint_eq(offsetof(struct fxsave, fx_mxcsr), 24);
	ck_assert_uint_eq(offsetof(struct fxsave, fx_87_ac), 32);
	ck_assert_uint_eq(offsetof(struct fxsave, fx_xmm), 160);
	ck_assert_uint_eq(offsetof(struct nvmm_x64_state, fpu) % 16, 0);
	st.fpu.fx_ip.fa_64 = 0x1122334455667788ULL;
	ck_assert_uint_eq(st.fpu.fx_ip.fa_32.fa_off, 0x55667788u);
}
END_TEST

START_TEST(state_and_comm_page)
{
	ck_assert_uint_eq(NVMM_X64_NSEG, 10);
	ck_assert_uint_eq(NVMM_X64_NGPR, 18);
	ck_assert_uint_eq(NVMM_X64_NCR, 6);
	ck_assert_uint_eq(NVMM_X64_NDR, 6);
	ck_assert_uint_eq(NVMM_X64_NMSR, 11);
	ck_assert_uint_eq(NVMM_X64_STATE_ALL, 0x7F);
	ck_assert_uint_eq(sizeof(struct nvmm_x64_state_seg), 16);
	ck_assert_uint_le(sizeof(struct nvmm_comm_page), 4096);
	/* The aliases emulators use. */
	ck_assert_uint_eq(sizeof(struct nvmm_vcpu_state),
			  sizeof(struct nvmm_x64_state));
	ck_assert_uint_eq(sizeof(struct nvmm_vcpu_exit),
			  sizeof(struct nvmm_x86_exit));
	ck_assert_uint_eq(sizeof(struct nvmm_vcpu_event),
			  sizeof(struct nvmm_x86_event));
}
END_TEST

START_TEST(exit_reasons)
{
	ck_assert_uint_eq(NVMM_VCPU_EXIT_NONE, 0);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_MEMORY, 1);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_IO, 2);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_SHUTDOWN, 0x1000);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_INT_READY, 0x1001);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_NMI_READY, 0x1002);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_HALTED, 0x1003);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_TPR_CHANGED, 0x1004);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_RDMSR, 0x2000);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_WRMSR, 0x2001);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_MONITOR, 0x2002);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_MWAIT, 0x2003);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_CPUID, 0x2004);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_STOPPED, ~1ULL);
	ck_assert_uint_eq(NVMM_VCPU_EXIT_INVALID, ~0ULL);
	ck_assert_uint_eq(NVMM_VCPU_CONF_CPUID, 200);
	ck_assert_uint_eq(NVMM_VCPU_CONF_TPR, 201);
	ck_assert_uint_eq(NVMM_VCPU_CONF_CALLBACKS, 0);
	ck_assert_uint_eq(NVMM_PROT_ALL, 0xF);
}
END_TEST

START_TEST(comm_offsets)
{
	uint32_t m, c;

	for (m = 0; m < 128; m += 7) {
		for (c = 0; c < 256; c += 13) {
			uint64_t off = NVMM_COMM_OFF(m, c);

			ck_assert_uint_eq(off % 4096, 0);
			ck_assert_uint_eq(NVMM_COMM_MACHID(off), m);
			ck_assert_uint_eq(NVMM_COMM_CPUID(off), c);
		}
	}
	ck_assert_uint_ne(NVMM_COMM_OFF(1, 0), NVMM_COMM_OFF(0, 255));
}
END_TEST

START_TEST(ioctl_numbers_distinct)
{
	const unsigned long cmds[] = {
		NVMM_IOC_CAPABILITY, NVMM_IOC_MACHINE_CREATE,
		NVMM_IOC_MACHINE_DESTROY, NVMM_IOC_MACHINE_CONFIGURE,
		NVMM_IOC_VCPU_CREATE, NVMM_IOC_VCPU_DESTROY,
		NVMM_IOC_VCPU_CONFIGURE, NVMM_IOC_VCPU_GETSTATE,
		NVMM_IOC_VCPU_RUN, NVMM_IOC_HVA_MAP, NVMM_IOC_HVA_UNMAP,
		NVMM_IOC_GPA_MAP, NVMM_IOC_GPA_UNMAP, NVMM_IOC_CTL,
	};
	size_t i, j, n = sizeof(cmds) / sizeof(cmds[0]);

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			ck_assert_uint_ne(cmds[i], cmds[j]);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(bsd_macros),
		KSFT_TEST(segment_roundtrip_qemu_style),
		KSFT_TEST(fxsave_layout),
		KSFT_TEST(state_and_comm_page),
		KSFT_TEST(exit_reasons),
		KSFT_TEST(comm_offsets),
		KSFT_TEST(ioctl_numbers_distinct),
	};

	return ksft_run("abi", tests, sizeof(tests) / sizeof(tests[0]), 30);
}
