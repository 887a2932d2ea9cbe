// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM backend: SVM on every CPU, the VMCB of each VCPU, ASIDs and
 * TLBs, and the hooks of the shared run path (run.h) with the world switch.
 * State and events are in svm_state.c, exits in svm_exit.c; the VMX
 * backend has the same files.
 *
 * Uses NRIPS, DecodeAssists, FlushByASID and VMCB clean bits when the CPU
 * has them, and works without any of them (emulated CPUs lack them all):
 * without NRIPS, intercepted instructions are skipped by their fixed length.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/hw_breakpoint.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <asm/traps.h>
#include <asm/virtext.h>

#include "run.h"
#include "svm.h"

struct svm_features svm_feat;

struct svm_pcpu {
	struct page *hsave;	/* VM_HSAVE_PA */
	struct page *hostsave;	/* host state saved by VMSAVE */
	u64 hostsave_pa;
	u64 asid_gen;		/* bumped when this CPU runs out of ASIDs */
	u32 asid_next;
	u64 last_vcpu;		/* unique id of the VCPU that ran last */
};

static DEFINE_PER_CPU(struct svm_pcpu, svm_pcpu);

/* Shared, read-only to the CPU: intercept every port and most MSRs. */
static struct page *svm_iopm;
static struct page *svm_msrpm;
static atomic64_t svm_vcpu_ids;

/* -------------------------------------------------------------------------- */
/* Interrupt and NMI windows. */

void svm_int_window(struct svm_cpudata *cpudata, bool on)
{
	struct vmcb *vmcb = cpudata->vmcb;

	/* A virtual interrupt nobody takes: it exits when one could be. */
	svm_intercept(vmcb, INTERCEPT_VINTR, on);
	if (on)
		vmcb->control.int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK;
	else
		vmcb->control.int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK);
	vmcb->control.clean &= ~VMCB_CLEAN_TPR;
	cpudata->x.int_window_exit = on;
}

void svm_nmi_window(struct svm_cpudata *cpudata, bool on)
{
	/* NMIs are blocked until the handler's IRET, which we watch for. */
	svm_intercept(cpudata->vmcb, INTERCEPT_IRET, on);
	cpudata->x.nmi_window_exit = on;
}

/* -------------------------------------------------------------------------- */
/* ASIDs and TLBs. */

/*
 * Each CPU hands out its ASIDs in generations; a VCPU keeps its ASID while
 * it stays on the CPU in the same generation. When a CPU runs out, a new
 * generation starts with a flush of every ASID.
 */
