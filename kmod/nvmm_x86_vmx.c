// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX backend.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>
#include <asm/vmx.h>

#include "nvmm_internal.h"

/* IA32_VMX_BASIC fields. */
#define VMX_BASIC_REVISION(b)	((u32)(b) & 0x7FFFFFFF)
#define VMX_BASIC_SIZE(b)	(((b) >> VMX_BASIC_VMCS_SIZE_SHIFT) & 0x1FFF)
#define VMX_BASIC_MEMTYPE(b)						\
	(((b) & VMX_BASIC_MEM_TYPE_MASK) >> VMX_BASIC_MEM_TYPE_SHIFT)

/* What we need of IA32_VMX_EPT_VPID_CAP (low half: EPT, high: VPID). */
#define VMX_EPT_NEEDED							\
	(VMX_EPT_PAGE_WALK_4_BIT | VMX_EPTP_WB_BIT | VMX_EPT_INVEPT_BIT)
#define VMX_EPT_INVEPT_ANY						\
	(VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT)
#define VMX_VPID_INVVPID_ANY						\
	(VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |				\
	 VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT)

struct vmx_features {
	u64 basic;
	u32 ept;
	u32 vpid;
	u32 procbased2_allowed1;
};

static struct vmx_features vmx_feat;

/* The VMXON region of each CPU. */
static DEFINE_PER_CPU(struct page *, vmx_vmxon);

struct vmx_cpudata {
	struct page *vmcs_page;
};

static bool vmx_firmware_allows(void)
{
	u64 fc;

	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc))
		return false;
	return (fc & FEAT_CTL_LOCKED) &&
	       (fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
}

static int vmx_probe(void)
{
	u64 procbased, procbased2;
	u32 msr;

	if (!(cpuid_ecx(1) & BIT(5))) {
		pr_err("cannot load: the CPU has no VMX (VT-x), or the firmware hides it\n");
		return -ENODEV;
	}
	if (!vmx_firmware_allows()) {
		pr_err("cannot load: VMX is disabled by the firmware (IA32_FEATURE_CONTROL)\n");
		return -ENODEV;
	}
	if (rdmsrl_safe(MSR_IA32_VMX_BASIC, &vmx_feat.basic)) {
		pr_err("cannot load: the VMX capability MSRs are unreadable\n");
		return -ENODEV;
	}
	if (VMX_BASIC_SIZE(vmx_feat.basic) > PAGE_SIZE ||
	    VMX_BASIC_MEMTYPE(vmx_feat.basic) != VMX_BASIC_MEM_TYPE_WB) {
		pr_err("cannot load: unsupported VMCS size or memory type (VMX_BASIC %#llx)\n",
		       vmx_feat.basic);
		return -ENODEV;
	}
	msr = (vmx_feat.basic & VMX_BASIC_TRUE_CTLS) ?
	      MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS;
	rdmsrl(msr, procbased);
	procbased2 = 0;
	if ((procbased >> 32) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, procbased2);
	vmx_feat.procbased2_allowed1 = procbased2 >> 32;
	if (!(vmx_feat.procbased2_allowed1 & SECONDARY_EXEC_ENABLE_EPT) ||
	    !(vmx_feat.procbased2_allowed1 & SECONDARY_EXEC_ENABLE_VPID) ||
	    !(vmx_feat.procbased2_allowed1 &
	      SECONDARY_EXEC_UNRESTRICTED_GUEST)) {
		pr_err("cannot load: VMX lacks EPT, VPID or unrestricted guest\n");
		return -ENODEV;
	}
	rdmsr(MSR_IA32_VMX_EPT_VPID_CAP, vmx_feat.ept, vmx_feat.vpid);
	if ((vmx_feat.ept & VMX_EPT_NEEDED) != VMX_EPT_NEEDED ||
	    !(vmx_feat.ept & VMX_EPT_INVEPT_ANY) ||
	    !(vmx_feat.vpid & VMX_VPID_INVVPID_BIT) ||
	    !(vmx_feat.vpid & VMX_VPID_INVVPID_ANY)) {
		pr_err("cannot load: EPT or VPID lacks a needed capability (EPT %#x, VPID %#x)\n",
		       vmx_feat.ept, vmx_feat.vpid);
		return -ENODEV;
	}
	return 0;
}

