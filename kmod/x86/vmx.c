// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX backend: VMX operation on every CPU, the VMCS of each VCPU
 * (built from the TRUE control MSRs), VPIDs and TLBs, and the hooks of the
 * shared run path (run.h) with the world switch. State and events are in
 * vmx_state.c, exits in vmx_exit.c; the SVM backend has the same files.
 *
 * Needs EPT, VPID, unrestricted guest and virtual NMIs, and VM exits that
 * save EFER.LMA in the "IA-32e mode guest" entry control: guests switch
 * paging and long mode on their own, without exits.
 *
 * A VMCS is active on at most one CPU, and is on that CPU's list until a
 * VMCLEAR there: when the VCPU's thread moves, when the VCPU dies, and
 * before VMXOFF (unload, CPU hotplug, suspend, reboot).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/hw_breakpoint.h>
#include <linux/idr.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/io.h>
#include <asm/mmu_context.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "run.h"
#include "vmx.h"

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

/* Exceptions we look at: #DB, #AC (both can loop in microcode), #MC. */
#define VMX_EXCP_INTERCEPTS	(BIT(DB_VECTOR) | BIT(AC_VECTOR) | BIT(MC_VECTOR))

/* CR0 bits the host decides in hardware, beyond the CPU's fixed ones. */
#define VMX_CR0_HOST_OFF	(X86_CR0_CD | X86_CR0_NW)

struct vmx_features {
	u64 basic;
	u64 misc;
	u32 ept;
	u32 vpid;
	u32 pinbased;
	u32 procbased;
	u32 procbased2;
	u32 exit_ctls;
	u32 entry_ctls;
	u32 ept_flush;			/* INVEPT type: context or global */
	u32 vpid_flush;			/* INVVPID type */
	bool l1d_flush;			/* MSR_IA32_FLUSH_CMD before entries */
};

static struct vmx_features vmx_feat;

struct vmx_crs vmx_crs;
bool vmx_has_zero_len_inject;
bool vmx_has_ins_outs_info;
bool vmx_has_invpcid;
bool vmx_has_ple;

struct vmx_pcpu {
	struct page *vmxon;
	bool on;				/* in VMX operation */
	struct vmx_cpudata *current_vmcs;	/* the VMPTRLD one */
	struct list_head loaded;		/* VMCSs active here */
};

static DEFINE_PER_CPU(struct vmx_pcpu, vmx_pcpu);

/* Shared, read-only to the CPU: which MSR accesses exit. */
static struct page *vmx_msr_bitmap;
static DEFINE_IDA(vmx_vpids);

/* -------------------------------------------------------------------------- */
/* VMX instructions. */

void vmx_vmwrite_error(unsigned long field, unsigned long val)
{
	WARN_ONCE(1, "nvmm: VMWRITE of %#lx to field %#lx failed (error %llu)\n",
		  val, field, vmx_read(VM_INSTRUCTION_ERROR));
}