static void svm_asid_new(struct svm_cpudata *cpudata, struct svm_pcpu *pcpu,
			 int cpu)
{
	struct vmcb *vmcb = cpudata->vmcb;

	if (pcpu->asid_next >= svm_feat.nasid) {
		pcpu->asid_gen++;
		pcpu->asid_next = 1;
		vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	cpudata->asid = pcpu->asid_next++;
	cpudata->asid_gen = pcpu->asid_gen;
	cpudata->last_cpu = cpu;
	vmcb->control.asid = cpudata->asid;
	vmcb->control.clean &= ~VMCB_CLEAN_ASID;
}

static void svm_tlb_prepare(struct nvmm_machine *mach,
			    struct svm_cpudata *cpudata, struct svm_pcpu *pcpu,
			    int cpu)
{
	u64 gen = atomic64_read(&mach->mmu.tlb_gen);
	bool flush = cpudata->tlb_flush || cpudata->tlb_gen != gen;

	cpudata->tlb_gen = gen;
	cpudata->tlb_flush = false;
	if (cpudata->last_cpu != cpu || cpudata->asid_gen != pcpu->asid_gen) {
		/* A fresh ASID holds no translation of this generation. */
		svm_asid_new(cpudata, pcpu, cpu);
	} else if (flush) {
		if (svm_has(FLUSH_BY_ASID))
			cpudata->vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ASID;
		else
			svm_asid_new(cpudata, pcpu, cpu);
	}
}

/* -------------------------------------------------------------------------- */
/* The world switch. */

/* GIF: clear, no interrupt, NMI or SMI reaches the host. */
static __always_inline void svm_clgi(void)
{
	asm volatile("clgi" : : : "memory");
}

static __always_inline void svm_stgi(void)
{
	asm volatile("stgi" : : : "memory");
}

/* No instrumentation while RCU and lockdep think we are in the guest. */
static noinstr void svm_enter_exit(struct svm_cpudata *cpudata,
				   u64 hostsave_pa)
{
	guest_state_enter_irqoff();
	/*
	 * IF=1 lets physical interrupts stop the guest; GIF=0 keeps them
	 * from the host until STGI. Not STI right before VMRUN: its shadow
	 * would leak into the guest's state on an exit during VMRUN.
	 */
	raw_local_irq_enable();
	amd_clear_divider();
	nvmm_svm_vmrun(cpudata->vmcb_pa, cpudata->x.gprs, hostsave_pa);
	raw_local_irq_disable();
	guest_state_exit_irqoff();
}

/*
 * A VMRUN that refuses the guest state ends in a #VMEXIT with VMEXIT_INVALID
 * (APM vol. 2, 15.5.1). What that #VMEXIT writes in the VMCB's state save
 * area is not the guest's: QEMU's SVM puts its own RIP there, Bochs' the
 * host's RIP in this module, and its RSP, CR3 and GDT could follow. The VMM
 * must read back the state it set, never the host's: the VMCB fields a
 * #VMEXIT writes are copied before each VMRUN of state the VMM set, and put
 * back on a refusal. Only such state can be refused (the guest's own
 * instructions cannot give the CPU a state it refuses, nor can a commit of
 * the general registers alone, as the assists make), so other runs copy
 * nothing; should another refusal come, the state is cleared instead.
 */
static void svm_entry_prepare_refusal(struct svm_cpudata *cpudata)
{
	struct vmcb *vmcb = cpudata->vmcb;

	cpudata->before_vmrun.save = vmcb->save;
	cpudata->before_vmrun.int_ctl = vmcb->control.int_ctl;
	cpudata->before_vmrun.int_state = vmcb->control.int_state;
	cpudata->before_vmrun.event_inj = vmcb->control.event_inj;
	cpudata->before_vmrun.event_inj_err = vmcb->control.event_inj_err;
}

void svm_entry_refused(struct svm_cpudata *cpudata)
{
	struct vmcb *vmcb = cpudata->vmcb;

	if (cpudata->unchecked) {
		vmcb->save = cpudata->before_vmrun.save;
		vmcb->control.int_ctl = cpudata->before_vmrun.int_ctl;
		vmcb->control.int_state = cpudata->before_vmrun.int_state;
		vmcb->control.event_inj = cpudata->before_vmrun.event_inj;
		vmcb->control.event_inj_err =
			cpudata->before_vmrun.event_inj_err;
	} else {
		memset(&vmcb->save, 0, sizeof(vmcb->save));
		vmcb->control.event_inj = 0;
		cpudata->x.evt_pending = false;
	}
	vmcb->control.exit_int_info = 0;
	vmcb->control.clean = 0;
}

bool svm_xsetbv_exits;

/*
 * IRQs off, in guest mode: the VMCB's clean bits and ASID for this CPU.
 * A VMRUN of state the VMM set may refuse it: keep what it overwrites.
 */
static bool svm_entry_ready(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	struct svm_pcpu *pcpu = this_cpu_ptr(&svm_pcpu);
	int cpu = smp_processor_id();

	if (cpudata->last_cpu != cpu || pcpu->last_vcpu != cpudata->id) {
		/* Another VMCB ran here: nothing cached is valid. */
		vmcb->control.clean = 0;
		if (pcpu->last_vcpu != cpudata->id) {
			indirect_branch_prediction_barrier();
			pcpu->last_vcpu = cpudata->id;
		}
	}
	svm_tlb_prepare(mach, cpudata, pcpu, cpu);
	if (!svm_has(VMCB_CLEAN))
		vmcb->control.clean = 0;

	if (unlikely(cpudata->unchecked))
		svm_entry_prepare_refusal(cpudata);
	return true;
}

static u64 svm_guest_dr7(struct nvmm_cpu *vcpu)
{
	return ((struct svm_cpudata *)vcpu->cpudata)->vmcb->save.dr7;
}

/* CR4 writes are not intercepted: the VMCB has the guest's CR4 of now. */
static u64 svm_guest_cr4(struct nvmm_cpu *vcpu)
{
	return ((struct svm_cpudata *)vcpu->cpudata)->vmcb->save.cr4;
}

/* GIF stays clear until the host's registers are back. */
static void svm_switch_begin(struct nvmm_cpu *vcpu)
{
	svm_clgi();
}

static void svm_switch_end(struct nvmm_cpu *vcpu)
{
	struct vmcb *vmcb = ((struct svm_cpudata *)vcpu->cpudata)->vmcb;

	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vmcb->control.clean = VMCB_CLEAN_ALL;
	svm_stgi();
}

static void svm_vcpu_enter_exit(struct nvmm_cpu *vcpu)
{
	svm_enter_exit(vcpu->cpudata, this_cpu_read(svm_pcpu.hostsave_pa));
}

/*
 * XSETBV is intercepted, so XCR0 is still what we loaded; but where the
 * CPU ignores that intercept (QEMU's SVM before 8.2), the guest's XSETBV
 * reached XCR0 itself: take it as the guest's value (CPUID leaf 0xD sizes
 * follow it), and the run path gives the host its own back. Looked at
 * while the guest can run XSETBV (CR4.OSXSAVE) and no XSETBV exit has
 * shown the intercept to work.
 */
static void svm_exit_early(struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	u64 now;

	if (!nvmm_x86_host_xcr0 || READ_ONCE(svm_xsetbv_exits) ||
	    !(cpudata->vmcb->save.cr4 & X86_CR4_OSXSAVE))
		return;
	now = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (unlikely(now != cpudata->x.xcr0))
		cpudata->x.xcr0 = now;
}

static void svm_dr_intercept(struct nvmm_cpu *vcpu)
{
	svm_dr_intercepts(((struct svm_cpudata *)vcpu->cpudata)->vmcb, true);
}

static void svm_exitstate(struct nvmm_cpu *vcpu, struct nvmm_vcpu_exit *exit)
{
	struct vmcb *vmcb = ((struct svm_cpudata *)vcpu->cpudata)->vmcb;

	exit->exitstate.rflags = vmcb->save.rflags;
	exit->exitstate.cr8 = vmcb->control.int_ctl & V_TPR_MASK;
	exit->exitstate.int_shadow =
		!!(vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK);
}

static const struct nvmm_x86_run_ops svm_run_ops = {
	.state_get = svm_state_get,
	.state_set = svm_state_set,
	.event_deliver = svm_event_deliver,
	.entry_ready = svm_entry_ready,
	.guest_dr7 = svm_guest_dr7,
	.guest_cr4 = svm_guest_cr4,
	.switch_begin = svm_switch_begin,
	.switch_end = svm_switch_end,
	.enter_exit = svm_vcpu_enter_exit,
	.exit_early = svm_exit_early,
	.dr_intercept = svm_dr_intercept,
	.exit = svm_exit,
	.exitstate = svm_exitstate,
};

static int svm_vcpu_run(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	return nvmm_x86_vcpu_run(mach, vcpu, &svm_run_ops);
}

static int svm_vcpu_getstate(struct nvmm_cpu *vcpu)
{
	return nvmm_x86_vcpu_getstate(vcpu, &svm_run_ops);
}

static int svm_vcpu_configure(struct nvmm_cpu *vcpu, u64 op,
			      void __user *conf)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;

	switch (op) {
	case NVMM_VCPU_CONF_CPUID:
		return nvmm_x86_conf_cpuid(&cpudata->x.cpuid, conf);
	default:
		return -EINVAL;
	}
}

