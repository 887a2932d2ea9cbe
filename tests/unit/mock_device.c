/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../../libvmm/vmm_internal.h"
#include "mock_device.h"

#define MOCK_NCMDS 32

int vmm_fd = 1000;	/* never used as a descriptor */
struct nvmm_capability vmm_cap = {
	.version = NVMM_KERN_VERSION,
	.state_size = sizeof(struct nvmm_vcpu_state),
	.max_machines = 128,
	.max_vcpus = 256,
	.max_ram = 128ULL << 30,
};

unsigned int mock_ioctls;
static unsigned int mock_counts[MOCK_NCMDS];
static unsigned long mock_fail_cmd;
static int mock_fail_err;

void mock_reset(void)
{
	mock_ioctls = 0;
	memset(mock_counts, 0, sizeof(mock_counts));
	mock_fail_cmd = 0;
	mock_fail_err = 0;
}

unsigned int mock_ioctl_count(unsigned long cmd)
{
	return mock_counts[_IOC_NR(cmd) % MOCK_NCMDS];
}

void mock_fail_next(unsigned long cmd, int err)
{
	mock_fail_cmd = cmd;
	mock_fail_err = err;
}

int vmm_ioctl(unsigned long cmd, void *arg)
{
	mock_ioctls++;
	mock_counts[_IOC_NR(cmd) % MOCK_NCMDS]++;
	if (mock_fail_err != 0 && cmd == mock_fail_cmd) {
		errno = mock_fail_err;
		mock_fail_err = 0;
		return -1;
	}
	if (cmd == NVMM_IOC_MACHINE_CREATE)
		((struct nvmm_ioc_machine_create *)arg)->machid = 0;
	if (cmd == NVMM_IOC_VCPU_GETSTATE)
		errno = 0;	/* the comm page already holds the state */
	return 0;
}

int nvmm_init(void)
{
	return 0;
}

int nvmm_root_init(void)
{
	return 0;
}

int nvmm_capability(struct nvmm_capability *cap)
{
	*cap = vmm_cap;
	return 0;
}

int nvmm_ctl(int op, void *data, size_t size)
{
	(void)op;
	(void)data;
	(void)size;
	errno = ENOENT;
	return -1;
}

int mock_machine(struct nvmm_machine *mach)
{
	return nvmm_machine_create(mach);
}

int mock_vcpu(struct nvmm_machine *mach, nvmm_cpuid_t cpuid,
	      struct nvmm_vcpu *vcpu)
{
	struct nvmm_comm_page *comm;

	if (cpuid >= vmm_cap.max_vcpus || mach->pages[cpuid] != NULL) {
		errno = EINVAL;
		return -1;
	}
	comm = aligned_alloc(4096, 4096);
	if (comm == NULL)
		return -1;
	memset(comm, 0, 4096);
	mach->pages[cpuid] = comm;
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->cpuid = cpuid;
	vcpu->state = &comm->state;
	vcpu->event = &comm->event;
	vcpu->exit = &comm->exit;
	vcpu->stop = &comm->stop;
	return 0;
}

void mock_machine_free(struct nvmm_machine *mach)
{
	for (uint32_t i = 0; i < vmm_cap.max_vcpus; i++) {
		free(mach->pages[i]);
		mach->pages[i] = NULL;
	}
	free(mach->pages);
	vmm_areas_free(mach->areas);
	mach->pages = NULL;
	mach->areas = NULL;
}