static void vmx_vmclear(u64 pa)
{
	asm goto("1: vmclear %[pa]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (pa) : "cc", "memory" : fault);
fault:
	return;
}

static void vmx_vmptrld(u64 pa)
{
	asm goto("1: vmptrld %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (pa) : "cc", "memory" : fail, fault);
	return;
fail:
	WARN_ONCE(1, "nvmm: VMPTRLD of %#llx failed\n", pa);
fault:
	return;
}

static void vmx_invept(u32 type, u64 eptp)
{
	struct {
		u64 eptp, zero;
	} desc = { eptp, 0 };

	asm goto("1: invept %[desc], %[type]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [desc] "m" (desc), [type] "r" ((u64)type)
		 : "cc", "memory" : fault);
fault:
	return;
}

static void vmx_invvpid(u32 type, u16 vpid)
{
	struct {
		u64 vpid, gva;
	} desc = { vpid, 0 };

	asm goto("1: invvpid %[desc], %[type]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [desc] "m" (desc), [type] "r" ((u64)type)
		 : "cc", "memory" : fault);
fault:
	return;
}

/* -------------------------------------------------------------------------- */
/* Loading and clearing VMCSs. */

/* On the CPU where it is active, IRQs off: no longer active anywhere. */
static void vmx_vmcs_clear_local(struct vmx_cpudata *cpudata)
{
	struct vmx_pcpu *pcpu = this_cpu_ptr(&vmx_pcpu);

	vmx_vmclear(cpudata->vmcs_pa);
	if (pcpu->current_vmcs == cpudata)
		pcpu->current_vmcs = NULL;
	list_del(&cpudata->loaded_link);
	cpudata->launched = false;
	/* The list entry is gone before anyone sees the VMCS as clear. */
	smp_wmb();
	WRITE_ONCE(cpudata->cpu, -1);
}

static void vmx_vmcs_clear_ipi(void *arg)
{
	struct vmx_cpudata *cpudata = arg;

	if (READ_ONCE(cpudata->cpu) == smp_processor_id())
		vmx_vmcs_clear_local(cpudata);
}

/* From anywhere, IRQs on: VMCLEAR the VMCS where it is active. */
static void vmx_vmcs_clear(struct vmx_cpudata *cpudata)
{
	int cpu = READ_ONCE(cpudata->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_vmcs_clear_ipi, cpudata, 1);
}

/* The host state the VMCS must hold on this CPU. */
static void vmx_host_percpu(int cpu)
{
	struct desc_ptr idt;
	u64 val;

	vmx_write(HOST_TR_BASE,
		  (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmx_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	store_idt(&idt);
	vmx_write(HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_GS_BASE, val);
	vmx_write(HOST_GS_BASE, val);
	rdmsrl(MSR_IA32_SYSENTER_ESP, val);
	vmx_write(HOST_IA32_SYSENTER_ESP, val);
	vmx_write(HOST_CR0, read_cr0());
}

/*
 * Make the VMCS current on this CPU, preemption off: VMCLEAR it where it
 * was active before, VMPTRLD it here. A VMCS that arrives on a CPU holds
 * host values of another one, and the CPU may hold stale translations of
 * the VCPU's VPID and EPT: both are redone.
 */
static void vmx_vmcs_load(struct vmx_cpudata *cpudata)
{
	struct vmx_pcpu *pcpu = this_cpu_ptr(&vmx_pcpu);
	int cpu = smp_processor_id();
	bool arrived = false;

	if (unlikely(!pcpu->on))
		return;		/* the CPU is going down or rebooting */
	if (cpudata->cpu != cpu) {
		vmx_vmcs_clear(cpudata);
		local_irq_disable();
		/* Its old list entry is gone (pairs with clear_local()). */
		smp_rmb();
		vmx_vmclear(cpudata->vmcs_pa);
		list_add(&cpudata->loaded_link, &pcpu->loaded);
		cpudata->launched = false;
		WRITE_ONCE(cpudata->cpu, cpu);
		local_irq_enable();
		arrived = true;
	}
	if (pcpu->current_vmcs != cpudata) {
		vmx_vmptrld(cpudata->vmcs_pa);
		pcpu->current_vmcs = cpudata;
		/* Another VCPU's branch predictions are not ours to use. */
		indirect_branch_prediction_barrier();
	}
	if (arrived) {
		vmx_host_percpu(cpu);
		cpudata->flush_ept = true;
		cpudata->flush_vpid = true;
	}
}

/*
 * Give the host back what the guest had in the hardware: the syscall MSRs,
 * and what VM exits changed (segment selectors, LDT, the TSS and GDT
 * limits). Preemption off.
 */
static void vmx_vmcs_put(struct vmx_cpudata *cpudata)
{
	static const u32 msrs[VMX_NMSRS] = {
		MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK,
	};
	struct vmx_host_state *host = &cpudata->host;
	unsigned int i;

	if (!cpudata->msrs_live)
		return;
	/* The guest changes its KERNEL_GS_BASE with SWAPGS, not WRMSR. */
	rdmsrl(MSR_KERNEL_GS_BASE, cpudata->gmsrs[VMX_MSR_KERNEL_GS_BASE]);

	if (host->ldt_sel)
		asm volatile("lldt %0" : : "rm" (host->ldt_sel));
	if (host->gs_sel)
		load_gs_index(host->gs_sel);
	if (host->fs_sel)
		loadsegment(fs, host->fs_sel);
	if (host->ds_sel)
		loadsegment(ds, host->ds_sel);
	if (host->es_sel)
		loadsegment(es, host->es_sel);
	for (i = 0; i < VMX_NMSRS; i++) {
		if (cpudata->gmsrs[i] != host->msrs[i])
			wrmsrl(msrs[i], host->msrs[i]);
	}
	/* VM exits set the TR limit to 0x67 and the GDTR limit to 0xFFFF. */
	invalidate_tss_limit();
	load_fixmap_gdt(smp_processor_id());
	cpudata->msrs_live = false;
}

/* Before an entry, IRQs off: the guest's syscall MSRs in the hardware. */
static void vmx_msrs_prepare(struct vmx_cpudata *cpudata)
{
	static const u32 msrs[VMX_NMSRS] = {
		MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK,
	};
	struct vmx_host_state *host = &cpudata->host;
	unsigned int i;
	u64 fs_base;

	if (cpudata->msrs_live)
		return;
	for (i = 0; i < VMX_NMSRS; i++) {
		rdmsrl(msrs[i], host->msrs[i]);
		if (cpudata->gmsrs[i] != host->msrs[i])
			wrmsrl(msrs[i], cpudata->gmsrs[i]);
	}
	/* VM exits load null selectors: the host's come back at put. */
	savesegment(fs, host->fs_sel);
	savesegment(gs, host->gs_sel);
	savesegment(ds, host->ds_sel);
	savesegment(es, host->es_sel);
	asm volatile("sldt %0" : "=g" (host->ldt_sel));
	/* Kernel mode leaves FS to the task: its TLS base. */
	rdmsrl(MSR_FS_BASE, fs_base);
	if (fs_base != cpudata->host_fs_base) {
		vmx_write(HOST_FS_BASE, fs_base);
		cpudata->host_fs_base = fs_base;
	}
	cpudata->host_debugctl = get_debugctlmsr();
	cpudata->msrs_live = true;
}

static void vmx_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct vmx_cpudata *cpudata = container_of(pn, struct vmx_cpudata, pn);

	vmx_vmcs_load(cpudata);
	/* Other tasks ran here: flush L1D before the guest runs again. */
	cpudata->l1d_flush = true;
}

static void vmx_sched_out(struct preempt_notifier *pn,
			  struct task_struct *next)
{
	vmx_vmcs_put(container_of(pn, struct vmx_cpudata, pn));
}

static struct preempt_ops vmx_preempt_ops = {
	.sched_in = vmx_sched_in,
	.sched_out = vmx_sched_out,
};

/* The VMCS is current until vmx_vcpu_put(), whatever CPU we run on. */
static void vmx_vcpu_load(struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	preempt_disable();
	vmx_vmcs_load(cpudata);
	preempt_notifier_init(&cpudata->pn, &vmx_preempt_ops);
	preempt_notifier_register(&cpudata->pn);
	preempt_enable();
}

static void vmx_vcpu_put(struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	preempt_disable();
	preempt_notifier_unregister(&cpudata->pn);
	vmx_vmcs_put(cpudata);
	preempt_enable();
}

/* A guest syscall MSR written by the guest or by userland. */
void vmx_set_msr_live(struct vmx_cpudata *cpudata, enum vmx_msr_slot slot,
		      u64 val)
{
	static const u32 msrs[VMX_NMSRS] = {
		MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK,
	};

	preempt_disable();
	cpudata->gmsrs[slot] = val;
	if (cpudata->msrs_live)
		wrmsrl(msrs[slot], val);
	preempt_enable();
}

u64 vmx_get_msr_live(struct vmx_cpudata *cpudata, enum vmx_msr_slot slot)
{
	preempt_disable();
	if (cpudata->msrs_live && slot == VMX_MSR_KERNEL_GS_BASE)
		rdmsrl(MSR_KERNEL_GS_BASE, cpudata->gmsrs[slot]);
	preempt_enable();
	return cpudata->gmsrs[slot];
}

/* -------------------------------------------------------------------------- */
/* Controls. */

void vmx_procbased(struct vmx_cpudata *cpudata, u32 bits, bool on)
{
	u32 val = on ? cpudata->procbased | bits : cpudata->procbased & ~bits;

	if (val != cpudata->procbased) {
		cpudata->procbased = val;
		vmx_write(CPU_BASED_VM_EXEC_CONTROL, val);
	}
}

void vmx_int_window(struct vmx_cpudata *cpudata, bool on)
{
	vmx_procbased(cpudata, CPU_BASED_INTR_WINDOW_EXITING, on);
	cpudata->x.int_window_exit = on;
}

void vmx_nmi_window(struct vmx_cpudata *cpudata, bool on)
{
	vmx_procbased(cpudata, CPU_BASED_NMI_WINDOW_EXITING, on);
	cpudata->x.nmi_window_exit = on;
}

/*
 * The "IA-32e mode guest" entry control follows EFER.LMA. It is read from
 * the VMCS, never cached: every VM exit stores the guest's LMA into it
 * (SDM 28.2), so a guest that entered or left long mode by itself has
 * changed it behind the module's back.
 */
void vmx_ia32e(bool on)
{
	u32 old = vmx_read(VM_ENTRY_CONTROLS);
	u32 val = on ? old | VM_ENTRY_IA32E_MODE : old & ~VM_ENTRY_IA32E_MODE;

	if (val != old)
		vmx_write(VM_ENTRY_CONTROLS, val);
}

/* -------------------------------------------------------------------------- */
/* The world switch. */

/* No instrumentation while RCU and lockdep think we are in the guest. */
static noinstr int vmx_enter_exit(struct vmx_cpudata *cpudata)
{
	int ret;

	guest_state_enter_irqoff();
	/* CR2 is not in the VMCS. NMI handlers keep it as they found it. */
	if (native_read_cr2() != cpudata->cr2)
		native_write_cr2(cpudata->cr2);
	ret = nvmm_vmx_run(cpudata->x.gprs, &cpudata->host_rsp,
			   cpudata->launched);
	cpudata->cr2 = native_read_cr2();
	guest_state_exit_irqoff();
	return ret;
}

/* The translations the VCPU may not use any more. IRQs off. */
static void vmx_tlb_prepare(struct nvmm_machine *mach,
			    struct vmx_cpudata *cpudata)
{
	u64 gen = atomic64_read(&mach->mmu.tlb_gen);

	if (cpudata->tlb_gen != gen) {
		cpudata->tlb_gen = gen;
		cpudata->flush_ept = true;
	}
	if (cpudata->flush_ept) {
		/* Guest-physical and combined translations, all VPIDs. */
		vmx_invept(vmx_feat.ept_flush, vmx_read(EPT_POINTER));
		cpudata->flush_ept = false;
		cpudata->flush_vpid = false;
	}
	if (cpudata->flush_vpid) {
		vmx_invvpid(vmx_feat.vpid_flush, cpudata->vpid);
		cpudata->flush_vpid = false;
	}
}

/* Before each entry, IRQs on: PDPTEs from guest memory may sleep. */
static void vmx_entry_prepare(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	if (cpudata->pdptrs_load) {
		vmx_load_pdptrs(mach);
		cpudata->pdptrs_load = false;
	}
}

/*
 * IRQs off, in guest mode: VMX may have been turned off here (reboot,
 * hotplug), or the VMCS not loaded; else the TLB flushes, and the host's
 * CR3 (PCID), CR4 and syscall MSRs of this task on this CPU, as of now.
 */
static bool vmx_entry_ready(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	struct vmx_pcpu *pcpu = this_cpu_ptr(&vmx_pcpu);
	u64 cr3, cr4;

	if (!pcpu->on || pcpu->current_vmcs != cpudata)
		return false;
	vmx_tlb_prepare(mach, cpudata);
	cr3 = __get_current_cr3_fast();
	if (cr3 != cpudata->host_cr3) {
		vmx_write(HOST_CR3, cr3);
		cpudata->host_cr3 = cr3;
	}
	cr4 = cr4_read_shadow();
	if (cr4 != cpudata->host_cr4) {
		vmx_write(HOST_CR4, cr4);
		cpudata->host_cr4 = cr4;
	}
	vmx_msrs_prepare(cpudata);
	return true;
}

static u64 vmx_guest_dr7(struct nvmm_cpu *vcpu)
{
	return vmx_read(GUEST_DR7);
}

/* CR4.PKE is not offered (nvmm_x86_cr4_valid): the guest has no PKRU. */
static u64 vmx_guest_cr4_live(struct nvmm_cpu *vcpu)
{
	return 0;
}

/*
 * The world switch. VMX_EXIT_ENTRY_FAILED alone in exit_reason if
 * VMLAUNCH/VMRESUME failed. An NMI of the host that stopped the guest is
 * the host's at once.
 */
static void vmx_vcpu_enter_exit(struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	u32 reason;

	/* L1TF: the guest must not read what the host left in L1D. */
	if (vmx_feat.l1d_flush && cpudata->l1d_flush) {
		wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
		cpudata->l1d_flush = false;
	}
	/* What VM entry would refuse, refused as the CPU does. */
	if (unlikely(cpudata->lm_unpaged)) {
		cpudata->exit_reason = VMX_EXIT_ENTRY_FAILED |
				       EXIT_REASON_INVALID_STATE;
		return;
	}
	if (unlikely(vmx_enter_exit(cpudata))) {
		cpudata->exit_reason = VMX_EXIT_ENTRY_FAILED;
		return;
	}
	reason = vmx_read(VM_EXIT_REASON);
	cpudata->exit_reason = reason;
	if (!(reason & VMX_EXIT_ENTRY_FAILED))
		cpudata->launched = true;
	if ((u16)reason == EXIT_REASON_EXCEPTION_NMI &&
	    (vmx_read(VM_EXIT_INTR_INFO) &
	     (INTR_INFO_VALID_MASK | INTR_INFO_INTR_TYPE_MASK)) ==
	    (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR))
		nvmm_vmx_nmi();
}

/* VM exits clear DEBUGCTL. */
static void vmx_exit_early(struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	if (cpudata->host_debugctl)
		update_debugctlmsr(cpudata->host_debugctl);
}

static void vmx_dr_intercept(struct nvmm_cpu *vcpu)
{
	vmx_procbased(vcpu->cpudata, CPU_BASED_MOV_DR_EXITING, true);
}

static void vmx_exitstate(struct nvmm_cpu *vcpu, struct nvmm_vcpu_exit *exit)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	u64 intr = vmx_read(GUEST_INTERRUPTIBILITY_INFO);

	exit->exitstate.rflags = vmx_read(GUEST_RFLAGS);
	exit->exitstate.cr8 = cpudata->cr8;
	exit->exitstate.int_shadow =
		!!(intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
	if (cpudata->nmi_held)
		exit->exitstate.evt_pending = true;
}

/* The held NMI goes in once the injection field is free. */
static void vmx_event_held(struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	if (unlikely(cpudata->nmi_held) && !cpudata->x.evt_pending)
		vmx_inject_nmi(cpudata);
}

static const struct nvmm_x86_run_ops vmx_run_ops = {
	.load = vmx_vcpu_load,
	.put = vmx_vcpu_put,
	.state_get = vmx_state_get,
	.state_set = vmx_state_set,
	.event_deliver = vmx_event_deliver,
	.event_held = vmx_event_held,
	.entry_prepare = vmx_entry_prepare,
	.entry_ready = vmx_entry_ready,
	.guest_dr7 = vmx_guest_dr7,
	.guest_cr4 = vmx_guest_cr4_live,
	.enter_exit = vmx_vcpu_enter_exit,
	.exit_early = vmx_exit_early,
	.dr_intercept = vmx_dr_intercept,
	.dr6_switched = true,
	.exit = vmx_exit,
	.exitstate = vmx_exitstate,
};

static int vmx_vcpu_run(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	/* Back from userland: flush L1D before the next entry. */
	cpudata->l1d_flush = true;
	return nvmm_x86_vcpu_run(mach, vcpu, &vmx_run_ops);
}

static int vmx_vcpu_getstate(struct nvmm_cpu *vcpu)
{
	return nvmm_x86_vcpu_getstate(vcpu, &vmx_run_ops);
}

static int vmx_vcpu_configure(struct nvmm_cpu *vcpu, u64 op,
			      void __user *conf)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	struct nvmm_vcpu_conf_tpr tpr;

	switch (op) {
	case NVMM_VCPU_CONF_CPUID:
		return nvmm_x86_conf_cpuid(&cpudata->x.cpuid, conf);
	case NVMM_VCPU_CONF_TPR:
		if (copy_from_user(&tpr, conf, sizeof(tpr)))
			return -EFAULT;
		/* Reserved bits are ignored, as NetBSD does. */
		cpudata->tpr_exit_changed = tpr.exit_changed;
		return 0;
	default:
		return -EINVAL;
	}
}

/* -------------------------------------------------------------------------- */
/* VCPUs and machines. */

static void vmx_vmcs_init(struct vmx_cpudata *cpudata,
			  struct nvmm_machine *mach)
{
	u64 val;

	vmx_write(VMCS_LINK_POINTER, -1ULL);
	vmx_write(VIRTUAL_PROCESSOR_ID, cpudata->vpid);
	vmx_write(EPT_POINTER, mach->mmu.root_pa | VMX_EPTP_MT_WB |
		  ((nvmm_x86_vmx.pt_ops->levels == 5) ? VMX_EPTP_PWL_5 :
							VMX_EPTP_PWL_4));

	cpudata->procbased = vmx_feat.procbased;
	vmx_write(PIN_BASED_VM_EXEC_CONTROL, vmx_feat.pinbased);
	vmx_write(CPU_BASED_VM_EXEC_CONTROL, cpudata->procbased);
	vmx_write(SECONDARY_VM_EXEC_CONTROL, vmx_feat.procbased2);
	vmx_write(VM_EXIT_CONTROLS, vmx_feat.exit_ctls);
	vmx_write(VM_ENTRY_CONTROLS, vmx_feat.entry_ctls);
	if (vmx_feat.procbased2 & SECONDARY_EXEC_ENCLS_EXITING)
		vmx_write(ENCLS_EXITING_BITMAP, -1ULL);
	if (vmx_feat.procbased2 & SECONDARY_EXEC_PAUSE_LOOP_EXITING) {
		vmx_write(PLE_GAP, VMX_PLE_GAP);
		vmx_write(PLE_WINDOW, VMX_PLE_WINDOW);
		cpudata->ple_window = VMX_PLE_WINDOW;
	}
	vmx_write(EXCEPTION_BITMAP, VMX_EXCP_INTERCEPTS);
	vmx_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmx_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmx_write(CR3_TARGET_COUNT, 0);
	vmx_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmx_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmx_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmx_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmx_write(MSR_BITMAP, page_to_phys(vmx_msr_bitmap));
	vmx_write(CR0_GUEST_HOST_MASK, vmx_crs.cr0_mask);
	vmx_write(CR4_GUEST_HOST_MASK, vmx_crs.cr4_mask);

	vmx_write(GUEST_IA32_DEBUGCTL, 0);
	vmx_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmx_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmx_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);

	/* Host state that is the same on every CPU. */
	vmx_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmx_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmx_write(HOST_DS_SELECTOR, 0);
	vmx_write(HOST_ES_SELECTOR, 0);
	vmx_write(HOST_FS_SELECTOR, 0);
	vmx_write(HOST_GS_SELECTOR, 0);
	vmx_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	rdmsrl(MSR_IA32_SYSENTER_CS, val);
	vmx_write(HOST_IA32_SYSENTER_CS, val);
	rdmsrl(MSR_IA32_SYSENTER_EIP, val);
	vmx_write(HOST_IA32_SYSENTER_EIP, val);
	rdmsrl(MSR_IA32_CR_PAT, val);
	vmx_write(HOST_IA32_PAT, val);
	rdmsrl(MSR_EFER, val);
	vmx_write(HOST_IA32_EFER, val);
	vmx_write(HOST_RIP, (unsigned long)nvmm_vmx_exit);
	/* The rest: per CPU, or when it changes (cached as unknown). */
	cpudata->host_rsp = 0;
	cpudata->host_cr3 = 0;
	cpudata->host_cr4 = 0;
	cpudata->host_fs_base = ~0ULL;
	vmx_write(HOST_FS_BASE, 0);
	vmx_host_percpu(smp_processor_id());
}

static int vmx_vcpu_create(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata;
	int ret, vpid;

	/* nvmm_x86_cpu() finds the shared part at the start. */
	BUILD_BUG_ON(offsetof(struct vmx_cpudata, x) != 0);
	cpudata = kvzalloc(sizeof(*cpudata), GFP_KERNEL_ACCOUNT);
	if (!cpudata)
		return -ENOMEM;
	cpudata->cpu = -1;
	INIT_LIST_HEAD(&cpudata->loaded_link);
	cpudata->vcpu = vcpu;
	cpudata->mach = mach;

	/* Up to 32768 VCPUs exist at once: VPIDs do not run out. */
	vpid = ida_alloc_range(&vmx_vpids, 1, VMX_NR_VPIDS - 1, GFP_KERNEL);
	if (vpid < 0) {
		ret = vpid == -ENOSPC ? -ENOBUFS : vpid;
		goto fail_free;
	}
	cpudata->vpid = vpid;
	cpudata->vmcs_page = nvmm_alloc_page();
	if (!cpudata->vmcs_page) {
		ret = -ENOMEM;
		goto fail_vpid;
	}
	*(u32 *)page_address(cpudata->vmcs_page) =
		VMX_BASIC_REVISION(vmx_feat.basic);
	cpudata->vmcs_pa = page_to_phys(cpudata->vmcs_page);
	ret = nvmm_x86_fpu_alloc(&cpudata->x.gfpu);
	if (ret)
		goto fail_vmcs;
	vcpu->cpudata = cpudata;

	vmx_vcpu_load(vcpu);
	preempt_disable();
	vmx_vmcs_init(cpudata, mach);
	preempt_enable();
	/* The state of a CPU after RESET, through the usual checks. */
	memcpy(&vcpu->comm->state, &nvmm_x86_reset_state,
	       sizeof(nvmm_x86_reset_state));
	ret = nvmm_x86_state_commit(vcpu, NVMM_X64_STATE_ALL, &vmx_run_ops);
	memset(&vcpu->comm->state, 0, sizeof(vcpu->comm->state));
	vmx_vcpu_put(vcpu);
	if (ret) {
		vmx_vmcs_clear(cpudata);
		nvmm_x86_fpu_free(&cpudata->x.gfpu);
		goto fail_vmcs;
	}
	return 0;

fail_vmcs:
	vcpu->cpudata = NULL;
	nvmm_free_page(cpudata->vmcs_page);
fail_vpid:
	ida_free(&vmx_vpids, cpudata->vpid);
fail_free:
	kvfree(cpudata);
	return ret;
}

static void vmx_vcpu_destroy(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	/* Not active anywhere any more: the CPU will not write it back. */
	vmx_vmcs_clear(cpudata);
	nvmm_x86_fpu_free(&cpudata->x.gfpu);
	nvmm_free_page(cpudata->vmcs_page);
	ida_free(&vmx_vpids, cpudata->vpid);
	kvfree(cpudata);
	vcpu->cpudata = NULL;
}

static int vmx_machine_create(struct nvmm_machine *mach)
{
	return 0;
}

static void vmx_machine_destroy(struct nvmm_machine *mach)
{
}

/* EPT entries: R/W/X, write-back whatever the guest's PAT says. */
static u64 vmx_ept_leaf(u64 pa, u32 prot)
{
	u64 pte = pa | VMX_EPT_READABLE_MASK | VMX_EPT_IPAT_BIT |
		  (MTRR_TYPE_WRBACK << VMX_EPT_MT_EPTE_SHIFT);

	if (prot & NVMM_PROT_WRITE)
		pte |= VMX_EPT_WRITABLE_MASK;
	if (prot & NVMM_PROT_EXEC)
		pte |= VMX_EPT_EXECUTABLE_MASK;
	return pte;
}

/* EPT walks: 5 levels when the host has them and EPT can. */
static struct nvmm_pt_ops vmx_pt_ops = {
	.levels = 4,
	.leaf = vmx_ept_leaf,
	.table = VMX_EPT_RWX_MASK,
	.present = VMX_EPT_RWX_MASK,
};

/* -------------------------------------------------------------------------- */
/* Module and CPUs. */

static bool vmx_firmware_allows(void)
{
	u64 fc;

	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &fc))
		return false;
	return (fc & FEAT_CTL_LOCKED) &&
	       (fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
}

