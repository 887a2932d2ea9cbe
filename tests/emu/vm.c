/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "vm.h"
#include "x64_flat.h"

void vm_create(struct vm *vm, size_t ram_size)
{
	memset(vm, 0, sizeof(*vm));
	ck_assert_msg(nvmm_init() == 0, "nvmm_init: %s", strerror(errno));
	ck_assert_msg(nvmm_machine_create(&vm->mach) == 0,
		      "machine_create: %s", strerror(errno));
	vm->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(vm->ram != MAP_FAILED);
	vm->ram_size = ram_size;
	ck_assert_msg(nvmm_hva_map(&vm->mach, (uintptr_t)vm->ram, ram_size) == 0,
		      "hva_map: %s", strerror(errno));
	ck_assert_msg(nvmm_gpa_map(&vm->mach, (uintptr_t)vm->ram, 0, ram_size,
				   PROT_READ | PROT_WRITE | PROT_EXEC) == 0,
		      "gpa_map: %s", strerror(errno));
	vm_add_vcpu(vm, 0);
}

void vm_add_vcpu(struct vm *vm, unsigned int cpu)
{
	ck_assert_uint_lt(cpu, VM_MAX_VCPUS);
	ck_assert_msg(nvmm_vcpu_create(&vm->mach, cpu, &vm->vcpu[cpu]) == 0,
		      "vcpu_create: %s", strerror(errno));
	vm->has_vcpu[cpu] = true;
}

void vm_destroy(struct vm *vm)
{
	ck_assert_int_eq(nvmm_machine_destroy(&vm->mach), 0);
	munmap(vm->ram, vm->ram_size);
}

void *vm_read_guest(const char *name, size_t *size)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	struct stat st;
	ssize_t n;
	void *buf;
	char *slash;
	int fd;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert(n > 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../guests/%s.bin", exe, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	*size = st.st_size;
	return buf;
}

void vm_load(struct vm *vm, const char *name)
{
	size_t size;
	void *buf = vm_read_guest(name, &size);

	ck_assert_uint_le(VM_CODE + size, VM_PT_BASE);
	memcpy(vm->ram + VM_CODE, buf, size);
	free(buf);
}

void vm_get(struct vm *vm, unsigned int cpu, uint64_t flags)
{
	ck_assert_msg(nvmm_vcpu_getstate(&vm->mach, &vm->vcpu[cpu], flags) == 0,
		      "getstate: %s", strerror(errno));
}

void vm_set(struct vm *vm, unsigned int cpu, uint64_t flags)
{
	ck_assert_msg(nvmm_vcpu_setstate(&vm->mach, &vm->vcpu[cpu], flags) == 0,
		      "setstate: %s", strerror(errno));
}

void vm_skip(struct vm *vm, unsigned int cpu, uint64_t npc)
{
	vm_get(vm, cpu, NVMM_X64_STATE_GPRS);
	vm_state(vm, cpu)->gprs[NVMM_X64_GPR_RIP] = npc;
	vm_set(vm, cpu, NVMM_X64_STATE_GPRS);
}

/* A GDT with the descriptors of VM_SEL_*, for interrupts and IRET to use. */
static void vm_build_gdt(struct vm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->ram + VM_GDT_BASE);

	ck_assert_uint_ge(vm->ram_size, VM_GDT_BASE + 0x1000);
	gdt[0] = 0;
	gdt[VM_SEL_CODE32 / 8] = X64_DESC_CODE32;
	gdt[VM_SEL_DATA / 8] = X64_DESC_DATA;
	gdt[VM_SEL_CODE64 / 8] = X64_DESC_CODE64;
}

