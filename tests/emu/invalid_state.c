/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * invalid_state.so: LD_PRELOAD into a VMM linked with libvmm (nvmm-run)
 * to see what it does with an INVALID exit. A guest cannot cause one (its
 * own instructions cannot give the CPU a state it refuses to enter), so
 * this stands for a VMM bug: before VCPU 0's first run, its state is
 * made long mode with paging (CR0.PG, EFER.LME and LMA) but without
 * CR4.PAE, which the CPU refuses at VM entry (AMD APM vol. 2 15.5.1,
 * Intel SDM vol. 3 27.3.1.1). Only VCPU 0, only once; every other call
 * goes to libvmm's nvmm_vcpu_run.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <nvmm.h>

#define CR0_PG		0x80000000ULL
#define CR4_PAE		0x20ULL
#define EFER_LME	0x100ULL
#define EFER_LMA	0x400ULL

int nvmm_vcpu_run(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	static int (*real)(struct nvmm_machine *, struct nvmm_vcpu *);
	static int done;
	struct nvmm_x64_state *st = vcpu->state;

	if (real == NULL) {
		*(void **)&real = dlsym(RTLD_NEXT, "nvmm_vcpu_run");
		if (real == NULL) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (vcpu->cpuid == 0 && !__atomic_exchange_n(&done, 1,
						     __ATOMIC_SEQ_CST)) {
		const uint64_t which = NVMM_X64_STATE_CRS |
				       NVMM_X64_STATE_MSRS;

		if (nvmm_vcpu_getstate(mach, vcpu, which) == -1)
			return -1;
		st->crs[NVMM_X64_CR_CR0] |= CR0_PG;
		st->crs[NVMM_X64_CR_CR4] &= ~CR4_PAE;
		st->msrs[NVMM_X64_MSR_EFER] |= EFER_LME | EFER_LMA;
		if (nvmm_vcpu_setstate(mach, vcpu, which) == -1)
			return -1;
		fprintf(stderr, "invalid_state.so: VCPU 0 in long mode "
			"without CR4.PAE (CR0 %#llx CR4 %#llx EFER %#llx)\n",
			(unsigned long long)st->crs[NVMM_X64_CR_CR0],
			(unsigned long long)st->crs[NVMM_X64_CR_CR4],
			(unsigned long long)st->msrs[NVMM_X64_MSR_EFER]);
	}
	return real(mach, vcpu);
}
