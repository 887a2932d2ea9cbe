/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm without a kernel: the comm-page protocol (which calls make no
 * system call) and the bookkeeping of memory areas.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "ksft.h"
#include "mock_device.h"

#define PG 4096UL

static struct nvmm_machine mach;
static struct nvmm_vcpu vcpu;

static void setup(void)
{
	mock_reset();
	ck_assert_int_eq(mock_machine(&mach), 0);
	ck_assert_int_eq(mock_vcpu(&mach, 3, &vcpu), 0);
	mock_reset();
}

START_TEST(state_protocol_costs_no_syscall)
{
	struct nvmm_comm_page *comm;

	setup();
	comm = mach.pages[3];
	vcpu.state->gprs[NVMM_X64_GPR_RAX] = 42;
	ck_assert_int_eq(nvmm_vcpu_setstate(&mach, &vcpu, NVMM_X64_STATE_GPRS),
			 0);
	ck_assert_uint_eq(comm->state_commit, NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(comm->state_cached, NVMM_X64_STATE_GPRS);
	/* Cached: no system call. */
	ck_assert_int_eq(nvmm_vcpu_getstate(&mach, &vcpu, NVMM_X64_STATE_GPRS),
			 0);
	ck_assert_uint_eq(mock_ioctls, 0);
	/* Not cached: exactly one, asking for the missing groups only. */
	ck_assert_int_eq(nvmm_vcpu_getstate(&mach, &vcpu, NVMM_X64_STATE_GPRS |
					    NVMM_X64_STATE_CRS), 0);
	ck_assert_uint_eq(mock_ioctls, 1);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_VCPU_GETSTATE), 1);
	ck_assert_uint_eq(comm->state_wanted, NVMM_X64_STATE_CRS);

	vcpu.event->type = NVMM_VCPU_EVENT_INTR;
	vcpu.event->vector = 32;
	ck_assert_int_eq(nvmm_vcpu_inject(&mach, &vcpu), 0);
	ck_assert(comm->event_commit);
	ck_assert_int_eq(nvmm_vcpu_stop(&vcpu), 0);
	ck_assert_int_eq(comm->stop, 1);
	ck_assert_uint_eq(mock_ioctls, 1);

	ck_assert_int_eq(nvmm_vcpu_run(&mach, &vcpu), 0);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_VCPU_RUN), 1);
	ck_assert_uint_eq(mock_ioctls, 2);
	mock_machine_free(&mach);
}
END_TEST

static void cb_io(struct nvmm_io *io)
{
	(void)io;
}

