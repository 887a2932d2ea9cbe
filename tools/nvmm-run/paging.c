/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run: the boot area and the state every VCPU starts in.
 *
 * The boot area sits at the top of RAM: a PML4, a PDPT and page
 * directories mapping [0, max(4 GiB, RAM)) one to one with 2 MiB pages
 * (guest-physical addresses without RAM behind them give MEMORY exits, not
 * guest page faults), a GDT, and the command line.
 *
 * Every VCPU starts at the ELF entry point in 64-bit long mode, interrupts
 * off, no IDT, with:
 *   RDI  its VCPU id (0 is the boot VCPU)     RSI  the number of VCPUs
 *   RDX  the command line (GPA, NUL-ended)    RCX  the boot area's GPA
 *   RSP  0: the guest sets up its own stacks, below RCX
 * CS 0x08 (64-bit code), the data segments 0x18 (flat).
 *
 * A Linux kernel (linux.c) starts as its 64-bit boot protocol says: at
 * startup_64, RSI the zero page, CS 0x10 (__BOOT_CS), data 0x18
 * (__BOOT_DS), the other registers 0.
 */
#include <errno.h>
#include <string.h>

#include "nvmm-run.h"
#include "x64_flat.h"

#define PAGE		4096ULL
#define GIB		(1ULL << 30)
#define PTE_P		0x001ULL
#define PTE_RW		0x002ULL
#define PTE_PS		0x080ULL

#define SEL_CODE	0x08
#define SEL_BOOT_CS	0x10	/* Linux's 64-bit boot protocol: __BOOT_CS */
#define SEL_DATA	0x18	/* and __BOOT_DS; ELF guests' data too */

#define CR0_PE		0x00000001ULL
#define CR0_MP		0x00000002ULL
#define CR0_ET		0x00000010ULL
#define CR0_NE		0x00000020ULL
#define CR0_WP		0x00010000ULL
#define CR0_PG		0x80000000ULL
#define CR4_PAE		0x00000020ULL
#define CR4_OSFXSR	0x00000200ULL
#define CR4_OSXMMEXCPT	0x00000400ULL
#define EFER_LME	0x00000100ULL
#define EFER_LMA	0x00000400ULL

#define CMDLINE_MAX	PAGE

static uint64_t mapped_gib(size_t ram_size)
{
	uint64_t gib = ((uint64_t)ram_size + GIB - 1) / GIB;

	return gib < 4 ? 4 : gib;
}

/* PML4, PDPT, one PD per GiB, the GDT, the command line. */
uint64_t nr_boot_size(size_t ram_size)
{
	return (2 + mapped_gib(ram_size) + 2) * PAGE;
}

