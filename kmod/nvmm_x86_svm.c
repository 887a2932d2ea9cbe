// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM backend.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <asm/virtext.h>

#include "nvmm_internal.h"

/* CPUID 0x8000000A EDX. */
#define SVM_FEAT_NP		BIT(0)
#define SVM_FEAT_NRIPS		BIT(3)
#define SVM_FEAT_VMCB_CLEAN	BIT(5)
#define SVM_FEAT_FLUSH_BY_ASID	BIT(6)
#define SVM_FEAT_DECODE_ASSISTS	BIT(7)

struct svm_features {
	u32 edx;		/* CPUID 0x8000000A EDX */
	u32 nasid;		/* ASIDs, including the host's ASID 0 */
};

static struct svm_features svm_feat;

/* The host save area VMRUN uses, one per CPU. */
static DEFINE_PER_CPU(struct page *, svm_hsave);

struct svm_cpudata {
	struct page *vmcb_page;
	struct vmcb *vmcb;
};

static int svm_probe(void)
{
	u32 eax, ebx, ecx, edx;
	u64 vmcr;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("cannot load: the CPU has no SVM (AMD-V), or the firmware hides it\n");
		return -ENODEV;
	}
	if (!rdmsrl_safe(MSR_VM_CR, &vmcr) && (vmcr & SVM_VM_CR_SVM_DISABLE)) {
		pr_err("cannot load: SVM is disabled by the firmware (VM_CR.SVMDIS)\n");
		return -ENODEV;
	}
	if (cpuid_eax(0x80000000) < 0x8000000A) {
		pr_err("cannot load: the CPU has no SVM feature leaf (CPUID 0x8000000A)\n");
		return -ENODEV;
	}
	cpuid(0x8000000A, &eax, &ebx, &ecx, &edx);
	if (!(edx & SVM_FEAT_NP)) {
		pr_err("cannot load: the CPU's SVM has no nested paging (NPT)\n");
		return -ENODEV;
	}
	if (ebx < 2) {
		pr_err("cannot load: the CPU's SVM has no guest ASID\n");
		return -ENODEV;
	}
	svm_feat.edx = edx;
	svm_feat.nasid = ebx;
	return 0;
}

static void svm_fini(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		nvmm_free_page(per_cpu(svm_hsave, cpu));
		per_cpu(svm_hsave, cpu) = NULL;
	}
}

static int svm_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct page *page = nvmm_alloc_page();

		if (!page) {
			svm_fini();
			return -ENOMEM;
		}
		per_cpu(svm_hsave, cpu) = page;
	}
	pr_info("SVM: %u ASIDs%s%s%s%s\n", svm_feat.nasid,
		(svm_feat.edx & SVM_FEAT_NRIPS) ? ", NRIPS" : "",
		(svm_feat.edx & SVM_FEAT_FLUSH_BY_ASID) ? ", FlushByASID" : "",
		(svm_feat.edx & SVM_FEAT_DECODE_ASSISTS) ? ", DecodeAssists" : "",
		(svm_feat.edx & SVM_FEAT_VMCB_CLEAN) ? ", VMCB clean bits" : "");
	return 0;
}

static int svm_cpu_enable(void)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;	/* another hypervisor is using SVM here */
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(__this_cpu_read(svm_hsave)));
	return 0;
}

static void svm_cpu_disable(void)
{
	/* Sets GIF, clears VM_HSAVE_PA and EFER.SVME. */
	cpu_svm_disable();
}

static void svm_capability(struct nvmm_capability *cap)
{
	cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID;
}

static int svm_machine_create(struct nvmm_machine *mach)
{
	return 0;
}

static void svm_machine_destroy(struct nvmm_machine *mach)
{
}

static int svm_vcpu_create(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata;

	cpudata = kzalloc(sizeof(*cpudata), GFP_KERNEL_ACCOUNT);
	if (!cpudata)
		return -ENOMEM;
	cpudata->vmcb_page = nvmm_alloc_page();
	if (!cpudata->vmcb_page) {
		kfree(cpudata);
		return -ENOMEM;
	}
	cpudata->vmcb = page_address(cpudata->vmcb_page);
	vcpu->cpudata = cpudata;
	return 0;
}

static void svm_vcpu_destroy(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;

	nvmm_free_page(cpudata->vmcb_page);
	kfree(cpudata);
	vcpu->cpudata = NULL;
}

const struct nvmm_impl nvmm_x86_svm = {
	.name = "x86-svm",
	.hw = "SVM",
	.probe = svm_probe,
	.init = svm_init,
	.fini = svm_fini,
	.cpu_enable = svm_cpu_enable,
	.cpu_disable = svm_cpu_disable,
	.capability = svm_capability,
	.machine_create = svm_machine_create,
	.machine_destroy = svm_machine_destroy,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
};
