/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_cpu: the guest's TSC: its offset, monotonic across runs, and a
 * VMM's writes of each VCPU's TSC keeping the machine's VCPUs in sync.
 */
#include <inttypes.h>
#include <unistd.h>

#include "emu_util.h"
#include "ksft.h"
#include "run_cpu.h"
#include "vm.h"

/* -------------------------------------------------------------------------- */
/* The TSC. */

static uint64_t tsc_pair(const uint32_t *r)
{
	return (uint64_t)r[0] << 32 | r[1];
}

START_TEST(tsc_offset_and_monotonic)
{
	const uint64_t T = 1ULL << 42, T2 = 1ULL << 46;
	const uint64_t slack = 1ULL << 36;	/* tens of seconds of cycles */
	uint64_t prev, v, host;
	unsigned int i;

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_tsc");
	vm_mode_long(&vm, 0, VM_CODE);
	vm_get(&vm, 0, NVMM_X64_STATE_MSRS | NVMM_X64_STATE_GPRS);
	host = vm_state(&vm, 0)->msrs[NVMM_X64_MSR_TSC];
	ck_assert_uint_lt(host, T / 4);	/* the offset is visible */
	vm_state(&vm, 0)->msrs[NVMM_X64_MSR_TSC] = T;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RBX] = 6;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_R13] = T2;
	vm_set(&vm, 0, NVMM_X64_STATE_MSRS | NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	ck_assert_uint_eq(vm.nreports[0], 2 * 6 + 2 + 2);

	prev = tsc_pair(&vm.reports[0][0]);
	ksft_print("setstate TSC %#" PRIx64 "; the guest read %#" PRIx64,
		   T, prev);
	ck_assert_msg(prev >= T && prev - T < slack, "the guest's TSC %#"
		      PRIx64 " is not close to %#" PRIx64, prev, T);
	/* RDTSC, then RDMSR: each run (an exit between each) moves on. */
	for (i = 1; i < 7; i++) {
		v = tsc_pair(&vm.reports[0][2 * i]);
		ck_assert_msg(v > prev, "TSC %#" PRIx64 " after %#" PRIx64
			      " (read %u)", v, prev, i);
		prev = v;
	}
	/* WRMSR: in the kernel, the offset follows. */
	v = tsc_pair(&vm.reports[0][14]);
	ck_assert_msg(v >= T2 && v - T2 < slack, "TSC %#" PRIx64 " after "
		      "WRMSR of %#" PRIx64, v, T2);
	prev = v;

	/* getstate: after what the guest saw; the next run after that. */
	vm.mach.pages[0]->state_cached = 0;
	vm_get(&vm, 0, NVMM_X64_STATE_MSRS);
	v = vm_state(&vm, 0)->msrs[NVMM_X64_MSR_TSC];
	ck_assert_msg(v >= prev && v - prev < slack, "getstate TSC %#" PRIx64
		      " after the guest's %#" PRIx64, v, prev);
	prev = v;
	usleep(10 * 1000);
	vm.nreports[0] = 0;
	vm_get(&vm, 0, NVMM_X64_STATE_GPRS);
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RIP] = VM_CODE;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_RBX] = 2;
	vm_state(&vm, 0)->gprs[NVMM_X64_GPR_R13] = T2 * 2;
	vm_set(&vm, 0, NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(vm_run(&vm, 0), NVMM_VCPU_EXIT_HALTED);
	v = tsc_pair(&vm.reports[0][0]);
	ck_assert_msg(v > prev && v - prev < slack, "TSC %#" PRIx64 " in the "
		      "next run, after %#" PRIx64, v, prev);
	vm_destroy(&vm);
}
END_TEST
KSFT_EXPORT(tsc_offset_and_monotonic)

/* A VCPU's TSC now, as getstate reads it (live). */
static uint64_t vcpu_tsc(unsigned int cpu)
{
	vm.mach.pages[cpu]->state_cached = 0;
	vm_get(&vm, cpu, NVMM_X64_STATE_MSRS);
	return vm_state(&vm, cpu)->msrs[NVMM_X64_MSR_TSC];
}