static void vmx_fini(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		nvmm_free_page(per_cpu(vmx_vmxon, cpu));
		per_cpu(vmx_vmxon, cpu) = NULL;
	}
}

static int vmx_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct page *page = nvmm_alloc_page();

		if (!page) {
			vmx_fini();
			return -ENOMEM;
		}
		*(u32 *)page_address(page) = VMX_BASIC_REVISION(vmx_feat.basic);
		per_cpu(vmx_vmxon, cpu) = page;
	}
	pr_info("VMX: VMCS revision %#x%s\n", VMX_BASIC_REVISION(vmx_feat.basic),
		(vmx_feat.basic & VMX_BASIC_TRUE_CTLS) ? ", TRUE controls" : "");
	return 0;
}

static int vmx_cpu_enable(void)
{
	u64 pa = page_to_phys(__this_cpu_read(vmx_vmxon));

	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;	/* another hypervisor is in VMX operation */
	if (!vmx_firmware_allows())
		return -EIO;

	cr4_set_bits(X86_CR4_VMXE);
	asm goto("1: vmxon %[pa]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (pa) : "cc", "memory" : fault);
	return 0;

fault:
	cr4_clear_bits(X86_CR4_VMXE);
	return -EIO;
}

static void vmx_cpu_disable(void)
{
	asm goto("1: vmxoff\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : : "cc", "memory" : fault);
fault:
	cr4_clear_bits(X86_CR4_VMXE);
}

static void vmx_capability(struct nvmm_capability *cap)
{
	cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID |
				      NVMM_CAP_ARCH_VCPU_CONF_TPR;
}

static int vmx_machine_create(struct nvmm_machine *mach)
{
	return 0;
}

static void vmx_machine_destroy(struct nvmm_machine *mach)
{
}

static int vmx_vcpu_create(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata;

	cpudata = kzalloc(sizeof(*cpudata), GFP_KERNEL_ACCOUNT);
	if (!cpudata)
		return -ENOMEM;
	cpudata->vmcs_page = nvmm_alloc_page();
	if (!cpudata->vmcs_page) {
		kfree(cpudata);
		return -ENOMEM;
	}
	*(u32 *)page_address(cpudata->vmcs_page) =
		VMX_BASIC_REVISION(vmx_feat.basic);
	vcpu->cpudata = cpudata;
	return 0;
}

static void vmx_vcpu_destroy(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	nvmm_free_page(cpudata->vmcs_page);
	kfree(cpudata);
	vcpu->cpudata = NULL;
}

/* Running guests on VMX is not implemented yet. */
static int vmx_vcpu_configure(struct nvmm_cpu *vcpu, u64 op,
			      void __user *conf)
{
	return -EOPNOTSUPP;
}

static int vmx_vcpu_getstate(struct nvmm_cpu *vcpu)
{
	return -EOPNOTSUPP;
}

static int vmx_vcpu_run(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	return -EOPNOTSUPP;
}

/* EPT entries: R/W/X bits, write-back memory. */
#define EPT_R		BIT_ULL(0)
#define EPT_W		BIT_ULL(1)
#define EPT_X		BIT_ULL(2)
#define EPT_MT_WB	(6ULL << 3)

static u64 vmx_ept_leaf(u64 pa, u32 prot)
{
	u64 pte = pa | EPT_R | EPT_MT_WB;

	if (prot & NVMM_PROT_WRITE)
		pte |= EPT_W;
	if (prot & NVMM_PROT_EXEC)
		pte |= EPT_X;
	return pte;
}

static const struct nvmm_pt_ops vmx_pt_ops = {
	.levels = 4,
	.leaf = vmx_ept_leaf,
	.table = EPT_R | EPT_W | EPT_X,
	.present = EPT_R | EPT_W | EPT_X,
};

const struct nvmm_impl nvmm_x86_vmx = {
	.name = "x86-vmx",
	.hw = "VMX",
	.probe = vmx_probe,
	.init = vmx_init,
	.fini = vmx_fini,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.capability = vmx_capability,
	.pt_ops = &vmx_pt_ops,
	.machine_create = vmx_machine_create,
	.machine_destroy = vmx_machine_destroy,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_configure = vmx_vcpu_configure,
	.vcpu_getstate = vmx_vcpu_getstate,
	.vcpu_run = vmx_vcpu_run,
};
