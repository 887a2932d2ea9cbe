/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vmbench's KVM backend: raw /dev/kvm ioctls, as a small VMM drives KVM.
 * The VCPU gets the CPUID table KVM supports (KVM_SET_CPUID2), as QEMU
 * gives one; there is no in-kernel irqchip. The run loop is KVM_RUN and,
 * on an I/O exit, the data in the kvm_run page.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "vmbench.h"

#define KVM_MAX_CPUID	256

static int kvm_fd = -1, vm_fd = -1, vcpu_fd = -1;
static struct kvm_run *run;
static size_t run_size;

static int kv_slot(uint32_t slot, void *hva, uint64_t gpa, size_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) == -1) {
		vmb_err("KVM_SET_USER_MEMORY_REGION(slot %u)", slot);
		return -1;
	}
	return 0;
}

/* One more slot than the base RAM: enough for the touch region. */
static int kv_map(void *hva, uint64_t gpa, size_t size)
{
	return kv_slot(1, hva, gpa, size);
}

static int kv_unmap(void *hva, uint64_t gpa, size_t size)
{
	(void)size;
	return kv_slot(1, hva, gpa, 0);
}

/* A VM's descriptors go; /dev/kvm and what it said stay, as in a VMM. */
static void kv_destroy(void)
{
	if (run != NULL)
		munmap(run, run_size);
	run = NULL;
	if (vcpu_fd != -1)
		close(vcpu_fd);
	if (vm_fd != -1)
		close(vm_fd);
	vcpu_fd = vm_fd = -1;
}

/* The supported CPUID, asked once (a VMM asks at start, not per VM). */
static struct kvm_cpuid2 *kv_cpuid;

static int kv_set_cpuid(void)
{
	size_t sz = sizeof(*kv_cpuid) +
		    KVM_MAX_CPUID * sizeof(kv_cpuid->entries[0]);

	if (kv_cpuid == NULL) {
		kv_cpuid = calloc(1, sz);
		if (kv_cpuid == NULL) {
			vmb_err("calloc");
			return -1;
		}
		kv_cpuid->nent = KVM_MAX_CPUID;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, kv_cpuid) == -1) {
			vmb_err("KVM_GET_SUPPORTED_CPUID");
			free(kv_cpuid);
			kv_cpuid = NULL;
			return -1;
		}
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, kv_cpuid) == -1) {
		vmb_err("KVM_SET_CPUID2");
		return -1;
	}
	return 0;
}

/* /dev/kvm, once per process (as nvmm_init() opens /dev/nvmm once). */
static int kv_open(void)
{
	int n;

	if (kvm_fd != -1)
		return 0;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd == -1) {
		vmb_err("open /dev/kvm (is kvm_amd or kvm_intel loaded?)");
		return -1;
	}
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errno = 0;
		vmb_err("KVM_GET_API_VERSION is not %d", KVM_API_VERSION);
		goto fail;
	}
	n = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n <= 0) {
		vmb_err("KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	run_size = (size_t)n;
	return 0;

fail:
	close(kvm_fd);
	kvm_fd = -1;
	return -1;
}

static int kv_create(uint8_t *ram)
{
	if (kv_open() == -1)
		return -1;
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd == -1) {
		vmb_err("KVM_CREATE_VM");
		goto fail;
	}
	if (kv_slot(0, ram, 0, VMB_RAM_SIZE) == -1)
		goto fail;
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd == -1) {
		vmb_err("KVM_CREATE_VCPU");
		goto fail;
	}
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu_fd, 0);
	if (run == MAP_FAILED) {
		run = NULL;
		vmb_err("mmap(kvm_run)");
		goto fail;
	}
	if (kv_set_cpuid() == -1)
		goto fail;
	return 0;

fail:
	kv_destroy();
	return -1;
}

static void kv_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		   uint8_t code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xFFFFFFFF;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

static int kv_start(uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r9)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) == -1) {
		vmb_err("KVM_GET_SREGS");
		return -1;
	}
	kv_seg(&s.cs, VMB_SEL_CODE, 0xB, 1);
	kv_seg(&s.ds, VMB_SEL_DATA, 3, 0);
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.gdt.base = VMB_GDT;
	s.gdt.limit = 3 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = VMB_CR0;
	s.cr2 = 0;
	s.cr3 = VMB_PML4;
	s.cr4 = VMB_CR4;
	s.cr8 = 0;
	s.efer = VMB_EFER;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) == -1) {
		vmb_err("KVM_SET_SREGS");
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.rip = VMB_CODE;
	r.rsp = VMB_STACK;
	r.rflags = 0x2;
	r.rdi = rdi;
	r.rsi = rsi;
	r.rdx = rdx;
	r.r9 = r9;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &r) == -1) {
		vmb_err("KVM_SET_REGS");
		return -1;
	}
	return 0;
}

/* The measured loop. */
static int kv_run(void)
{
	for (;;) {
		if (ioctl(vcpu_fd, KVM_RUN, 0) == -1) {
			if (errno == EINTR)
				continue;
			vmb_err("KVM_RUN");
			return -1;
		}
		vmb_dev.nexits++;
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			uint32_t i, val;

			for (i = 0; i < run->io.count; i++) {
				if (run->io.direction == KVM_EXIT_IO_IN) {
					memset(data, 0xFF, run->io.size);
				} else {
					val = 0;
					memcpy(&val, data, run->io.size);
					vmb_port_out(run->io.port, val);
				}
				data += run->io.size;
			}
			if (vmb_dev.done)
				return 0;
			continue;
		}
		case KVM_EXIT_INTR:
			continue;
		default:
			errno = 0;
			vmb_err("unexpected exit %u", run->exit_reason);
			return -1;
		}
	}
}

const struct vmb_backend vmb_kvm = {
	.name = "kvm",
	.create = kv_create,
	.destroy = kv_destroy,
	.start = kv_start,
	.run = kv_run,
	.map = kv_map,
	.unmap = kv_unmap,
};
