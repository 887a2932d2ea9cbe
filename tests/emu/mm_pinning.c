/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_mm: guest RAM is not pinned: the host gets its pages back, destroyed
 * or not, and libvmm's assist refuses host memory that went away.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_mm.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* Nothing pinned: destroyed or not, the host gets its pages back. */

#define PIN_RAM		(128 * MIB)
#define PIN_TOUCH	(96 * MIB)
#define PIN_TOUCH_KB	((long)(PIN_TOUCH / KIB))

static long free_settled(void)
{
	emu_drop_caches();
	usleep(100 * 1000);
	return emu_meminfo("MemFree");
}

static void pin_touch(void)
{
	vm_create(&vm, PIN_RAM);
	vm_load(&vm, "long_fill");
	vm_mode_long(&vm, 0, VM_CODE);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RSI] = 8 * MIB;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RDI] = 8 * MIB + PIN_TOUCH;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	ck_assert_uint_eq(vm.nreports[0], 1);
	ck_assert_uint_eq(vm.reports[0][0], 8 * MIB + PIN_TOUCH);
	/* The guest's writes are in the host's memory. */
	ck_assert_uint_eq(*(uint32_t *)(vm.ram + 8 * MIB), 8 * MIB);
	ck_assert_uint_eq(*(uint32_t *)(vm.ram + 8 * MIB + PIN_TOUCH - PAGE),
			  8 * MIB + PIN_TOUCH - PAGE);
}

#define PIN_CYCLES	2

START_TEST(nothing_pinned)
{
	struct emu_stats before, touched;
	long f0, f1 = 0, f2, f3 = 0, f4;
	unsigned int i;

	/* A first cycle warms up what the kernel keeps anyway. */
	pin_touch();
	ck_assert_int_eq(nvmm_machine_destroy(&vm.mach), 0);
	ck_assert_int_eq(munmap(vm.ram, vm.ram_size), 0);
	emu_stats(&before);
	/* No machine is left: no guest page is mapped anywhere. */
	ck_assert_int_eq(before.machines, 0);
	ck_assert_int_eq(before.guest_pages, 0);
	f0 = free_settled();

	/* A: destroy, then munmap; a few times, so that a leak adds up. */
	for (i = 0; i < PIN_CYCLES; i++) {
		pin_touch();
		emu_stats(&touched);
		if (i == 0)
			f1 = free_settled();
		ck_assert_int_ge(touched.guest_pages - before.guest_pages,
				 (long)(PIN_TOUCH / PAGE));
		ck_assert_int_eq(nvmm_machine_destroy(&vm.mach), 0);
		assert_no_leak(&before);
		ck_assert_int_eq(munmap(vm.ram, vm.ram_size), 0);
	}
	f2 = free_settled();

	/* B: munmap while the machine lives (its RAM still gpa-mapped). */
	for (i = 0; i < PIN_CYCLES; i++) {
		pin_touch();
		if (i == 0)
			f3 = free_settled();
		ck_assert_int_eq(munmap(vm.ram, vm.ram_size), 0);
		emu_stats(&touched);
		/* The notifier took the translations away with the pages. */
		ck_assert_int_eq(touched.guest_pages, before.guest_pages);
		ck_assert_int_eq(nvmm_machine_destroy(&vm.mach), 0);
		assert_no_leak(&before);
	}
	f4 = free_settled();
	ksft_print("MemFree kB: start %ld, touched %ld, %u x destroyed+"
		   "unmapped %ld, touched again %ld, %u x unmapped while "
		   "alive %ld", f0, f1, PIN_CYCLES, f2, f3, PIN_CYCLES, f4);
	/*
	 * The measure works: the guest's touch shows. MemFree moves with
	 * the rest of the system too: the margins are half a touch, and a
	 * page kept by each cycle would be a whole touch per cycle.
	 */
	ck_assert_int_ge(f0 - f1, PIN_TOUCH_KB / 2);
	ck_assert_int_ge(f2 - f3, PIN_TOUCH_KB / 2);
	/* Nothing kept. */
	ck_assert_msg(f0 - f2 < PIN_TOUCH_KB / 2, "after destroy and "
		      "munmap, %ld kB are still missing (%u cycles of %ld kB)",
		      f0 - f2, PIN_CYCLES, PIN_TOUCH_KB);
	ck_assert_msg(f2 - f4 < PIN_TOUCH_KB / 2, "after munmap of a live "
		      "machine's RAM, %ld kB are still missing (%u cycles of "
		      "%ld kB)", f2 - f4, PIN_CYCLES, PIN_TOUCH_KB);
}
END_TEST
KSFT_EXPORT(nothing_pinned)

/*
 * Guest RAM whose host memory the VMM (or whoever owns the file) took away:
 * the guest's write gives a MEMORY exit at a RAM address, and libvmm's
 * assist answers EFAULT instead of touching the memory (SIGSEGV, SIGBUS).
 */
START_TEST(assist_on_vanished_host_memory_efault)
{
	static const char *const how[] = { "munmap", "PROT_NONE",
					   "file beyond EOF", "read-only" };
	const uint64_t gpa = 0x40000;
	struct nvmm_assist_callbacks cbs = { .io = NULL, .mem = NULL };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		uint64_t reason, rip;
		uint8_t *page;
		int fd;

		vm_create(&vm, 1 * MIB);
		ck_assert_int_eq(nvmm_vcpu_configure(&vm.mach, &vm.vcpu[0],
						     NVMM_VCPU_CONF_CALLBACKS,
						     &cbs), 0);
		vm_load(&vm, "long_pt_churn");
		vm_mode_long(&vm, 0, VM_CODE);
		vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RBX] = gpa;
		vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
		page = vm.ram + gpa;
		switch (i) {
		case 0:
			ck_assert_int_eq(munmap(page, PAGE), 0);
			break;
		case 1:
			ck_assert_int_eq(mprotect(page, PAGE, PROT_NONE), 0);
			break;
		case 2:
			fd = memfd_create("ram", 0);
			ck_assert_int_ge(fd, 0);
			ck_assert(mmap(page, PAGE, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_FIXED, fd, 0) == page);
			close(fd);
			break;
		default:
			ck_assert_int_eq(mprotect(page, PAGE, PROT_READ), 0);
			break;
		}
		reason = vm_run(&vm, 0);
		ck_assert_msg(reason == NVMM_VCPU_EXIT_MEMORY, "%s: exit %#"
			      PRIx64 " instead of MEMORY", how[i], reason);
		ck_assert_uint_eq(vm.vcpu[0].exit->u.mem.gpa, gpa);
		vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
		rip = vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP];
		errno = 0;
		ck_assert_msg(nvmm_assist_mem(&vm.mach, &vm.vcpu[0]) == -1 &&
			      errno == EFAULT, "%s: the assist did not refuse "
			      "with EFAULT (errno %d)", how[i], errno);
		vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
		ck_assert_uint_eq(vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP],
				  rip);
		vm_destroy(&vm);
	}
}
END_TEST
KSFT_EXPORT(assist_on_vanished_host_memory_efault)
