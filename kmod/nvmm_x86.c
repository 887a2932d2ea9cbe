// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86 facts shared by the SVM and VMX backends.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>

#include "nvmm_internal.h"

/* CPUID configurations a VCPU may hold. */
#define NVMM_X86_NCPUIDS	64

/* XCR0 bits a guest may enable when the host has them. */
#define NVMM_X86_XCR0_GUEST						\
	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM |	\
	 XFEATURE_MASK_OPMASK | XFEATURE_MASK_ZMM_Hi256 |		\
	 XFEATURE_MASK_Hi16_ZMM)

static u64 nvmm_x86_xcr0_mask;
static u32 nvmm_x86_mxcsr_mask;

int nvmm_x86_init(void)
{
	struct fxregs_state *fx;

	if (!boot_cpu_has(X86_FEATURE_FXSR)) {
		pr_err("cannot load: the CPU has no FXSAVE\n");
		return -ENODEV;
	}

	/* The MXCSR bits this CPU implements, as FXSAVE reports them. */
	fx = kzalloc(sizeof(*fx), GFP_KERNEL);
	if (!fx)
		return -ENOMEM;
	kernel_fpu_begin();
	asm volatile("fxsaveq %0" : "=m" (*fx));
	kernel_fpu_end();
	nvmm_x86_mxcsr_mask = fx->mxcsr_mask ? fx->mxcsr_mask : 0xFFBF;
	kfree(fx);

	if (boot_cpu_has(X86_FEATURE_XSAVE))
		nvmm_x86_xcr0_mask = xgetbv(XCR_XFEATURE_ENABLED_MASK) &
				     NVMM_X86_XCR0_GUEST;
	else
		nvmm_x86_xcr0_mask = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	return 0;
}

void nvmm_x86_capability(struct nvmm_capability *cap)
{
	cap->arch.mach_conf_support = 0;
	cap->arch.xcr0_mask = nvmm_x86_xcr0_mask;
	cap->arch.mxcsr_mask = nvmm_x86_mxcsr_mask;
	cap->arch.conf_cpuid_maxops = NVMM_X86_NCPUIDS;
}