/* -------------------------------------------------------------------------- */
/* VCPUs and machines. */

static void svm_vmcb_init(struct svm_cpudata *cpudata,
			  struct nvmm_machine *mach)
{
	struct vmcb *vmcb = cpudata->vmcb;
	struct vmcb_control_area *ctl = &vmcb->control;
	unsigned int i;
	static const unsigned int intercepts[] = {
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_RDPMC,
		INTERCEPT_CPUID, INTERCEPT_INVD, INTERCEPT_HLT,
		INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT,
		INTERCEPT_SHUTDOWN, INTERCEPT_VMRUN, INTERCEPT_VMMCALL,
		INTERCEPT_VMLOAD, INTERCEPT_VMSAVE, INTERCEPT_STGI,
		INTERCEPT_CLGI, INTERCEPT_SKINIT, INTERCEPT_RDTSCP,
		INTERCEPT_WBINVD, INTERCEPT_MONITOR, INTERCEPT_MWAIT,
		INTERCEPT_MWAIT_COND, INTERCEPT_XSETBV, INTERCEPT_RDPRU,
		INTERCEPT_PAUSE,
	};

	memset(vmcb, 0, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		svm_intercept(vmcb, intercepts[i], true);
	ctl->intercepts[INTERCEPT_EXCEPTION] = SVM_EXCP_INTERCEPTS;
	svm_dr_intercepts(vmcb, true);

	ctl->iopm_base_pa = page_to_phys(svm_iopm);
	ctl->msrpm_base_pa = page_to_phys(svm_msrpm);
	ctl->int_ctl = V_INTR_MASKING_MASK;
	ctl->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	ctl->nested_cr3 = mach->mmu.root_pa;
	/*
	 * A guest spinning on PAUSE (a lock, a delay) exits once in a while:
	 * the host takes its interrupts and stop requests there, whatever
	 * the guest's IF. Only with the pause filter: without it every PAUSE
	 * would exit, and under QEMU 7.2's TCG (which has no filter) that
	 * broke its nested guests' boots (README).
	 */
	if (svm_has(PAUSE_FILTER))
		ctl->pause_filter_count = SVM_PAUSE_FILTER;
	else
		svm_intercept(vmcb, INTERCEPT_PAUSE, false);
	if (svm_has(PAUSE_THRESH))
		ctl->pause_filter_thresh = SVM_PAUSE_THRESH;
	ctl->clean = 0;

	cpudata->last_cpu = -1;
	cpudata->asid_gen = 0;
}

static int svm_vcpu_create(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata;
	int ret;

	/* nvmm_x86_cpu() finds the shared part at the start. */
	BUILD_BUG_ON(offsetof(struct svm_cpudata, x) != 0);
	cpudata = kvzalloc(sizeof(*cpudata), GFP_KERNEL_ACCOUNT);
	if (!cpudata)
		return -ENOMEM;
	cpudata->vmcb_page = nvmm_alloc_page();
	if (!cpudata->vmcb_page) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = nvmm_x86_fpu_alloc(&cpudata->x.gfpu);
	if (ret)
		goto fail;
	cpudata->vmcb = page_address(cpudata->vmcb_page);
	cpudata->vmcb_pa = page_to_phys(cpudata->vmcb_page);
	cpudata->id = atomic64_inc_return(&svm_vcpu_ids);
	vcpu->cpudata = cpudata;

	svm_vmcb_init(cpudata, mach);
	/* The state of a CPU after RESET, through the usual checks. */
	memcpy(&vcpu->comm->state, &nvmm_x86_reset_state,
	       sizeof(nvmm_x86_reset_state));
	ret = nvmm_x86_state_commit(vcpu, NVMM_X64_STATE_ALL, &svm_run_ops);
	memset(&vcpu->comm->state, 0, sizeof(vcpu->comm->state));
	if (ret) {
		nvmm_x86_fpu_free(&cpudata->x.gfpu);
		goto fail;
	}
	return 0;

fail:
	vcpu->cpudata = NULL;
	nvmm_free_page(cpudata->vmcb_page);
	kvfree(cpudata);
	return ret;
}

static void svm_vcpu_destroy(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;

	nvmm_x86_fpu_free(&cpudata->x.gfpu);
	nvmm_free_page(cpudata->vmcb_page);
	kvfree(cpudata);
	vcpu->cpudata = NULL;
}

static int svm_machine_create(struct nvmm_machine *mach)
{
	return 0;
}

static void svm_machine_destroy(struct nvmm_machine *mach)
{
}

/* NPT entries have the format of long-mode page tables; all are "user". */
static u64 svm_npt_leaf(u64 pa, u32 prot)
{
	u64 pte = pa | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;

	if (prot & NVMM_PROT_WRITE)
		pte |= _PAGE_RW | _PAGE_DIRTY;
	if (!(prot & NVMM_PROT_EXEC))
		pte |= _PAGE_NX;
	return pte;
}

/* NPT walks take the host's paging mode: 5 levels under LA57. */
static struct nvmm_pt_ops svm_pt_ops = {
	.levels = 4,
	.leaf = svm_npt_leaf,
	.table = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED,
	.present = _PAGE_PRESENT,
};

/* -------------------------------------------------------------------------- */
/* Module and CPUs. */

static bool svm_ident(void)
{
	return boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	       boot_cpu_data.x86_vendor == X86_VENDOR_HYGON;
}

static int svm_probe(void)
{
	u32 eax, ebx, ecx, edx;
	u64 vmcr;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("cannot load: the CPU has no SVM (AMD-V), or the firmware hides it\n");
		return -ENODEV;
	}
	if (!rdmsrl_safe(MSR_VM_CR, &vmcr) && (vmcr & SVM_VM_CR_SVM_DIS_MASK)) {
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
	if (!boot_cpu_has(X86_FEATURE_NX)) {
		pr_err("cannot load: the CPU has no NX\n");
		return -ENODEV;
	}
	svm_feat.edx = edx;
	svm_feat.nasid = ebx;
	return 0;
}

/* Intercept neither read nor write of msr in the MSR permission map. */
static void svm_msrpm_allow(u8 *msrpm, u32 msr)
{
	u32 base, off;

	if (msr < 0x2000)
		base = 0;
	else if (msr >= 0xC0000000 && msr < 0xC0002000)
		base = 0x800;
	else
		base = 0x1000;
	off = (msr & 0x1FFF) * 2;
	msrpm[base + off / 8] &= ~(3 << (off % 8));
}

static void svm_fini(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_pcpu *pcpu = per_cpu_ptr(&svm_pcpu, cpu);

		nvmm_free_page(pcpu->hsave);
		nvmm_free_page(pcpu->hostsave);
		pcpu->hsave = NULL;
		pcpu->hostsave = NULL;
	}
	if (svm_iopm)
		__free_pages(svm_iopm, SVM_IOPM_ORDER);
	if (svm_msrpm)
		__free_pages(svm_msrpm, get_order(SVM_MSRPM_PAGES * PAGE_SIZE));
	svm_iopm = NULL;
	svm_msrpm = NULL;
}

