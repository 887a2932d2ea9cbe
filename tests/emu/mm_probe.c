/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The probe guest's runner, for run_mm's tests: set a VCPU up for the
 * probe guest, run once taking a report, run for reports or to HLT.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ksft.h"
#include "mm_probe.h"

void probe_setup(struct vm *v, unsigned int cpu, uint64_t probe_gpa)
{
	vm_mode_long(v, cpu, VM_CODE);
	vm_state(v, cpu)->gprs[NVMM_X64_GPR_RBX] = probe_gpa;
	vm_state(v, cpu)->gprs[NVMM_X64_GPR_R12] = CMD_GPA;
	vm_set(v, cpu, NVMM_X64_STATE_GPRS);
}

void probe_start(struct vm *v, volatile uint32_t **probe,
		 volatile uint32_t **cmd)
{
	vm_create(v, 1 * MIB);
	vm_load(v, "long_mm_probe");
	probe_setup(v, 0, PROBE_GPA);
	*probe = (volatile uint32_t *)(v->ram + PROBE_GPA);
	*cmd = (volatile uint32_t *)(v->ram + CMD_GPA);
	/* The guest writes A: its translation is writable now. */
	**cmd = 0xAAAA0001;
	probe_until_halt(v, 0);
	ck_assert_uint_eq(**probe, 0xAAAA0001);
}

/*
 * Run once without failing the test from this thread: returns the exit
 * reason, or NVMM_VCPU_EXIT_INVALID with *err set if the run failed. A
 * report (OUT to the report port) is taken, RIP advanced, and the value
 * stored in *val; the reason is then NVMM_VCPU_EXIT_IO.
 */
uint64_t probe_run(struct vm *v, unsigned int cpu, uint32_t *val,
		   int *err)
{
	struct nvmm_vcpu *vcpu = &v->vcpu[cpu];
	const struct nvmm_vcpu_exit *exit = vcpu->exit;
	struct nvmm_x64_state *st = vcpu->state;

	*err = 0;
	if (nvmm_vcpu_run(&v->mach, vcpu) != 0) {
		*err = errno;
		return NVMM_VCPU_EXIT_INVALID;
	}
	if (exit->reason == NVMM_VCPU_EXIT_IO && !exit->u.io.in &&
	    exit->u.io.port == VM_PORT_REPORT) {
		/* The exit provides GPRS: both calls stay in the comm page. */
		if (nvmm_vcpu_getstate(&v->mach, vcpu, NVMM_X64_STATE_GPRS)) {
			*err = errno;
			return NVMM_VCPU_EXIT_INVALID;
		}
		*val = (uint32_t)st->gprs[NVMM_X64_GPR_RAX];
		st->gprs[NVMM_X64_GPR_RIP] = exit->u.io.npc;
		nvmm_vcpu_setstate(&v->mach, vcpu, NVMM_X64_STATE_GPRS);
	}
	return exit->reason;
}

/* Run (in the test's thread) until n reports were taken; they go to out. */
void probe_reports(struct vm *v, unsigned int cpu, uint32_t *out,
		   unsigned int n)
{
	unsigned int got = 0;
	uint64_t reason;
	uint32_t val;
	int err;

	while (got < n) {
		reason = probe_run(v, cpu, &val, &err);
		ck_assert_msg(err == 0, "vcpu_run: %s", strerror(err));
		if (reason == NVMM_VCPU_EXIT_NONE)
			continue;
		ck_assert_msg(reason == NVMM_VCPU_EXIT_IO,
			      "exit %#" PRIx64 " while waiting for reports",
			      reason);
		out[got++] = val;
	}
}

/* Run until HLT, the reports ignored (the command was given). */
void probe_until_halt(struct vm *v, unsigned int cpu)
{
	uint64_t reason;
	uint32_t val;
	unsigned int n = 0;
	int err;

	for (;;) {
		reason = probe_run(v, cpu, &val, &err);
		ck_assert_msg(err == 0, "vcpu_run: %s", strerror(err));
		if (reason == NVMM_VCPU_EXIT_HALTED)
			return;
		ck_assert_msg(reason == NVMM_VCPU_EXIT_IO ||
			      reason == NVMM_VCPU_EXIT_NONE,
			      "exit %#" PRIx64 " while waiting for HLT", reason);
		ck_assert_msg(++n < 100000, "the guest does not see the command "
			      "word the host wrote (%#x at gpa %#llx) after "
			      "%u reports: stale translation?",
			      *(volatile uint32_t *)(v->ram + CMD_GPA), CMD_GPA,
			      n);
	}
}
