/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_mm: the host write-protects, merges or moves guest pages:
 * mprotect(PROT_READ), KSM merging, THP collapse and page migration.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "mm_probe.h"
#include "run_mm.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* Write protection, KSM and page migration. */

/* mprotect(PROT_READ): the guest's writable translation goes with it. */
START_TEST(mprotect_readonly)
{
	volatile uint32_t *probe, *cmd;
	struct emu_stats before;
	uint64_t reason;
	uint32_t val;
	int err;

	emu_stats(&before);
	probe_start(&vm, &probe, &cmd);

	ck_assert_int_eq(mprotect((void *)probe, PAGE, PROT_READ), 0);
	*cmd = 0xBBBB0002;
	do {
		reason = probe_run(&vm, 0, &val, &err);
		ck_assert_int_eq(err, 0);
	} while (reason == NVMM_VCPU_EXIT_NONE ||
		 (reason == NVMM_VCPU_EXIT_IO && val == 0xAAAA0001));
	ck_assert_msg(reason == NVMM_VCPU_EXIT_MEMORY, "exit %#" PRIx64 " (the "
		      "page now holds %#x): the guest wrote to a page the host "
		      "made read-only", reason, *probe);
	ck_assert_uint_eq(vm.vcpu[0].exit->u.mem.gpa, PROBE_GPA);
	ck_assert_int_eq(vm.vcpu[0].exit->u.mem.prot, NVMM_PROT_WRITE);
	ck_assert_uint_eq(*probe, 0xAAAA0001);
	/* Writable again: the same write goes through. */
	ck_assert_int_eq(mprotect((void *)probe, PAGE, PROT_READ | PROT_WRITE),
			 0);
	probe_until_halt(&vm, 0);
	ck_assert_uint_eq(*probe, 0xBBBB0002);
	vm_destroy(&vm);
	assert_no_leak(&before);
}
END_TEST
KSFT_EXPORT(mprotect_readonly)

static long sys_read_long(const char *path)
{
	long val = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &val) != 1)
			val = -1;
		fclose(f);
	}
	return val;
}

static int sys_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(val, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		ret = -1;
	return ret;
}

#define KSM	"/sys/kernel/mm/ksm/"

/*
 * KSM merges two identical guest pages into one write-protected page; a
 * guest write afterwards must copy, not write into the shared page.
 */