/* A VMCS control word and what we need of it. */
struct vmx_ctl {
	const char *name;
	u32 msr, true_msr;	/* capability MSRs (true_msr 0: none) */
	u32 want;		/* needed, set in every VMCS */
	u32 toggled;		/* needed, set and cleared as we go */
	u32 opt;		/* set when the CPU allows it */
	u32 deny;		/* must be clearable */
	u32 *out;
};

/*
 * The control words from the capability MSRs (allowed 0-settings in the
 * low half, allowed 1-settings in the high half; the TRUE MSRs when the
 * CPU has them, which let default-1 controls be cleared). Prints why on
 * refusal.
 */
static int vmx_probe_ctls(void)
{
	static const struct vmx_ctl ctls[] = {
		{ "pin-based", MSR_IA32_VMX_PINBASED_CTLS,
		  MSR_IA32_VMX_TRUE_PINBASED_CTLS,
		  PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
		  PIN_BASED_VIRTUAL_NMIS, 0, 0,
		  PIN_BASED_VMX_PREEMPTION_TIMER | PIN_BASED_POSTED_INTR,
		  &vmx_feat.pinbased },
		{ "processor-based", MSR_IA32_VMX_PROCBASED_CTLS,
		  MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
		  CPU_BASED_HLT_EXITING | CPU_BASED_USE_TSC_OFFSETTING |
		  CPU_BASED_MWAIT_EXITING | CPU_BASED_RDPMC_EXITING |
		  CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |
		  CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCOND_IO_EXITING |
		  CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MONITOR_EXITING |
		  CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
		  CPU_BASED_INTR_WINDOW_EXITING |
		  CPU_BASED_NMI_WINDOW_EXITING, 0,
		  CPU_BASED_INVLPG_EXITING | CPU_BASED_RDTSC_EXITING |
		  CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
		  CPU_BASED_TPR_SHADOW | CPU_BASED_MONITOR_TRAP_FLAG |
		  CPU_BASED_USE_IO_BITMAPS |
		  CPU_BASED_ACTIVATE_TERTIARY_CONTROLS,
		  &vmx_feat.procbased },
		{ "secondary", MSR_IA32_VMX_PROCBASED_CTLS2, 0,
		  SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID |
		  SECONDARY_EXEC_UNRESTRICTED_GUEST |
		  SECONDARY_EXEC_WBINVD_EXITING, 0,
		  SECONDARY_EXEC_ENABLE_INVPCID | SECONDARY_EXEC_ENCLS_EXITING |
		  SECONDARY_EXEC_PAUSE_LOOP_EXITING,
		  0, &vmx_feat.procbased2 },
		{ "VM-exit", MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS,
		  VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_HOST_ADDR_SPACE_SIZE |
		  VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |
		  VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER, 0, 0,
		  VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL |
		  VM_EXIT_SAVE_VMX_PREEMPTION_TIMER | VM_EXIT_CLEAR_BNDCFGS |
		  VM_EXIT_CLEAR_IA32_RTIT_CTL | VM_EXIT_PT_CONCEAL_PIP,
		  &vmx_feat.exit_ctls },
		{ "VM-entry", MSR_IA32_VMX_ENTRY_CTLS,
		  MSR_IA32_VMX_TRUE_ENTRY_CTLS,
		  VM_ENTRY_LOAD_DEBUG_CONTROLS | VM_ENTRY_LOAD_IA32_PAT |
		  VM_ENTRY_LOAD_IA32_EFER, VM_ENTRY_IA32E_MODE, 0,
		  VM_ENTRY_SMM | VM_ENTRY_DEACT_DUAL_MONITOR |
		  VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL | VM_ENTRY_LOAD_BNDCFGS |
		  VM_ENTRY_PT_CONCEAL_PIP | VM_ENTRY_LOAD_IA32_RTIT_CTL,
		  &vmx_feat.entry_ctls },
	};
	bool tru = vmx_feat.basic & VMX_BASIC_TRUE_CTLS;
	const struct vmx_ctl *c;
	u32 must, may;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ctls); i++) {
		c = &ctls[i];
		rdmsr(tru && c->true_msr ? c->true_msr : c->msr, must, may);
		if ((c->want | c->toggled) & ~may) {
			pr_err("cannot load: the CPU's VMX %s controls lack %#x (allowed %#x)\n",
			       c->name, (c->want | c->toggled) & ~may, may);
			return -ENODEV;
		}
		if (must & (c->deny | c->toggled)) {
			pr_err("cannot load: the CPU's VMX %s controls force %#x on\n",
			       c->name, must & (c->deny | c->toggled));
			return -ENODEV;
		}
		*c->out = must | c->want | (c->opt & may);
	}
	return 0;
}