int nr_boot_setup(struct nr_vm *vm, const char *cmdline)
{
	uint64_t gib = mapped_gib(vm->ram_size), i;
	uint64_t *pml4, *pdpt, *pd, *gdt;
	uint64_t pdpt_gpa, pd_gpa;
	size_t len = strlen(cmdline);

	if (gib > 512) {
		nr_err("%zu MiB of RAM: more than one PDPT maps",
		       vm->ram_size >> 20);
		return -1;
	}
	if (len >= CMDLINE_MAX) {
		nr_err("the command line is longer than %llu bytes",
		       CMDLINE_MAX - 1);
		return -1;
	}
	vm->boot_base = (vm->ram_size - nr_boot_size(vm->ram_size)) &
			~(PAGE - 1);
	vm->pml4 = vm->boot_base;
	pdpt_gpa = vm->pml4 + PAGE;
	pd_gpa = pdpt_gpa + PAGE;
	vm->gdt = pd_gpa + gib * PAGE;
	vm->cmdline = vm->gdt + PAGE;
	memset(vm->ram + vm->boot_base, 0, vm->ram_size - vm->boot_base);

	pml4 = (uint64_t *)(vm->ram + vm->pml4);
	pdpt = (uint64_t *)(vm->ram + pdpt_gpa);
	pd = (uint64_t *)(vm->ram + pd_gpa);
	pml4[0] = pdpt_gpa | PTE_P | PTE_RW;
	for (i = 0; i < gib; i++)
		pdpt[i] = (pd_gpa + i * PAGE) | PTE_P | PTE_RW;
	for (i = 0; i < gib * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;

	gdt = (uint64_t *)(vm->ram + vm->gdt);
	gdt[0] = 0;
	gdt[SEL_CODE / 8] = X64_DESC_CODE64;
	gdt[SEL_BOOT_CS / 8] = X64_DESC_CODE64;
	gdt[SEL_DATA / 8] = X64_DESC_DATA;

	memcpy(vm->ram + vm->cmdline, cmdline, len + 1);
	return 0;
}

/*
 * Linux's PVH entry (arch/x86/platform/pvh/head.S; Xen's HVM direct boot
 * ABI): 32-bit protected mode without paging, flat 4 GiB code and data
 * segments, a busy 32-bit TSS, EBX = the start info. The kernel loads
 * its own GDT and page tables.
 */
static void pvh_state(const struct nr_vm *vm, struct nvmm_x64_state *st)
{
	/* What differs from the long-mode state nr_vcpu_boot() made. */
	x64_seg_flat(&st->segs[NVMM_X64_SEG_CS], SEL_BOOT_CS, 0xB, false);
	st->segs[NVMM_X64_SEG_TR].limit = 0x67;		/* a 32-bit TSS */
	st->gprs[NVMM_X64_GPR_RSI] = 0;
	st->gprs[NVMM_X64_GPR_RBX] = vm->zero_page;
	st->crs[NVMM_X64_CR_CR0] = CR0_ET | CR0_PE;
	st->crs[NVMM_X64_CR_CR3] = 0;
	st->crs[NVMM_X64_CR_CR4] = 0;
	st->msrs[NVMM_X64_MSR_EFER] = 0;
}

int nr_vcpu_boot(struct nr_vm *vm, unsigned int cpu)
{
	struct nvmm_vcpu *vcpu = &vm->vcpu[cpu];
	struct nvmm_x64_state *st = vcpu->state;
	const struct x64_flat flat = {
		.code_sel = vm->linux_boot ? SEL_BOOT_CS : SEL_CODE,
		.data_sel = SEL_DATA,
		.code64 = true,
		.gdt_base = vm->gdt,
		.gdt_limit = 4 * 8 - 1,
		.cr0 = CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE,
		.cr3 = vm->pml4,
		.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT,
		.efer = EFER_LME | EFER_LMA,
	};

	if (nvmm_vcpu_getstate(&vm->mach, vcpu, NVMM_X64_STATE_ALL) == -1) {
		nr_errno("VCPU %u: nvmm_vcpu_getstate", cpu);
		return -1;
	}
	x64_flat_state(st, &flat);
	memset(st->gprs, 0, sizeof(st->gprs));
	st->gprs[NVMM_X64_GPR_RIP] = vm->entry;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	if (vm->linux_boot) {
		/* startup_64: RSI = boot_params, interrupts off. */
		st->gprs[NVMM_X64_GPR_RSI] = vm->zero_page;
	} else {
		st->gprs[NVMM_X64_GPR_RDI] = cpu;
		st->gprs[NVMM_X64_GPR_RSI] = vm->nvcpus;
		st->gprs[NVMM_X64_GPR_RDX] = vm->cmdline;
		st->gprs[NVMM_X64_GPR_RCX] = vm->boot_base;
	}
	memset(&st->intr, 0, sizeof(st->intr));

	if (vm->pvh)
		pvh_state(vm, st);
	if (nvmm_vcpu_setstate(&vm->mach, vcpu, NVMM_X64_STATE_ALL) == -1) {
		nr_errno("VCPU %u: nvmm_vcpu_setstate", cpu);
		return -1;
	}
	return 0;
}
