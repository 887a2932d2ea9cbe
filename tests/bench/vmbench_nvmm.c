/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vmbench's nvmm backend: libvmm as an emulator uses it. The run loop is
 * nvmm_vcpu_run() and, on an I/O exit, nvmm_assist_io() with the io
 * callback: the state the assist needs comes with the exit, so one I/O exit
 * should cost exactly one system call (the run).
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "vmbench.h"
#include "x64_flat.h"

static struct nvmm_machine mach;
static struct nvmm_vcpu vcpu;
static bool have_mach, have_vcpu;

static void nv_io(struct nvmm_io *io)
{
	uint32_t val = 0;

	if (io->in) {
		memset(io->data, 0xFF, io->size);
		return;
	}
	memcpy(&val, io->data, io->size);
	vmb_port_out(io->port, val);
}

static int nv_map(void *hva, uint64_t gpa, size_t size)
{
	if (nvmm_hva_map(&mach, (uintptr_t)hva, size) == -1) {
		vmb_err("nvmm_hva_map");
		return -1;
	}
	if (nvmm_gpa_map(&mach, (uintptr_t)hva, gpa, size,
			 PROT_READ | PROT_WRITE | PROT_EXEC) == -1) {
		vmb_err("nvmm_gpa_map");
		nvmm_hva_unmap(&mach, (uintptr_t)hva, size);
		return -1;
	}
	return 0;
}

static int nv_unmap(void *hva, uint64_t gpa, size_t size)
{
	if (nvmm_gpa_unmap(&mach, (uintptr_t)hva, gpa, size) == -1) {
		vmb_err("nvmm_gpa_unmap");
		return -1;
	}
	if (nvmm_hva_unmap(&mach, (uintptr_t)hva, size) == -1) {
		vmb_err("nvmm_hva_unmap");
		return -1;
	}
	return 0;
}

static void nv_destroy(void)
{
	if (have_mach && nvmm_machine_destroy(&mach) == -1)
		vmb_err("nvmm_machine_destroy");
	have_mach = have_vcpu = false;
}

static int nv_create(uint8_t *ram)
{
	struct nvmm_assist_callbacks cbs = { .io = nv_io, .mem = NULL };

	if (nvmm_init() == -1) {
		vmb_err("nvmm_init (is nvmm.ko loaded?)");
		return -1;
	}
	if (nvmm_machine_create(&mach) == -1) {
		vmb_err("nvmm_machine_create");
		return -1;
	}
	have_mach = true;
	if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1) {
		vmb_err("nvmm_vcpu_create");
		goto fail;
	}
	have_vcpu = true;
	if (nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_CALLBACKS,
				&cbs) == -1) {
		vmb_err("nvmm_vcpu_configure(CALLBACKS)");
		goto fail;
	}
	if (nv_map(ram, 0, VMB_RAM_SIZE) == -1)
		goto fail;
	return 0;

fail:
	nv_destroy();
	return -1;
}

static int nv_start(uint64_t rdi, uint64_t rsi, uint64_t rdx, uint64_t r9)
{
	struct nvmm_x64_state *st = vcpu.state;
	static const struct x64_flat flat = {
		.code_sel = VMB_SEL_CODE,
		.data_sel = VMB_SEL_DATA,
		.code64 = true,
		.gdt_base = VMB_GDT,
		.gdt_limit = 3 * 8 - 1,
		.cr0 = VMB_CR0,
		.cr3 = VMB_PML4,
		.cr4 = VMB_CR4,
		.efer = VMB_EFER,
	};

	if (nvmm_vcpu_getstate(&mach, &vcpu, NVMM_X64_STATE_ALL) == -1) {
		vmb_err("nvmm_vcpu_getstate");
		return -1;
	}
	x64_flat_state(st, &flat);
	memset(st->gprs, 0, sizeof(st->gprs));
	st->gprs[NVMM_X64_GPR_RIP] = VMB_CODE;
	st->gprs[NVMM_X64_GPR_RSP] = VMB_STACK;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->gprs[NVMM_X64_GPR_RDI] = rdi;
	st->gprs[NVMM_X64_GPR_RSI] = rsi;
	st->gprs[NVMM_X64_GPR_RDX] = rdx;
	st->gprs[NVMM_X64_GPR_R9] = r9;
	memset(&st->intr, 0, sizeof(st->intr));

	if (nvmm_vcpu_setstate(&mach, &vcpu, NVMM_X64_STATE_ALL) == -1) {
		vmb_err("nvmm_vcpu_setstate");
		return -1;
	}
	return 0;
}

/* The measured loop. */
static int nv_run(void)
{
	const struct nvmm_vcpu_exit *exit = vcpu.exit;

	for (;;) {
		if (nvmm_vcpu_run(&mach, &vcpu) == -1) {
			if (errno == EINTR)
				continue;
			vmb_err("nvmm_vcpu_run");
			return -1;
		}
		vmb_dev.nexits++;
		switch (exit->reason) {
		case NVMM_VCPU_EXIT_NONE:
			continue;
		case NVMM_VCPU_EXIT_IO:
			if (nvmm_assist_io(&mach, &vcpu) == -1) {
				vmb_err("nvmm_assist_io");
				return -1;
			}
			if (vmb_dev.done)
				return 0;
			continue;
		default:
			errno = 0;
			vmb_err("unexpected exit %#llx",
				(unsigned long long)exit->reason);
			nvmm_vcpu_dump(&mach, &vcpu);
			return -1;
		}
	}
}

const struct vmb_backend vmb_nvmm = {
	.name = "nvmm",
	.create = nv_create,
	.destroy = nv_destroy,
	.start = nv_start,
	.run = nv_run,
	.map = nv_map,
	.unmap = nv_unmap,
};
