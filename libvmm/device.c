/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: the /dev/nvmm descriptor, capability and control operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm_internal.h"

#define VMM_DEVICE "/dev/nvmm"

int vmm_fd = -1;
struct nvmm_capability vmm_cap;

int vmm_ioctl(unsigned long cmd, void *arg)
{
	int ret;

	if (vmm_fd == -1) {
		errno = ENXIO;
		return -1;
	}
	do {
		ret = ioctl(vmm_fd, cmd, arg);
	} while (ret == -1 && errno == EINTR && cmd != NVMM_IOC_VCPU_RUN);
	return ret;
}

static int vmm_open(int flags)
{
	int fd;

	if (vmm_fd != -1)
		return 0;
	fd = open(VMM_DEVICE, flags | O_CLOEXEC);
	if (fd == -1)
		return -1;
	vmm_fd = fd;
	if (nvmm_capability(&vmm_cap) == -1)
		goto fail;
	if (vmm_cap.version != NVMM_KERN_VERSION ||
	    vmm_cap.state_size != sizeof(struct nvmm_vcpu_state)) {
		errno = EPROGMISMATCH;
		goto fail;
	}
	return 0;

fail:
	{
		int err = errno;

		close(fd);
		vmm_fd = -1;
		errno = err;
	}
	return -1;
}

VMM_EXPORT int nvmm_init(void)
{
	return vmm_open(O_RDWR);
}

VMM_EXPORT int nvmm_root_init(void)
{
	return vmm_open(O_WRONLY);
}

VMM_EXPORT int nvmm_capability(struct nvmm_capability *cap)
{
	struct nvmm_ioc_capability args;

	if (cap == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(&args, 0, sizeof(args));
	if (vmm_ioctl(NVMM_IOC_CAPABILITY, &args) == -1)
		return -1;
	*cap = args.cap;
	return 0;
}

VMM_EXPORT int nvmm_ctl(int op, void *data, size_t size)
{
	struct nvmm_ioc_ctl args;

	memset(&args, 0, sizeof(args));
	args.op = op;
	args.data = (uint64_t)(uintptr_t)data;
	args.size = size;
	return vmm_ioctl(NVMM_IOC_CTL, &args);
}