static int svm_init(void)
{
	static const u32 passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,
		MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS,
		MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	};
	unsigned int i;
	int cpu, ret;

	ret = nvmm_x86_init();
	if (ret)
		return ret;
	svm_pt_ops.levels = pgtable_l5_enabled() ? 5 : 4;

	/* VMLOAD and VMSAVE hold these: the guest may use them freely. */
	svm_iopm = alloc_pages(GFP_KERNEL, SVM_IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL,
				get_order(SVM_MSRPM_PAGES * PAGE_SIZE));
	if (!svm_iopm || !svm_msrpm)
		goto nomem;
	memset(page_address(svm_iopm), 0xFF, PAGE_SIZE << SVM_IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xFF, SVM_MSRPM_PAGES * PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(passthrough); i++)
		svm_msrpm_allow(page_address(svm_msrpm), passthrough[i]);

	for_each_possible_cpu(cpu) {
		struct svm_pcpu *pcpu = per_cpu_ptr(&svm_pcpu, cpu);

		pcpu->hsave = nvmm_alloc_page();
		pcpu->hostsave = nvmm_alloc_page();
		if (!pcpu->hsave || !pcpu->hostsave)
			goto nomem;
		pcpu->hostsave_pa = page_to_phys(pcpu->hostsave);
		pcpu->asid_gen = 1;
		pcpu->asid_next = 1;
		pcpu->last_vcpu = 0;
	}
	pr_info("SVM: %u ASIDs%s%s%s%s%s\n", svm_feat.nasid,
		svm_has(NRIPS) ? ", NRIPS" : "",
		svm_has(FLUSH_BY_ASID) ? ", FlushByASID" : "",
		svm_has(DECODE_ASSISTS) ? ", DecodeAssists" : "",
		svm_has(PAUSE_FILTER) ? ", PauseFilter" : "",
		svm_has(VMCB_CLEAN) ? ", VMCB clean bits" : "");
	return 0;