START_TEST(ksm_merge_then_guest_write)
{
	volatile uint32_t *p0, *p1;
	struct emu_stats before;
	uint8_t *pg;
	uint32_t rep[2];
	uint64_t deadline, pfn0, pfn1;
	long sharing = 0;
	char *cmdw;

	if (access(KSM "run", W_OK) != 0)
		ksft_skip("no KSM (" KSM "run)");
	emu_stats(&before);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_mm_probe");
	pg = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(pg != MAP_FAILED);
	memset(pg, 0x5A, 2 * PAGE);
	p0 = (volatile uint32_t *)pg;
	p1 = (volatile uint32_t *)(pg + PAGE);
	*p0 = *p1 = 0x600D600D;
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)pg, 2 * PAGE), 0);
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)pg, REMAP_GPA,
				      2 * PAGE, PROT_READ | PROT_WRITE), 0);
	/* The guest maps page 0 writable: it writes it once. */
	probe_setup(&vm, 0, REMAP_GPA);
	cmdw = (char *)(vm.ram + CMD_GPA);
	*(volatile uint32_t *)cmdw = 0x600D600D;
	probe_until_halt(&vm, 0);
	*(volatile uint32_t *)cmdw = 0;
	probe_reports(&vm, 0, rep, 2);
	ck_assert_uint_eq(rep[1], 0x600D600D);

	ck_assert_int_eq(madvise(pg, 2 * PAGE, MADV_MERGEABLE), 0);
	sys_write(KSM "sleep_millisecs", "10");
	ck_assert_int_eq(sys_write(KSM "run", "1"), 0);
	deadline = now_us() + 20 * 1000000;
	do {
		usleep(20 * 1000);
		pfn0 = host_pfn(pg);
		pfn1 = host_pfn(pg + PAGE);
		sharing = sys_read_long(KSM "pages_sharing");
	} while (!(pfn0 && pfn0 == pfn1) && now_us() < deadline);
	ksft_print("KSM: pages_sharing %ld, pfns %#" PRIx64 " %#" PRIx64,
		   sharing, pfn0, pfn1);
	if (!(pfn0 && pfn0 == pfn1)) {
		sys_write(KSM "run", "2");
		ksft_skip("KSM did not merge the pages in 20 s");
	}

	/* The guest writes page 0: a copy for it; page 1 keeps its data. */
	*(volatile uint32_t *)cmdw = 0xB0B0B0B0;
	probe_until_halt(&vm, 0);
	*(volatile uint32_t *)cmdw = 0;
	ck_assert_msg(*p0 == 0xB0B0B0B0, "the host sees %#x in page 0 after "
		      "the guest wrote 0xb0b0b0b0: the guest wrote to a page "
		      "KSM had replaced", *p0);
	ck_assert_msg(*p1 == 0x600D600D, "page 1 holds %#x: the guest's write "
		      "went into the merged page", *p1);
	ck_assert(host_pfn(pg) != host_pfn(pg + PAGE));
	/* And the guest reads what the host has. */
	*p0 = 0x0C0C0C0C;
	probe_reports(&vm, 0, rep, 2);
	ck_assert_uint_eq(rep[1], 0x0C0C0C0C);
	sys_write(KSM "run", "2");		/* unmerge everything */
	vm_destroy(&vm);
	munmap(pg, 2 * PAGE);
	assert_no_leak(&before);
}
END_TEST
KSFT_EXPORT(ksm_merge_then_guest_write)

/*
 * Pages moved under the guest, as migration moves them: the contents go to
 * new frames and the old ones are freed (or retired). The guest must
 * follow, both ways. Two ways of moving them here:
 *   - MADV_COLLAPSE puts the 4 KiB pages of a 2 MiB range into a new huge
 *     page (a copy, as khugepaged makes);
 *   - MADV_SOFT_OFFLINE migrates each page to a new frame and retires the
 *     old one (the kernel's migrate_pages(), as NUMA balancing, compaction
 *     and memory offlining use; the emulated hosts have one NUMA node).
 */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#define COL_PAGES	200
#define COL_GPA		0x10000000ULL
#define COL_SIZE	(2 * MIB)
/* Soft-offlined frames are gone for good: a few are enough. */
#define OFFLINE_PAGES	16

/* Move npages pages at col to new frames; 0, or an errno to skip on. */
static int move_by_collapse(uint8_t *col, unsigned int npages)
{
	(void)npages;
	ck_assert_int_eq(madvise(col, COL_SIZE, MADV_HUGEPAGE), 0);
	return madvise(col, COL_SIZE, MADV_COLLAPSE) == 0 ? 0 : errno;
}

/*
 * A page still in a CPU's LRU batch cannot be isolated (EBUSY, seen on the
 * Bochs lanes now and then): mlock() drains every CPU's batch; try again.
 */
#define OFFLINE_TRIES	20

static int move_by_soft_offline(uint8_t *col, unsigned int npages)
{
	for (unsigned int i = 0; i < npages; i++) {
		int tries = 0;

		while (madvise(col + i * PAGE, PAGE, MADV_SOFT_OFFLINE) != 0) {
			if (errno != EBUSY || ++tries == OFFLINE_TRIES)
				return errno;
			ksft_print("page %u: EBUSY, again", i);
			ck_assert_int_eq(mlock(col + i * PAGE, PAGE), 0);
			ck_assert_int_eq(munlock(col + i * PAGE, PAGE), 0);
			usleep(10 * 1000);
		}
	}
	return 0;
}