START_TEST(configure_callbacks_locally)
{
	struct nvmm_assist_callbacks cbs = { .io = cb_io, .mem = NULL };
	struct nvmm_vcpu_conf_cpuid cpuid = { .mask = 1, .leaf = 1 };

	setup();
	ck_assert_int_eq(nvmm_vcpu_configure(&mach, &vcpu,
					     NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
	ck_assert_ptr_eq(vcpu.cbs.io, cb_io);
	ck_assert_uint_eq(mock_ioctls, 0);
	ck_assert_int_eq(nvmm_vcpu_configure(&mach, &vcpu,
					     NVMM_VCPU_CONF_CALLBACKS, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_vcpu_configure(&mach, &vcpu,
					     NVMM_VCPU_CONF_CPUID, &cpuid), 0);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_VCPU_CONFIGURE), 1);
	mock_machine_free(&mach);
}
END_TEST

START_TEST(bad_arguments)
{
	struct nvmm_vcpu ghost;

	setup();
	memset(&ghost, 0, sizeof(ghost));
	ghost.cpuid = 9;	/* never created */
	ck_assert_int_eq(nvmm_vcpu_run(&mach, &ghost), -1);
	ck_assert_int_eq(errno, EINVAL);
	ghost.cpuid = 100000;
	ck_assert_int_eq(nvmm_vcpu_setstate(&mach, &ghost, 1), -1);
	ck_assert_int_eq(nvmm_vcpu_run(NULL, &vcpu), -1);
	ck_assert_int_eq(nvmm_vcpu_stop(NULL), -1);
	ck_assert_uint_eq(mock_ioctls, 0);
	mock_machine_free(&mach);
}
END_TEST

START_TEST(gpa_areas)
{
	uintptr_t hva;
	nvmm_prot_t prot;

	setup();
	/* Unaligned or empty: refused before the kernel sees them. */
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0x10000, 0x1001, PG, PROT_READ),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0x10000, 0x1000, 0, PROT_READ),
			 -1);
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0x10000, 0x1000, PG, 0x100), -1);
	ck_assert_uint_eq(mock_ioctls, 0);

	ck_assert_int_eq(nvmm_gpa_map(&mach, 0x700000, 0x100000, 16 * PG,
				      PROT_READ | PROT_WRITE), 0);
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0x900000, 0x0, 4 * PG,
				      PROT_READ | PROT_EXEC), 0);
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0xA00000, 0x200000, PG,
				      PROT_READ), 0);
	/*
	 * Overlaps, at either end, inside or around, are refused before the
	 * kernel sees them, with EINVAL as NetBSD's libnvmm does.
	 */
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0xB00000, 0x10F000, 2 * PG,
				      PROT_READ), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0xB00000, 0xFF000, 2 * PG,
				      PROT_READ), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0xB00000, 0x0, 64 * PG,
				      PROT_READ), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0xB00000, 0x104000, PG,
				      PROT_READ), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_GPA_MAP), 3);

	ck_assert_int_eq(nvmm_gpa_to_hva(&mach, 0x100123, &hva, &prot), 0);
	ck_assert_uint_eq(hva, 0x700123);
	ck_assert_uint_eq(prot, NVMM_PROT_READ | NVMM_PROT_WRITE);
	ck_assert_int_eq(nvmm_gpa_to_hva(&mach, 0x3FFF, &hva, &prot), 0);
	ck_assert_uint_eq(hva, 0x903FFF);
	ck_assert_uint_eq(prot, NVMM_PROT_READ | NVMM_PROT_EXEC);
	ck_assert_int_eq(nvmm_gpa_to_hva(&mach, 0x4000, &hva, &prot), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(nvmm_gpa_to_hva(&mach, 0x110000, &hva, &prot), -1);

	/* Unmap must name a mapped range exactly. */
	ck_assert_int_eq(nvmm_gpa_unmap(&mach, 0x700000, 0x100000, PG), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(nvmm_gpa_unmap(&mach, 0x700000, 0x100000, 16 * PG),
			 0);
	ck_assert_int_eq(nvmm_gpa_to_hva(&mach, 0x100123, &hva, &prot), -1);
	ck_assert_int_eq(nvmm_gpa_to_hva(&mach, 0x200000, &hva, &prot), 0);

	/* A kernel refusal leaves the library's view unchanged. */
	mock_fail_next(NVMM_IOC_GPA_MAP, ENOMEM);
	ck_assert_int_eq(nvmm_gpa_map(&mach, 0x700000, 0x100000, PG,
				      PROT_READ), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_eq(nvmm_gpa_to_hva(&mach, 0x100000, &hva, &prot), -1);
	mock_machine_free(&mach);
}
END_TEST

START_TEST(many_areas_sorted)
{
	uintptr_t hva;
	nvmm_prot_t prot;
	unsigned int i;

	setup();
	/* Inserted out of order; each lookup must land in its own area. */
	for (i = 0; i < 200; i++) {
		unsigned int k = (i * 73) % 200;

		ck_assert_int_eq(nvmm_gpa_map(&mach, 0x10000000 + k * 2 * PG,
					      (gpaddr_t)k * 3 * PG, 2 * PG,
					      PROT_READ), 0);
	}
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(nvmm_gpa_to_hva(&mach, i * 3 * PG + PG + 5,
						 &hva, &prot), 0);
		ck_assert_uint_eq(hva, 0x10000000 + i * 2 * PG + PG + 5);
		ck_assert_int_eq(nvmm_gpa_to_hva(&mach, i * 3 * PG + 2 * PG,
						 &hva, &prot), -1);
	}
	mock_machine_free(&mach);
}
END_TEST

START_TEST(hva_areas)
{
	setup();
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x400000, 8 * PG), 0);
	/* Partly over a registration, or around it: refused. */
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x404000, 8 * PG), -1);
	ck_assert_int_eq(errno, EEXIST);
	errno = 0;
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x3FF000, 2 * PG), -1);
	ck_assert_int_eq(errno, EEXIST);
	errno = 0;
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x3FF000, 10 * PG), -1);
	ck_assert_int_eq(errno, EEXIST);
	/* hva 0 is refused, as NetBSD's kernel does. */
	ck_assert_int_eq(nvmm_hva_map(&mach, 0, PG), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x123, PG), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_HVA_MAP), 1);

	/* Inside or identical: registered again (NetBSD accepts both). */
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x402000, 2 * PG), 0);
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x400000, 8 * PG), 0);
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x400000, 8 * PG), 0);
	/* Partly over the nested one, inside the outer ones: accepted. */
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x403000, 2 * PG), 0);
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x408000, 8 * PG), 0);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_HVA_MAP), 6);

	/* Unmap names one registration exactly and removes one. */
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x400000, 4 * PG), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x400000, 8 * PG), 0);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x400000, 8 * PG), 0);
	/* A kernel refusal keeps the registration. */
	mock_fail_next(NVMM_IOC_HVA_UNMAP, EBUSY);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x400000, 8 * PG), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x400000, 8 * PG), 0);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x400000, 8 * PG), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(mock_ioctl_count(NVMM_IOC_HVA_UNMAP), 4);

	/*
	 * Left: [0x402000, +2) and [0x403000, +2), which overlap each other,
	 * and [0x408000, +8). The outer range is now partly over them.
	 */
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x400000, 8 * PG), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x403000, PG), 0);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x402000, 2 * PG), 0);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x403000, 2 * PG), 0);
	ck_assert_int_eq(nvmm_hva_unmap(&mach, 0x403000, PG), 0);
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x400000, 8 * PG), 0);
	ck_assert_int_eq(nvmm_hva_map(&mach, 0x3FF000, PG), 0);
	mock_machine_free(&mach);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(state_protocol_costs_no_syscall),
		KSFT_TEST(configure_callbacks_locally),
		KSFT_TEST(bad_arguments),
		KSFT_TEST(gpa_areas),
		KSFT_TEST(many_areas_sorted),
		KSFT_TEST(hva_areas),
	};

	return ksft_run("libvmm", tests, sizeof(tests) / sizeof(tests[0]), 30);
}
