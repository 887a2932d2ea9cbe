/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A stand-in for libvmm's device layer (libvmm/device.c), so that unit tests
 * link the rest of libvmm and run without /dev/nvmm: ioctls succeed and are
 * counted, VCPUs get a comm page from the heap.
 */
#ifndef MOCK_DEVICE_H
#define MOCK_DEVICE_H

#include <nvmm.h>

/* ioctls issued since the last mock_reset(), by command, and in total. */
extern unsigned int mock_ioctls;
unsigned int mock_ioctl_count(unsigned long cmd);
/* The next ioctl of this command fails with errno 'err' (0: none). */
void mock_fail_next(unsigned long cmd, int err);
void mock_reset(void);

/* A machine and VCPU backed by heap memory instead of the kernel. */
int mock_machine(struct nvmm_machine *mach);
int mock_vcpu(struct nvmm_machine *mach, nvmm_cpuid_t cpuid,
	      struct nvmm_vcpu *vcpu);
void mock_machine_free(struct nvmm_machine *mach);

#endif /* MOCK_DEVICE_H */