static bool vmx_ident(void)
{
	return boot_cpu_data.x86_vendor == X86_VENDOR_INTEL ||
	       boot_cpu_data.x86_vendor == X86_VENDOR_CENTAUR ||
	       boot_cpu_data.x86_vendor == X86_VENDOR_ZHAOXIN;
}

static int vmx_probe(void)
{
	u64 fixed0, fixed1;
	int ret;

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
	ret = vmx_probe_ctls();
	if (ret)
		return ret;
	/*
	 * PAUSE exits only by pause-loop exiting, where the CPU has it: a
	 * spinning guest then yields to the VCPU it waits for. Without it no
	 * PAUSE exits, as on SVM without the pause filter and under KVM: an
	 * exit per PAUSE would make each delay loop a string of round trips,
	 * and host interrupts and stop requests end a guest's run anyway.
	 */
	rdmsr(MSR_IA32_VMX_EPT_VPID_CAP, vmx_feat.ept, vmx_feat.vpid);
	if ((vmx_feat.ept & VMX_EPT_NEEDED) != VMX_EPT_NEEDED ||
	    !(vmx_feat.ept & VMX_EPT_INVEPT_ANY) ||
	    !(vmx_feat.vpid & VMX_VPID_INVVPID_BIT) ||
	    !(vmx_feat.vpid & VMX_VPID_INVVPID_ANY)) {
		pr_err("cannot load: EPT or VPID lacks a needed capability (EPT %#x, VPID %#x)\n",
		       vmx_feat.ept, vmx_feat.vpid);
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_MISC, vmx_feat.misc);
	if (!(vmx_feat.misc & VMX_MISC_SAVE_EFER_LMA)) {
		pr_err("cannot load: VM exits do not save EFER.LMA (VMX_MISC %#llx)\n",
		       vmx_feat.misc);
		return -ENODEV;
	}

	/* Fixed CR bits; unrestricted guests may clear PE and PG. */
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, fixed1);
	vmx_crs.cr0_force1 = fixed0 & ~(u64)(X86_CR0_PE | X86_CR0_PG);
	vmx_crs.cr0_force0 = (~fixed1 & 0xFFFFFFFFULL) | VMX_CR0_HOST_OFF;
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, fixed1);
	vmx_crs.cr4_force1 = fixed0;
	vmx_crs.cr4_force0 = ~fixed1 & 0xFFFFFFFFULL;

	vmx_feat.ept_flush = (vmx_feat.ept & VMX_EPT_EXTENT_CONTEXT_BIT) ?
			     VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
	vmx_feat.vpid_flush =
		(vmx_feat.vpid & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT) ?
		VMX_VPID_EXTENT_SINGLE_CONTEXT : VMX_VPID_EXTENT_ALL_CONTEXT;
	vmx_has_zero_len_inject = vmx_feat.misc & VMX_MISC_ZERO_LEN_INS;
	vmx_has_ins_outs_info = vmx_feat.basic & VMX_BASIC_INOUT;
	vmx_has_invpcid = vmx_feat.procbased2 & SECONDARY_EXEC_ENABLE_INVPCID;
	vmx_has_ple = vmx_feat.procbased2 & SECONDARY_EXEC_PAUSE_LOOP_EXITING;
	return 0;
}