nomem:
	svm_fini();
	return -ENOMEM;
}

static int svm_cpu_enable(void)
{
	struct svm_pcpu *pcpu = this_cpu_ptr(&svm_pcpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;	/* another hypervisor is using SVM here */
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(pcpu->hsave));
	/*
	 * The TLB may hold translations of whoever used SVM here before us
	 * (kvm_amd, an earlier load of this module) under the ASIDs we hand
	 * out. Every VCPU takes a new ASID, and the first one handed out
	 * starts a generation with a flush of all ASIDs.
	 */
	pcpu->asid_gen++;
	pcpu->asid_next = svm_feat.nasid;
	pcpu->last_vcpu = 0;
	return 0;
}

static void svm_cpu_disable(void)
{
	/* Sets GIF, clears VM_HSAVE_PA and EFER.SVME. */
	cpu_svm_disable();
}

static void svm_capability(struct nvmm_capability *cap)
{
	nvmm_x86_capability(cap);
	cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID;
}

const struct nvmm_impl nvmm_x86_svm = {
	.name = "x86-svm",
	.hw = "SVM",
	.ident = svm_ident,
	.probe = svm_probe,
	.init = svm_init,
	.fini = svm_fini,
	.cpu_enable = svm_cpu_enable,
	.cpu_disable = svm_cpu_disable,
	.capability = svm_capability,
	.stats = nvmm_x86_stats,
	.pt_ops = &svm_pt_ops,
	.machine_create = svm_machine_create,
	.machine_destroy = svm_machine_destroy,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_configure = svm_vcpu_configure,
	.vcpu_getstate = svm_vcpu_getstate,
	.vcpu_run = svm_vcpu_run,
};