void vm_segs_real(struct nvmm_x64_state *st)
{
	static const int data[] = {
		NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_DS,
		NVMM_X64_SEG_FS, NVMM_X64_SEG_GS,
	};
	struct nvmm_x64_state_seg *s;
	unsigned int i;

	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		s = &st->segs[data[i]];
		memset(s, 0, sizeof(*s));
		s->attrib.type = 3;
		s->attrib.s = 1;
		s->attrib.p = 1;
		s->limit = 0xFFFF;
	}
	st->segs[NVMM_X64_SEG_CS] = st->segs[NVMM_X64_SEG_DS];
	st->segs[NVMM_X64_SEG_CS].attrib.type = 0xB;
	x64_seg_system(&st->segs[NVMM_X64_SEG_TR], 0xB);
	x64_seg_system(&st->segs[NVMM_X64_SEG_LDT], 0x2);
	memset(&st->segs[NVMM_X64_SEG_GDT], 0, sizeof(st->segs[0]));
	memset(&st->segs[NVMM_X64_SEG_IDT], 0, sizeof(st->segs[0]));
	st->segs[NVMM_X64_SEG_GDT].limit = 0xFFFF;
	st->segs[NVMM_X64_SEG_IDT].limit = 0xFFFF;
}

static void vm_mode_common(struct vm *vm, unsigned int cpu, uint64_t rip)
{
	struct nvmm_x64_state *st = vm_state(vm, cpu);

	vm_get(vm, cpu, NVMM_X64_STATE_ALL);
	memset(st->gprs, 0, sizeof(st->gprs));
	st->gprs[NVMM_X64_GPR_RIP] = rip;
	st->gprs[NVMM_X64_GPR_RSP] = VM_CODE - 0x10 - cpu * 0x80;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->crs[NVMM_X64_CR_CR2] = 0;
	st->crs[NVMM_X64_CR_CR3] = 0;
	st->crs[NVMM_X64_CR_CR8] = 0;
	st->msrs[NVMM_X64_MSR_EFER] = 0;
}

void vm_mode_real(struct vm *vm, unsigned int cpu, uint64_t rip)
{
	struct nvmm_x64_state *st = vm_state(vm, cpu);

	vm_mode_common(vm, cpu, rip);
	vm_segs_real(st);
	st->crs[NVMM_X64_CR_CR0] = 0x10;		/* ET */
	st->crs[NVMM_X64_CR_CR4] = 0;
	vm_set(vm, cpu, NVMM_X64_STATE_ALL);
}

/* Flat segments from the GDT at VM_GDT_BASE; no IDT, limit 0xFFFF. */
static void vm_mode_flat(struct vm *vm, unsigned int cpu, uint64_t rip,
			 const struct x64_flat *flat)
{
	struct nvmm_x64_state *st = vm_state(vm, cpu);

	vm_mode_common(vm, cpu, rip);
	vm_build_gdt(vm);
	x64_flat_state(st, flat);
	st->segs[NVMM_X64_SEG_IDT].limit = 0xFFFF;
	vm_set(vm, cpu, NVMM_X64_STATE_ALL);
}

void vm_mode_prot32(struct vm *vm, unsigned int cpu, uint64_t rip)
{
	static const struct x64_flat flat = {
		.code_sel = VM_SEL_CODE32,
		.data_sel = VM_SEL_DATA,
		.gdt_base = VM_GDT_BASE,
		.gdt_limit = 4 * 8 - 1,
		.cr0 = 0x11,				/* PE, ET */
		.cr4 = 0x600,				/* OSFXSR, OSXMMEXCPT */
	};

	vm_mode_flat(vm, cpu, rip, &flat);
}

/* Identity map of the first 4 GiB with 2 MiB pages, 4 levels. */
static void vm_build_page_tables(struct vm *vm)
{
	uint64_t *pml4 = (uint64_t *)(vm->ram + VM_PT_BASE);
	uint64_t *pdpt = (uint64_t *)(vm->ram + VM_PT_BASE + 0x1000);
	uint64_t *pd = (uint64_t *)(vm->ram + VM_PT_BASE + 0x2000);
	unsigned int i;

	ck_assert_uint_ge(vm->ram_size, VM_PT_BASE + 0x6000);
	memset(pml4, 0, 0x6000);
	pml4[0] = (VM_PT_BASE + 0x1000) | 0x7;
	for (i = 0; i < 4; i++)
		pdpt[i] = (VM_PT_BASE + 0x2000 + i * 0x1000) | 0x7;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x87;	/* P, RW, U, PS */
}

