/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_mm: a guest of 128 GiB of guest-physical space, and the limits of
 * gpa_map past it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_mm.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* 128 GiB of guest-physical space. */

#define BIG_RAM		(128 * GIB)
#define BIG_PT		0x80000ULL	/* PML4, PDPT, 3 PDs */

START_TEST(guest_physical_128g)
{
	struct nvmm_capability cap;
	struct emu_stats before, during;
	uint64_t *pml4, *pdpt, *pd, extra;
	long free_before, free_during;
	uint8_t *more;
	unsigned int i, j;
	static const struct {
		uint64_t gpa;
		bool host_writes;	/* else never touched by the host */
	} spots[] = {
		{ 0x200000, true },
		{ 64 * GIB, true },
		{ 64 * GIB + 4 * MIB - PAGE, false },
		{ 127 * GIB + 0x12345000, false },
		{ BIG_RAM - PAGE, true },
	};
	const unsigned int nspots = sizeof(spots) / sizeof(spots[0]);
	uint32_t expect[2 * 5];

	ck_assert_int_eq(nvmm_init(), 0);
	ck_assert_int_eq(nvmm_capability(&cap), 0);
	ksft_print("max_ram %" PRIu64 " GiB", cap.max_ram / GIB);
	ck_assert_msg(cap.max_ram >= BIG_RAM, "max_ram %" PRIu64 " < 128 GiB",
		      cap.max_ram);
	emu_stats(&before);
	free_before = emu_meminfo("MemFree");

	vm_create(&vm, BIG_RAM);
	vm_load(&vm, "long_touch");
	vm_mode_long(&vm, 0, VM_CODE);

	/* Page tables: 0-1 GiB, 64-65 GiB and 127-128 GiB, 2 MiB pages. */
	pml4 = (uint64_t *)(vm.ram + BIG_PT);
	pdpt = (uint64_t *)(vm.ram + BIG_PT + 0x1000);
	memset(pml4, 0, 5 * PAGE);
	pml4[0] = (BIG_PT + 0x1000) | 0x7;
	static const unsigned int gibs[] = { 0, 64, 127 };
	for (i = 0; i < 3; i++) {
		pd = (uint64_t *)(vm.ram + BIG_PT + 0x2000 + i * PAGE);
		pdpt[gibs[i]] = (BIG_PT + 0x2000 + i * PAGE) | 0x7;
		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)gibs[i] * GIB + (uint64_t)j * 2 * MIB)
				| 0x87;
	}
	vm_get(&vm, 0, NVMM_X64_STATE_CRS);
	vm_state(&vm, 0)->crs[NVMM_X64_CR_CR3] = BIG_PT;
	vm_set(&vm, 0, NVMM_X64_STATE_CRS);

	/* The table the guest walks, and what the host leaves there. */
	for (i = 0; i < nspots; i++) {
		uint64_t *ent = (uint64_t *)(vm.ram + DATA_BASE + i * 16);

		ent[0] = spots[i].gpa;
		ent[1] = 0xA0000000 | i;
		if (spots[i].host_writes)
			*(uint32_t *)(vm.ram + spots[i].gpa) = 0x40570000 | i;
		expect[2 * i] = spots[i].host_writes ? 0x40570000 | i : 0;
		expect[2 * i + 1] = 0xA0000000 | i;
	}
	*(uint64_t *)(vm.ram + DATA_BASE + nspots * 16) = 0;

	vm_run_expect(&vm, 0, expect, 2 * nspots);
	for (i = 0; i < nspots; i++)
		ck_assert_uint_eq(*(uint32_t *)(vm.ram + spots[i].gpa + 4),
				  0xA0000000 | i);
	emu_stats(&during);
	free_during = emu_meminfo("MemFree");
	ksft_print("guest_pages %ld -> %ld, module pages %ld -> %ld, "
		   "MemFree %ld -> %ld kB", before.guest_pages,
		   during.guest_pages, before.pages, during.pages,
		   free_before, free_during);
	/* Code, stack, tables, five spots: a handful of pages. */
	ck_assert_int_gt(during.guest_pages - before.guest_pages, nspots - 1);
	ck_assert_int_lt(during.guest_pages - before.guest_pages, 64);
	ck_assert_int_lt(during.pages - before.pages, 64);
	ck_assert_int_lt(free_before - free_during, 64 * 1024);

	/* Beyond max_ram: refused with ENOBUFS. */
	extra = cap.max_ram - BIG_RAM;
	more = mmap(NULL, extra + PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(more != MAP_FAILED);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)more, extra + PAGE),
			 0);
	if (extra)
		ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)more,
					      BIG_RAM, extra,
					      PROT_READ | PROT_WRITE), 0);
	errno = 0;
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)more + extra,
				      cap.max_ram, PAGE,
				      PROT_READ | PROT_WRITE), -1);
	ck_assert_msg(errno == ENOBUFS, "gpa_map past max_ram: %s, not "
		      "ENOBUFS", strerror(errno));
	/* Past what a 4-level nested table maps: refused too. */
	errno = 0;
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)more + extra,
				      1ULL << 48, PAGE, PROT_READ), -1);
	ck_assert(errno == EINVAL || errno == ENOBUFS);

	vm_destroy(&vm);
	munmap(more, extra + PAGE);
	assert_no_leak(&before);
}
END_TEST
KSFT_EXPORT(guest_physical_128g)