/* Run the VCPU (on long_hlt) so that what was committed takes effect. */
static void run_commit(unsigned int cpu)
{
	vm_get(&vm, cpu, NVMM_X64_STATE_GPRS);
	vm_state(&vm, cpu)->gprs[NVMM_X64_GPR_RIP] = VM_CODE;
	vm_set(&vm, cpu, NVMM_X64_STATE_GPRS);
	ck_assert_uint_eq(vm_run(&vm, cpu), NVMM_VCPU_EXIT_HALTED);
}

/* A VMM's write of the VCPU's TSC (setstate), applied at once. */
static void tsc_write(unsigned int cpu, uint64_t value)
{
	vm_get(&vm, cpu, NVMM_X64_STATE_MSRS);
	vm_state(&vm, cpu)->msrs[NVMM_X64_MSR_TSC] = value;
	vm_set(&vm, cpu, NVMM_X64_STATE_MSRS);
	run_commit(cpu);
}

static uint64_t tsc_gap(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * A VMM writes each VCPU's TSC on its own: at reset, and back with a value
 * it read a while before (QEMU at INIT and SIPI). Such writes keep the
 * machine's VCPUs on one TSC, as KVM does, or Linux finds a warp between
 * them and gives up the TSC; a value far from the machine's TSC is exact.
 */
START_TEST(tsc_writes_keep_vcpus_in_sync)
{
	const uint64_t T = 1ULL << 42;
	uint64_t gap, a, b;
	unsigned int cpu;

	vm_create(&vm, 1 * MIB);
	vm_load(&vm, "long_hlt");
	for (cpu = 0; cpu < 3; cpu++) {
		if (cpu)
			vm_add_vcpu(&vm, cpu);
		vm_mode_long(&vm, cpu, VM_CODE);
		run_commit(cpu);
	}

	/* A reset of each VCPU to 0, 50 ms apart. */
	gap = __builtin_ia32_rdtsc();
	tsc_write(0, 0);
	usleep(50 * 1000);
	tsc_write(1, 0);
	gap = __builtin_ia32_rdtsc() - gap;
	a = vcpu_tsc(0);
	b = vcpu_tsc(1);
	ksft_print("50 ms: %" PRIu64 " host cycles; VCPU 0 and 1 then %"
		   PRIu64 " apart", gap, tsc_gap(a, b));
	ck_assert_msg(tsc_gap(a, b) < gap / 4, "VCPUs %" PRIu64 " cycles "
		      "apart after resets %" PRIu64 " cycles apart",
		      tsc_gap(a, b), gap);

	/* A whole-state write-back, 50 ms after its read. */
	vm.mach.pages[2]->state_cached = 0;
	vm_get(&vm, 2, NVMM_X64_STATE_ALL);
	usleep(50 * 1000);
	vm_set(&vm, 2, NVMM_X64_STATE_ALL);
	run_commit(2);
	a = vcpu_tsc(0);
	b = vcpu_tsc(2);
	ck_assert_msg(tsc_gap(a, b) < gap / 4, "VCPU 2 %" PRIu64 " cycles "
		      "from VCPU 0 after a stale write-back", tsc_gap(a, b));

	/* A value far away is exact, and starts what later writes match. */
	tsc_write(1, T);
	b = vcpu_tsc(1);
	ck_assert_msg(b >= T && b - T < gap, "TSC %#" PRIx64 " after a "
		      "write of %#" PRIx64, b, T);
	usleep(20 * 1000);
	tsc_write(0, T);
	a = vcpu_tsc(0);
	b = vcpu_tsc(1);
	ck_assert_msg(tsc_gap(a, b) < gap / 4, "VCPUs %" PRIu64 " cycles "
		      "apart after both were set to %#" PRIx64, tsc_gap(a, b),
		      T);
	/* VCPU 2 kept its TSC: the first one's, far below. */
	ck_assert_uint_lt(vcpu_tsc(2), T / 4);
	vm_destroy(&vm);
}
END_TEST
KSFT_EXPORT(tsc_writes_keep_vcpus_in_sync)