void vm_mode_long(struct vm *vm, unsigned int cpu, uint64_t rip)
{
	static const struct x64_flat flat = {
		.code_sel = VM_SEL_CODE64,
		.data_sel = VM_SEL_DATA,
		.code64 = true,
		.gdt_base = VM_GDT_BASE,
		.gdt_limit = 4 * 8 - 1,
		.cr0 = 0x80000011,			/* PG, PE, ET */
		.cr3 = VM_PT_BASE,
		.cr4 = 0x620,				/* PAE, OSFXSR, ... */
		.efer = 0xD00,				/* LME, LMA, NXE */
	};

	vm_build_page_tables(vm);
	vm_mode_flat(vm, cpu, rip, &flat);
}

uint64_t vm_run_once(struct vm *vm, unsigned int cpu)
{
	ck_assert_msg(nvmm_vcpu_run(&vm->mach, &vm->vcpu[cpu]) == 0,
		      "vcpu_run: %s", strerror(errno));
	return vm->vcpu[cpu].exit->reason;
}

/* An I/O exit to one of the test ports: record it and move on. */
static bool vm_handle_io(struct vm *vm, unsigned int cpu)
{
	const struct nvmm_vcpu_exit *exit = vm->vcpu[cpu].exit;
	uint64_t rax;

	if (exit->u.io.in || exit->u.io.str)
		return false;
	if (exit->u.io.port != VM_PORT_REPORT &&
	    exit->u.io.port != VM_PORT_CHAR)
		return false;
	/* The kernel left the GPRs in the comm page: no system call. */
	rax = vm_state(vm, cpu)->gprs[NVMM_X64_GPR_RAX];
	if (exit->u.io.port == VM_PORT_CHAR) {
		if (vm->loglen < sizeof(vm->log) - 1)
			vm->log[vm->loglen++] = (char)rax;
	} else {
		ck_assert_uint_lt(vm->nreports[cpu], VM_MAX_REPORTS);
		vm->reports[cpu][vm->nreports[cpu]++] =
			(uint32_t)(rax & (exit->u.io.operand_size == 4 ?
					  0xFFFFFFFF :
					  exit->u.io.operand_size == 2 ?
					  0xFFFF : 0xFF));
	}
	vm_skip(vm, cpu, exit->u.io.npc);
	return true;
}

uint64_t vm_run(struct vm *vm, unsigned int cpu)
{
	for (;;) {
		uint64_t reason = vm_run_once(vm, cpu);

		if (reason == NVMM_VCPU_EXIT_IO && vm_handle_io(vm, cpu))
			continue;
		if (reason == NVMM_VCPU_EXIT_NONE)
			continue;
		return reason;
	}
}

void vm_run_expect(struct vm *vm, unsigned int cpu, const uint32_t *expected,
		   unsigned int n)
{
	uint64_t reason = vm_run(vm, cpu);
	unsigned int i;

	if (reason != NVMM_VCPU_EXIT_HALTED)
		nvmm_vcpu_dump(&vm->mach, &vm->vcpu[cpu]);
	ck_assert_msg(reason == NVMM_VCPU_EXIT_HALTED,
		      "exit %#llx instead of HALTED (log: %.*s)",
		      (unsigned long long)reason, (int)vm->loglen, vm->log);
	ck_assert_msg(vm->nreports[cpu] == n, "%u reports, expected %u",
		      vm->nreports[cpu], n);
	for (i = 0; i < n; i++)
		ck_assert_msg(vm->reports[cpu][i] == expected[i],
			      "report %u: %#x, expected %#x", i,
			      vm->reports[cpu][i], expected[i]);
}