static void pages_moved_under_guest(const char *how, unsigned int npages,
				    int (*move)(uint8_t *, unsigned int))
{
	struct emu_stats before;
	uint64_t pfn[COL_PAGES];
	uint32_t expect[2 * COL_PAGES];
	unsigned int i, moved = 0;
	uint8_t *raw, *col;
	int err;

	emu_stats(&before);
	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_touch");
	vm_mode_long(&vm, 0, VM_CODE);
	raw = mmap(NULL, 2 * COL_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(raw != MAP_FAILED);
	col = (uint8_t *)(((uintptr_t)raw + COL_SIZE - 1) & ~(COL_SIZE - 1));
	ck_assert_int_eq(madvise(col, COL_SIZE, MADV_NOHUGEPAGE), 0);
	ck_assert_int_eq(nvmm_hva_map(&vm.mach, (uintptr_t)col, COL_SIZE), 0);
	ck_assert_int_eq(nvmm_gpa_map(&vm.mach, (uintptr_t)col, COL_GPA,
				      COL_SIZE, PROT_READ | PROT_WRITE), 0);
	for (i = 0; i < npages; i++) {
		uint64_t *ent = (uint64_t *)(vm.ram + DATA_BASE + i * 16);

		ent[0] = COL_GPA + i * PAGE;
		ent[1] = 0xB0000000 | i;
		*(uint32_t *)(col + i * PAGE) = 0xA0000000 | i;
		expect[2 * i] = 0xA0000000 | i;
		expect[2 * i + 1] = 0xB0000000 | i;
	}
	*(uint64_t *)(vm.ram + DATA_BASE + npages * 16) = 0;
	vm_run_expect(&vm, 0, expect, 2 * npages);
	for (i = 0; i < npages; i++)
		pfn[i] = host_pfn(col + i * PAGE);

	/* The guest holds writable translations of all of them now. */
	err = move(col, npages);
	if (err != 0) {
		vm_destroy(&vm);
		munmap(raw, 2 * COL_SIZE);
		ksft_skip("%s: %s", how, strerror(err));
	}
	for (i = 0; i < npages; i++)
		moved += host_pfn(col + i * PAGE) != pfn[i];
	ksft_print("%s moved %u of %u guest pages", how, moved, npages);
	ck_assert_uint_eq(moved, npages);

	/* The host writes through the new frames; the guest reads them,
	 * and its writes are the host's to see. */
	for (i = 0; i < npages; i++) {
		uint64_t *ent = (uint64_t *)(vm.ram + DATA_BASE + i * 16);

		ck_assert_uint_eq(*(uint32_t *)(col + i * PAGE + 4),
				  0xB0000000 | i);
		ent[1] = 0xD0000000 | i;
		*(uint32_t *)(col + i * PAGE) = 0xC0000000 | i;
		expect[2 * i] = 0xC0000000 | i;
		expect[2 * i + 1] = 0xD0000000 | i;
	}
	vm.nreports[0] = 0;
	vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP] = VM_CODE;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	ck_assert_uint_eq(vm.nreports[0], 2 * npages);
	for (i = 0; i < npages; i++) {
		ck_assert_msg(vm.reports[0][2 * i] == expect[2 * i], "page %u: "
			      "the guest read %#x, the host wrote %#x after %s: "
			      "stale translation to the old page", i,
			      vm.reports[0][2 * i], expect[2 * i], how);
		ck_assert_msg(*(uint32_t *)(col + i * PAGE + 4) ==
			      expect[2 * i + 1], "page %u: the host sees %#x, "
			      "the guest wrote %#x", i,
			      *(uint32_t *)(col + i * PAGE + 4),
			      expect[2 * i + 1]);
	}
	vm_destroy(&vm);
	munmap(raw, 2 * COL_SIZE);
	assert_no_leak(&before);
}

START_TEST(thp_collapse_copies_pages)
{
	pages_moved_under_guest("MADV_COLLAPSE", COL_PAGES, move_by_collapse);
}
END_TEST
KSFT_EXPORT(thp_collapse_copies_pages)

START_TEST(migration_moves_pages)
{
	pages_moved_under_guest("MADV_SOFT_OFFLINE", OFFLINE_PAGES,
				move_by_soft_offline);
}
END_TEST
KSFT_EXPORT(migration_moves_pages)
