/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: machines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm_internal.h"

VMM_EXPORT int nvmm_machine_create(struct nvmm_machine *mach)
{
	struct nvmm_ioc_machine_create args;
	struct nvmm_ioc_machine_destroy dargs;
	struct nvmm_comm_page **pages;
	struct vmm_areas *areas;

	if (mach == NULL) {
		errno = EINVAL;
		return -1;
	}
	pages = calloc(vmm_cap.max_vcpus ? vmm_cap.max_vcpus : 1,
		       sizeof(*pages));
	areas = vmm_areas_new();
	if (pages == NULL || areas == NULL) {
		free(pages);
		vmm_areas_free(areas);
		errno = ENOMEM;
		return -1;
	}

	memset(&args, 0, sizeof(args));
	if (vmm_ioctl(NVMM_IOC_MACHINE_CREATE, &args) == -1) {
		int err = errno;

		free(pages);
		vmm_areas_free(areas);
		errno = err;
		return -1;
	}
	if (args.machid >= vmm_cap.max_machines) {
		/* Cannot happen with a sane kernel; do not leak it anyway. */
		dargs.machid = args.machid;
		vmm_ioctl(NVMM_IOC_MACHINE_DESTROY, &dargs);
		free(pages);
		vmm_areas_free(areas);
		errno = EPROTO;
		return -1;
	}

	memset(mach, 0, sizeof(*mach));
	mach->machid = args.machid;
	mach->pages = pages;
	mach->areas = areas;
	return 0;
}

VMM_EXPORT int nvmm_machine_destroy(struct nvmm_machine *mach)
{
	struct nvmm_ioc_machine_destroy args;
	uint32_t i;

	if (mach == NULL || mach->pages == NULL) {
		errno = EINVAL;
		return -1;
	}
	args.machid = mach->machid;
	if (vmm_ioctl(NVMM_IOC_MACHINE_DESTROY, &args) == -1)
		return -1;

	for (i = 0; i < vmm_cap.max_vcpus; i++) {
		if (mach->pages[i] != NULL)
			munmap(mach->pages[i], sysconf(_SC_PAGESIZE));
	}
	free(mach->pages);
	vmm_areas_free(mach->areas);
	mach->pages = NULL;
	mach->areas = NULL;
	return 0;
}

VMM_EXPORT int nvmm_machine_configure(struct nvmm_machine *mach, uint64_t op,
				      void *conf)
{
	struct nvmm_ioc_machine_configure args;

	if (mach == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(&args, 0, sizeof(args));
	args.machid = mach->machid;
	args.op = op;
	args.conf = (uint64_t)(uintptr_t)conf;
	return vmm_ioctl(NVMM_IOC_MACHINE_CONFIGURE, &args);
}