static void vmx_fini(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_pcpu *pcpu = per_cpu_ptr(&vmx_pcpu, cpu);

		nvmm_free_page(pcpu->vmxon);
		pcpu->vmxon = NULL;
	}
	if (vmx_msr_bitmap) {
		__free_page(vmx_msr_bitmap);
		preempt_notifier_dec();
	}
	vmx_msr_bitmap = NULL;
}

/* Let the guest read (and write, if write) msr without an exit. */
static void vmx_msr_allow(u8 *bitmap, u32 msr, bool write)
{
	u32 base = msr >= 0xC0000000 ? 0x400 : 0, bit = msr & 0x1FFF;

	bitmap[base + bit / 8] &= ~BIT(bit % 8);
	if (write)
		bitmap[0x800 + base + bit / 8] &= ~BIT(bit % 8);
}

static int vmx_init(void)
{
	int cpu, ret;
	u8 *bitmap;

	ret = nvmm_x86_init();
	if (ret)
		return ret;
	if (pgtable_l5_enabled() && (vmx_feat.ept & VMX_EPT_PAGE_WALK_5_BIT))
		vmx_pt_ops.levels = 5;
	vmx_crs.cr0_mask = vmx_crs.cr0_force1 | vmx_crs.cr0_force0;
	vmx_crs.cr4_mask = (~nvmm_x86_cr4_valid | vmx_crs.cr4_force1 |
			vmx_crs.cr4_force0) & 0xFFFFFFFFULL;
	vmx_crs.cr4_mask |= ~0xFFFFFFFFULL;

	for_each_possible_cpu(cpu) {
		struct vmx_pcpu *pcpu = per_cpu_ptr(&vmx_pcpu, cpu);
		struct page *page = nvmm_alloc_page();

		INIT_LIST_HEAD(&pcpu->loaded);
		if (!page) {
			vmx_fini();
			return -ENOMEM;
		}
		*(u32 *)page_address(page) = VMX_BASIC_REVISION(vmx_feat.basic);
		pcpu->vmxon = page;
	}

	/*
	 * Every MSR access exits but those of state the VMCS switches and of
	 * the syscall MSRs we switch (writes to those exit: they are rare).
	 */
	vmx_msr_bitmap = alloc_page(GFP_KERNEL);
	if (!vmx_msr_bitmap) {
		vmx_fini();
		return -ENOMEM;
	}
	bitmap = page_address(vmx_msr_bitmap);
	memset(bitmap, 0xFF, PAGE_SIZE);
	vmx_msr_allow(bitmap, MSR_FS_BASE, true);
	vmx_msr_allow(bitmap, MSR_GS_BASE, true);
	vmx_msr_allow(bitmap, MSR_IA32_SYSENTER_CS, true);
	vmx_msr_allow(bitmap, MSR_IA32_SYSENTER_ESP, true);
	vmx_msr_allow(bitmap, MSR_IA32_SYSENTER_EIP, true);
	vmx_msr_allow(bitmap, MSR_KERNEL_GS_BASE, false);
	vmx_msr_allow(bitmap, MSR_STAR, false);
	vmx_msr_allow(bitmap, MSR_LSTAR, false);
	vmx_msr_allow(bitmap, MSR_CSTAR, false);
	vmx_msr_allow(bitmap, MSR_SYSCALL_MASK, false);
	preempt_notifier_inc();

	/* L1TF: flush L1D before entries, where the kernel asks for it. */
	vmx_feat.l1d_flush = boot_cpu_has_bug(X86_BUG_L1TF) &&
			     boot_cpu_has(X86_FEATURE_FLUSH_L1D) &&
			     l1tf_vmx_mitigation != VMENTER_L1D_FLUSH_NEVER &&
			     l1tf_vmx_mitigation != VMENTER_L1D_FLUSH_NOT_REQUIRED;

	pr_info("VMX: VMCS revision %#x%s, %u-level EPT, VPID%s%s\n",
		VMX_BASIC_REVISION(vmx_feat.basic),
		(vmx_feat.basic & VMX_BASIC_TRUE_CTLS) ? ", TRUE controls" : "",
		vmx_pt_ops.levels,
		vmx_has_zero_len_inject ? ", zero-length injection" : "",
		vmx_feat.l1d_flush ? ", L1D flush on entry" : "");
	if (boot_cpu_has_bug(X86_BUG_L1TF) &&
	    !boot_cpu_has(X86_FEATURE_FLUSH_L1D))
		pr_info("VMX: L1TF: the CPU has no L1D flush command; L1D is not flushed before guest entries\n");
	return 0;
}

