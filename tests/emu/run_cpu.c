/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CPU a guest sees under /dev/nvmm, on SVM and VMX: protected modes,
 * the exits left over by run.c, events whose delivery faults, interrupt
 * shadows, XCR0 and AVX state, ASIDs (VPIDs), the TSC and CPUID. Guest
 * programs are in tests/guests/.
 *
 * The tests are in files by topic (run_cpu.h); this file has the suite's
 * table and what the topics share.
 */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_cpu.h"
#include "vm.h"

struct vm vm;

/* -------------------------------------------------------------------------- */
/* Helpers. */

void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

/*
 * The QEMU release of the emulated host, as major * 100 + minor, from the
 * machine type in DMI ("pc-i440fx-7.2"); 0 when not QEMU. Emulator gaps
 * are known by release: tests say which check they leave out.
 */
unsigned int qemu_version(void)
{
	char vendor[64] = "", version[64] = "";
	unsigned int major, minor;
	const char *p;
	FILE *f;

	f = fopen("/sys/class/dmi/id/sys_vendor", "r");
	if (f) {
		if (!fgets(vendor, sizeof(vendor), f))
			vendor[0] = '\0';
		fclose(f);
	}
	if (strncmp(vendor, "QEMU", 4) != 0)
		return 0;
	f = fopen("/sys/class/dmi/id/product_version", "r");
	if (f) {
		if (!fgets(version, sizeof(version), f))
			version[0] = '\0';
		fclose(f);
	}
	p = strrchr(version, '-');
	if (p && sscanf(p + 1, "%u.%u", &major, &minor) == 2)
		return major * 100 + minor;
	return 1;	/* QEMU of unknown age: assume the oldest */
}

/* Run until an exit other than NONE; nothing handled. */
uint64_t next_exit(struct vm *v, unsigned int cpu)
{
	uint64_t reason;

	do
		reason = vm_run_once(v, cpu);
	while (reason == NVMM_VCPU_EXIT_NONE);
	return reason;
}

uint64_t get_rip(struct vm *v, unsigned int cpu)
{
	vm_get(v, cpu, NVMM_X64_STATE_GPRS);
	return vm_state(v, cpu)->gprs[NVMM_X64_GPR_RIP];
}

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST_EXPORTED(protected_mode_32),
		KSFT_TEST_EXPORTED(protected_mode_16),
		KSFT_TEST_EXPORTED(exits_ud_gp_monitor_mwait),
		KSFT_TEST_EXPORTED(event_reinjection_after_npf),
		KSFT_TEST_EXPORTED(interrupt_shadow),
		KSFT_TEST_EXPORTED(tpr_cr8_and_exit_changed),
		KSFT_TEST_EXPORTED(xsetbv_and_avx_state),
		KSFT_TEST_EXPORTED(fpu_state_across_sleeping_faults),
		KSFT_TEST_EXPORTED(asid_recycling),
		KSFT_TEST_EXPORTED(tsc_offset_and_monotonic),
		KSFT_TEST_EXPORTED(tsc_writes_keep_vcpus_in_sync),
		KSFT_TEST_EXPORTED(cpuid_leaves_and_masks),
	};

	if (access("/dev/nvmm", F_OK) != 0) {
		printf("TAP version 13\n1..0 # SKIP /dev/nvmm is absent\n");
		return KSFT_SKIP;
	}
	return ksft_run("run_cpu", tests, sizeof(tests) / sizeof(tests[0]),
			300);
}