static int vmx_cpu_enable(void)
{
	struct vmx_pcpu *pcpu = this_cpu_ptr(&vmx_pcpu);
	u64 pa = page_to_phys(pcpu->vmxon);

	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;	/* another hypervisor is in VMX operation */
	if (!vmx_firmware_allows())
		return -EIO;

	cr4_set_bits(X86_CR4_VMXE);
	asm goto("1: vmxon %[pa]\n\t"
		 "jna %l[fault]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [pa] "m" (pa) : "cc", "memory" : fault);
	pcpu->on = true;
	pcpu->current_vmcs = NULL;
	/*
	 * Translations of who used VMX here before are not ours to use (our
	 * VCPUs also flush their own on their first entry on a CPU).
	 */
	if (vmx_feat.ept & VMX_EPT_EXTENT_GLOBAL_BIT)
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (vmx_feat.vpid & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT)
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
	return 0;

fault:
	cr4_clear_bits(X86_CR4_VMXE);
	return -EIO;
}

/* IRQs off: nothing active here may be written back after VMXOFF. */
static void vmx_cpu_disable(void)
{
	struct vmx_pcpu *pcpu = this_cpu_ptr(&vmx_pcpu);
	struct vmx_cpudata *cpudata, *tmp;

	list_for_each_entry_safe(cpudata, tmp, &pcpu->loaded, loaded_link)
		vmx_vmcs_clear_local(cpudata);
	pcpu->current_vmcs = NULL;
	pcpu->on = false;
	asm goto("1: vmxoff\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : : "cc", "memory" : fault);
fault:
	cr4_clear_bits(X86_CR4_VMXE);
}

static void vmx_capability(struct nvmm_capability *cap)
{
	nvmm_x86_capability(cap);
	cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID |
				      NVMM_CAP_ARCH_VCPU_CONF_TPR;
}

const struct nvmm_impl nvmm_x86_vmx = {
	.name = "x86-vmx",
	.hw = "VMX",
	.ident = vmx_ident,
	.probe = vmx_probe,
	.init = vmx_init,
	.fini = vmx_fini,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.capability = vmx_capability,
	.stats = nvmm_x86_stats,
	.pt_ops = &vmx_pt_ops,
	.machine_create = vmx_machine_create,
	.machine_destroy = vmx_machine_destroy,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_configure = vmx_vcpu_configure,
	.vcpu_getstate = vmx_vcpu_getstate,
	.vcpu_run = vmx_vcpu_run,
};
