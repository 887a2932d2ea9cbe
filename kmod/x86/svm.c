// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM backend.
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
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <asm/traps.h>
#include <asm/virtext.h>

#include "x86.h"

/* CPUID 0x8000000A EDX. */
#define SVM_FEAT_NP		BIT(0)
#define SVM_FEAT_NRIPS		BIT(3)
#define SVM_FEAT_VMCB_CLEAN	BIT(5)
#define SVM_FEAT_FLUSH_BY_ASID	BIT(6)
#define SVM_FEAT_DECODE_ASSISTS	BIT(7)
#define SVM_FEAT_PAUSE_FILTER	BIT(10)
#define SVM_FEAT_PAUSE_THRESH	BIT(12)

/* VMCB clean bits. */
#define VMCB_CLEAN_I		BIT(0)	/* intercepts, TSC offset, pause */
#define VMCB_CLEAN_IOPM		BIT(1)
#define VMCB_CLEAN_ASID		BIT(2)
#define VMCB_CLEAN_TPR		BIT(3)	/* V_TPR, V_IRQ... */
#define VMCB_CLEAN_NP		BIT(4)	/* nested CR3, gPAT */
#define VMCB_CLEAN_CR		BIT(5)	/* CR0, CR3, CR4, EFER */
#define VMCB_CLEAN_DR		BIT(6)	/* DR6, DR7 */
#define VMCB_CLEAN_DT		BIT(7)	/* GDTR, IDTR */
#define VMCB_CLEAN_SEG		BIT(8)	/* CS, DS, ES, SS, CPL */
#define VMCB_CLEAN_CR2		BIT(9)
#define VMCB_CLEAN_LBR		BIT(10)
#define VMCB_CLEAN_AVIC		BIT(11)
#define VMCB_CLEAN_ALL		0xFFF

/* NPF error code (EXITINFO1). */
#define SVM_NPF_WRITE		BIT_ULL(1)
#define SVM_NPF_FETCH		BIT_ULL(4)

#define SVM_EXIT_IO_SEG_SHIFT	10
#define SVM_EXIT_IO_A16		BIT(7)
#define SVM_EXIT_IO_A32		BIT(8)
#define SVM_EXIT_IO_A64		BIT(9)
#define SVM_EXIT_IO_SZ8		BIT(4)
#define SVM_EXIT_IO_SZ16	BIT(5)
#define SVM_EXIT_IO_SZ32	BIT(6)

/* MSRs guests read at boot that mean nothing to them here. */
#define SVM_MSR_IC_CFG		0xC0011021
#define SVM_MSR_INT_PENDING	0xC0010055

#define SVM_MSRPM_PAGES		2
#define SVM_IOPM_ORDER		2	/* 12 KiB used, 16 KiB allocated */

/* Exceptions we look at: #DB, #AC (both can loop in microcode), #MC. */
#define SVM_EXCP_INTERCEPTS	(BIT(DB_VECTOR) | BIT(AC_VECTOR) | BIT(MC_VECTOR))

struct svm_features {
	u32 edx;		/* CPUID 0x8000000A EDX */
	u32 nasid;		/* ASIDs, including the host's ASID 0 */
};

static struct svm_features svm_feat;

#define svm_has(f)	(svm_feat.edx & SVM_FEAT_##f)

/* PAUSEs before an exit, and the cycles between two that count (KVM's). */
#define SVM_PAUSE_FILTER	3000
#define SVM_PAUSE_THRESH	128

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

struct svm_cpudata {
	struct page *vmcb_page;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u64 id;			/* unique, for the IBPB on VCPU switches */

	/* Guest registers not in the VMCB (RAX, RSP, RIP, RFLAGS are). */
	u64 gprs[NVMM_X64_NGPR];
	u64 drs[4];		/* DR0-3 */
	u64 xcr0;
	u64 tsc_offset;
	u32 pkru;
	bool dr_live;		/* DR accesses not intercepted: DR0-3 in hw */

	/* Where the VMCB ran last and with which ASID. */
	int last_cpu;
	u32 asid;
	u64 asid_gen;
	u64 tlb_gen;		/* machine's tlb_gen at the last flush */
	bool tlb_flush;		/* guest paging changed under the guest */

	/* Events and windows. */
	bool int_window_exit;
	bool nmi_window_exit;
	bool nmi_singlestep;	/* IRET of the NMI handler single-stepped */
	bool evt_pending;	/* EVENTINJ holds an event */
	bool evt_held;		/* held_ev waits for EVENTINJ to be free */
	struct nvmm_vcpu_event held_ev;
	unsigned int reinject_runs;

	struct nvmm_x86_cpuid_conf cpuid;
	struct fpu_guest gfpu;
	struct nvmm_x64_state scratch;	/* a copy of committed state */

	/*
	 * The state the VMM set (or an event it injected) has not been
	 * through a VMRUN yet: a copy is taken before each VMRUN, for a
	 * VMRUN that refuses it (svm_entry_refused()).
	 */
	bool unchecked;
	struct {
		struct vmcb_save_area save;
		u32 int_ctl;
		u32 int_state;
		u32 event_inj;
		u32 event_inj_err;
	} before_vmrun;
};

/* -------------------------------------------------------------------------- */
/* Intercepts and VMCB helpers. */

static void svm_intercept(struct vmcb *vmcb, unsigned int bit, bool on)
{
	if (on)
		vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
	else
		vmcb->control.intercepts[bit / 32] &= ~BIT(bit % 32);
	vmcb->control.clean &= ~VMCB_CLEAN_I;
}

static void svm_dr_intercepts(struct vmcb *vmcb, bool on)
{
	vmcb->control.intercepts[INTERCEPT_DR] = on ? 0xFFFFFFFF : 0;
	vmcb->control.clean &= ~VMCB_CLEAN_I;
}

static u16 svm_attrib_to_vmcb(const struct nvmm_x64_state_seg *seg)
{
	return seg->attrib.type | (seg->attrib.s << 4) |
	       (seg->attrib.dpl << 5) | (seg->attrib.p << 7) |
	       (seg->attrib.avl << 8) | (seg->attrib.l << 9) |
	       (seg->attrib.def << 10) | (seg->attrib.g << 11);
}

static void svm_attrib_from_vmcb(struct nvmm_x64_state_seg *seg, u16 a)
{
	seg->attrib.type = a & 0xF;
	seg->attrib.s = (a >> 4) & 1;
	seg->attrib.dpl = (a >> 5) & 3;
	seg->attrib.p = (a >> 7) & 1;
	seg->attrib.avl = (a >> 8) & 1;
	seg->attrib.l = (a >> 9) & 1;
	seg->attrib.def = (a >> 10) & 1;
	seg->attrib.g = (a >> 11) & 1;
	seg->attrib.rsvd = 0;
}

static struct vmcb_seg *svm_seg(struct vmcb *vmcb, unsigned int idx)
{
	switch (idx) {
	case NVMM_X64_SEG_ES:	return &vmcb->save.es;
	case NVMM_X64_SEG_CS:	return &vmcb->save.cs;
	case NVMM_X64_SEG_SS:	return &vmcb->save.ss;
	case NVMM_X64_SEG_DS:	return &vmcb->save.ds;
	case NVMM_X64_SEG_FS:	return &vmcb->save.fs;
	case NVMM_X64_SEG_GS:	return &vmcb->save.gs;
	case NVMM_X64_SEG_GDT:	return &vmcb->save.gdtr;
	case NVMM_X64_SEG_IDT:	return &vmcb->save.idtr;
	case NVMM_X64_SEG_LDT:	return &vmcb->save.ldtr;
	default:		return &vmcb->save.tr;
	}
}

/* The guest's CPL, which VMRUN takes from the VMCB. */
static void svm_update_cpl(struct vmcb *vmcb)
{
	if (!(vmcb->save.cr0 & X86_CR0_PE))
		vmcb->save.cpl = 0;
	else if (vmcb->save.rflags & X86_EFLAGS_VM)
		vmcb->save.cpl = 3;
	else
		vmcb->save.cpl = (vmcb->save.ss.attrib >> 5) & 3;
}

/* -------------------------------------------------------------------------- */
/* State: VMCB and cpudata <-> struct nvmm_x64_state. */

static void svm_state_get(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
			  u64 flags)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	unsigned int i;

	if (flags & NVMM_X64_STATE_SEGS) {
		for (i = 0; i < NVMM_X64_NSEG; i++) {
			const struct vmcb_seg *s = svm_seg(vmcb, i);

			st->segs[i].selector = s->selector;
			svm_attrib_from_vmcb(&st->segs[i], s->attrib);
			st->segs[i].limit = s->limit;
			st->segs[i].base = s->base;
		}
	}
	if (flags & NVMM_X64_STATE_GPRS) {
		memcpy(st->gprs, cpudata->gprs, sizeof(st->gprs));
		st->gprs[NVMM_X64_GPR_RAX] = vmcb->save.rax;
		st->gprs[NVMM_X64_GPR_RSP] = vmcb->save.rsp;
		st->gprs[NVMM_X64_GPR_RIP] = vmcb->save.rip;
		st->gprs[NVMM_X64_GPR_RFLAGS] = vmcb->save.rflags;
	}
	if (flags & NVMM_X64_STATE_CRS) {
		st->crs[NVMM_X64_CR_CR0] = vmcb->save.cr0;
		st->crs[NVMM_X64_CR_CR2] = vmcb->save.cr2;
		st->crs[NVMM_X64_CR_CR3] = vmcb->save.cr3;
		st->crs[NVMM_X64_CR_CR4] = vmcb->save.cr4;
		st->crs[NVMM_X64_CR_CR8] = vmcb->control.int_ctl & V_TPR_MASK;
		st->crs[NVMM_X64_CR_XCR0] = cpudata->xcr0;
	}
	if (flags & NVMM_X64_STATE_DRS) {
		st->drs[NVMM_X64_DR_DR0] = cpudata->drs[0];
		st->drs[NVMM_X64_DR_DR1] = cpudata->drs[1];
		st->drs[NVMM_X64_DR_DR2] = cpudata->drs[2];
		st->drs[NVMM_X64_DR_DR3] = cpudata->drs[3];
		st->drs[NVMM_X64_DR_DR6] = vmcb->save.dr6;
		st->drs[NVMM_X64_DR_DR7] = vmcb->save.dr7;
	}
	if (flags & NVMM_X64_STATE_MSRS) {
		st->msrs[NVMM_X64_MSR_EFER] = vmcb->save.efer & ~EFER_SVME;
		st->msrs[NVMM_X64_MSR_STAR] = vmcb->save.star;
		st->msrs[NVMM_X64_MSR_LSTAR] = vmcb->save.lstar;
		st->msrs[NVMM_X64_MSR_CSTAR] = vmcb->save.cstar;
		st->msrs[NVMM_X64_MSR_SFMASK] = vmcb->save.sfmask;
		st->msrs[NVMM_X64_MSR_KERNELGSBASE] = vmcb->save.kernel_gs_base;
		st->msrs[NVMM_X64_MSR_SYSENTER_CS] = vmcb->save.sysenter_cs;
		st->msrs[NVMM_X64_MSR_SYSENTER_ESP] = vmcb->save.sysenter_esp;
		st->msrs[NVMM_X64_MSR_SYSENTER_EIP] = vmcb->save.sysenter_eip;
		st->msrs[NVMM_X64_MSR_PAT] = vmcb->save.g_pat;
		st->msrs[NVMM_X64_MSR_TSC] = rdtsc() + cpudata->tsc_offset;
	}
	if (flags & NVMM_X64_STATE_INTR) {
		st->intr.int_shadow =
			!!(vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK);
		st->intr.int_window_exiting = cpudata->int_window_exit;
		st->intr.nmi_window_exiting = cpudata->nmi_window_exit;
		st->intr.evt_pending = cpudata->evt_pending ||
				       cpudata->evt_held;
		st->intr.rsvd = 0;
	}
}

static void svm_int_window(struct svm_cpudata *cpudata, bool on)
{
	struct vmcb *vmcb = cpudata->vmcb;

	/* A virtual interrupt nobody takes: it exits when one could be. */
	svm_intercept(vmcb, INTERCEPT_VINTR, on);
	if (on)
		vmcb->control.int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK;
	else
		vmcb->control.int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK);
	vmcb->control.clean &= ~VMCB_CLEAN_TPR;
	cpudata->int_window_exit = on;
}

static void svm_nmi_window(struct svm_cpudata *cpudata, bool on)
{
	/* NMIs are blocked until the handler's IRET, which we watch for. */
	svm_intercept(cpudata->vmcb, INTERCEPT_IRET, on);
	cpudata->nmi_window_exit = on;
}

/* Load committed state from the comm page. Nothing changes on failure. */
static int svm_state_set(struct nvmm_cpu *vcpu, u64 flags)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct nvmm_x64_state *st = &cpudata->scratch;
	struct vmcb *vmcb = cpudata->vmcb;
	unsigned int i;
	int ret;

	nvmm_x86_state_copy(st, &vcpu->comm->state, flags);
	ret = nvmm_x86_state_prepare(vcpu, st, flags);
	if (ret)
		return ret;
	if (flags & NVMM_X64_STATE_FPU) {
		ret = nvmm_x86_fpu_set(&cpudata->gfpu, &st->fpu,
				       nvmm_x86_xcr0_mask);
		if (ret)
			return ret;
	}

	if (flags & NVMM_X64_STATE_SEGS) {
		for (i = 0; i < NVMM_X64_NSEG; i++) {
			struct vmcb_seg *s = svm_seg(vmcb, i);

			s->selector = st->segs[i].selector;
			s->attrib = svm_attrib_to_vmcb(&st->segs[i]);
			s->limit = st->segs[i].limit;
			s->base = st->segs[i].base;
		}
		vmcb->control.clean &= ~(VMCB_CLEAN_SEG | VMCB_CLEAN_DT);
	}
	if (flags & NVMM_X64_STATE_GPRS) {
		memcpy(cpudata->gprs, st->gprs, sizeof(cpudata->gprs));
		vmcb->save.rax = st->gprs[NVMM_X64_GPR_RAX];
		vmcb->save.rsp = st->gprs[NVMM_X64_GPR_RSP];
		vmcb->save.rip = st->gprs[NVMM_X64_GPR_RIP];
		vmcb->save.rflags = nvmm_x86_rflags(st->gprs[NVMM_X64_GPR_RFLAGS]);
	}
	if (flags & NVMM_X64_STATE_CRS) {
		vmcb->save.cr0 = st->crs[NVMM_X64_CR_CR0];
		vmcb->save.cr2 = st->crs[NVMM_X64_CR_CR2];
		vmcb->save.cr3 = st->crs[NVMM_X64_CR_CR3];
		vmcb->save.cr4 = st->crs[NVMM_X64_CR_CR4];
		vmcb->control.int_ctl &= ~V_TPR_MASK;
		vmcb->control.int_ctl |= st->crs[NVMM_X64_CR_CR8] & V_TPR_MASK;
		cpudata->xcr0 = st->crs[NVMM_X64_CR_XCR0];
		cpudata->tlb_flush = true;
		vmcb->control.clean &= ~(VMCB_CLEAN_CR | VMCB_CLEAN_CR2 |
					 VMCB_CLEAN_TPR);
	}
	if (flags & NVMM_X64_STATE_DRS) {
		cpudata->drs[0] = st->drs[NVMM_X64_DR_DR0];
		cpudata->drs[1] = st->drs[NVMM_X64_DR_DR1];
		cpudata->drs[2] = st->drs[NVMM_X64_DR_DR2];
		cpudata->drs[3] = st->drs[NVMM_X64_DR_DR3];
		vmcb->save.dr6 = st->drs[NVMM_X64_DR_DR6] | DR6_RESERVED;
		vmcb->save.dr7 = st->drs[NVMM_X64_DR_DR7] | DR7_FIXED_1;
		vmcb->control.clean &= ~VMCB_CLEAN_DR;
	}
	if (flags & NVMM_X64_STATE_MSRS) {
		vmcb->save.efer = st->msrs[NVMM_X64_MSR_EFER] | EFER_SVME;
		vmcb->save.star = st->msrs[NVMM_X64_MSR_STAR];
		vmcb->save.lstar = st->msrs[NVMM_X64_MSR_LSTAR];
		vmcb->save.cstar = st->msrs[NVMM_X64_MSR_CSTAR];
		vmcb->save.sfmask = st->msrs[NVMM_X64_MSR_SFMASK];
		vmcb->save.kernel_gs_base = st->msrs[NVMM_X64_MSR_KERNELGSBASE];
		vmcb->save.sysenter_cs = st->msrs[NVMM_X64_MSR_SYSENTER_CS];
		vmcb->save.sysenter_esp = st->msrs[NVMM_X64_MSR_SYSENTER_ESP];
		vmcb->save.sysenter_eip = st->msrs[NVMM_X64_MSR_SYSENTER_EIP];
		vmcb->save.g_pat = st->msrs[NVMM_X64_MSR_PAT];
		cpudata->tsc_offset = nvmm_x86_tsc_offset(vcpu->mach,
					st->msrs[NVMM_X64_MSR_TSC]);
		vmcb->control.tsc_offset = cpudata->tsc_offset;
		cpudata->tlb_flush = true;
		vmcb->control.clean &= ~(VMCB_CLEAN_CR | VMCB_CLEAN_NP |
					 VMCB_CLEAN_I);
	}
	if (flags & NVMM_X64_STATE_INTR) {
		if (st->intr.int_shadow)
			vmcb->control.int_state |= SVM_INTERRUPT_SHADOW_MASK;
		else
			vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
		if (st->intr.int_window_exiting != cpudata->int_window_exit)
			svm_int_window(cpudata, st->intr.int_window_exiting);
		if (st->intr.nmi_window_exiting != cpudata->nmi_window_exit)
			svm_nmi_window(cpudata, st->intr.nmi_window_exiting);
	}
	if (flags & (NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS |
		     NVMM_X64_STATE_GPRS))
		svm_update_cpl(vmcb);
	/* RAX, RSP, RIP and RFLAGS (sanitized) cannot fail a VMRUN. */
	if (flags & (NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS |
		     NVMM_X64_STATE_DRS | NVMM_X64_STATE_MSRS |
		     NVMM_X64_STATE_INTR))
		cpudata->unchecked = true;
	return 0;
}

/* Groups provided on an exit are valid in the comm page until the run. */
static void svm_state_provide(struct nvmm_cpu *vcpu, u64 flags)
{
	struct nvmm_comm_page *comm = vcpu->comm;

	svm_state_get(vcpu, &comm->state, flags);
	comm->state_cached |= flags;
}

static int svm_vcpu_getstate(struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct nvmm_comm_page *comm = vcpu->comm;
	u64 wanted = READ_ONCE(comm->state_wanted);
	int ret;

	/* Groups this version does not know are ignored, as on NetBSD. */
	wanted &= NVMM_X64_STATE_ALL;
	svm_state_get(vcpu, &comm->state, wanted);
	if (wanted & NVMM_X64_STATE_FPU) {
		ret = nvmm_x86_fpu_get(&cpudata->gfpu, &comm->state.fpu);
		if (ret)
			return ret;
	}
	comm->state_wanted = 0;
	comm->state_cached |= wanted;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Events. */

static void svm_event_inject(struct svm_cpudata *cpudata, u32 type,
			     u8 vector, bool has_err, u32 err)
{
	struct vmcb *vmcb = cpudata->vmcb;

	vmcb->control.event_inj = vector | type | SVM_EVTINJ_VALID |
				  (has_err ? SVM_EVTINJ_VALID_ERR : 0);
	vmcb->control.event_inj_err = err;
	cpudata->evt_pending = true;
}

static void svm_inject_excp(struct svm_cpudata *cpudata, u8 vector, u32 err)
{
	if (nvmm_x86_excp_sets_rf(vector))
		cpudata->vmcb->save.rflags |= X86_EFLAGS_RF;
	svm_event_inject(cpudata, SVM_EVTINJ_TYPE_EXEPT, vector,
			 nvmm_x86_excp_has_error(vector), err);
}

/* The event userland committed in the comm page. */
/* Put a checked event in EVENTINJ, which is free. */
static void svm_event_deliver(struct svm_cpudata *cpudata,
			      const struct nvmm_vcpu_event *ev)
{
	if (ev->type == NVMM_VCPU_EVENT_EXCP) {
		svm_inject_excp(cpudata, ev->vector, (u32)ev->u.excp.error);
	} else if (ev->vector == NMI_VECTOR) {
		svm_event_inject(cpudata, SVM_EVTINJ_TYPE_NMI, NMI_VECTOR,
				 false, 0);
		/* Blocked until the handler's IRET: tell when. */
		svm_nmi_window(cpudata, true);
	} else {
		svm_event_inject(cpudata, SVM_EVTINJ_TYPE_INTR, ev->vector,
				 false, 0);
	}
}

/*
 * The committed event. While the delivery of another is still pending, it
 * is held, and delivered once that one is (NetBSD overwrites the pending
 * one instead, which the guest then never gets).
 */
static int svm_vcpu_inject(struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct nvmm_vcpu_event ev;

	memcpy(&ev, &vcpu->comm->event, sizeof(ev));
	if (nvmm_x86_event_check(&ev))
		return -EINVAL;
	if (cpudata->evt_pending) {
		cpudata->held_ev = ev;
		cpudata->evt_held = true;
		return 0;
	}
	svm_event_deliver(cpudata, &ev);
	cpudata->unchecked = true;
	return 0;
}

/*
 * An event whose delivery the exit interrupted goes back in EVENTINJ.
 * Software interrupts and INT3/INTO are not re-injected: RIP still points
 * at the instruction, which the guest executes again.
 */
static void svm_event_reinject(struct svm_cpudata *cpudata)
{
	struct vmcb *vmcb = cpudata->vmcb;
	u32 info = vmcb->control.exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;

	cpudata->evt_pending = false;
	vmcb->control.event_inj = 0;
	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	if (type == SVM_EVTINJ_TYPE_SOFT ||
	    (type == SVM_EVTINJ_TYPE_EXEPT &&
	     (vector == BP_VECTOR || vector == OF_VECTOR)))
		return;
	vmcb->control.event_inj = info;
	vmcb->control.event_inj_err = vmcb->control.exit_int_info_err;
	cpudata->evt_pending = true;
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

void nvmm_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 hostsave_pa);

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
	nvmm_svm_vmrun(cpudata->vmcb_pa, cpudata->gprs, hostsave_pa);
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

static void svm_entry_refused(struct svm_cpudata *cpudata)
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
		cpudata->evt_pending = false;
	}
	vmcb->control.exit_int_info = 0;
	vmcb->control.clean = 0;
}

/* An XSETBV exit was seen: the CPU honours the intercept. */
static bool svm_xsetbv_exits;

/*
 * Enter the guest once. Returns true if it ran (the exit is in the VMCB),
 * or false with the reason to return to userland in *reason.
 */
static bool svm_vcpu_enter(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
			   u64 *reason)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	bool guest_dr = cpudata->dr_live || (vmcb->save.dr7 & DR7_BP_EN_MASK);
	bool guest_xcr0, guest_pkru;
	struct svm_pcpu *pcpu;
	int cpu;

	local_irq_disable();
	if (nvmm_x86_enter_check(vcpu, cpudata->evt_pending,
				 &cpudata->reinject_runs, reason)) {
		local_irq_enable();
		return false;
	}
	nvmm_vcpu_fpu_load();

	/*
	 * The reboot notifier turns SVM off on every CPU by IPI: with IRQs off
	 * here, this CPU keeps it at least until we enable them again.
	 */
	if (unlikely(READ_ONCE(nvmm_rebooting))) {
		nvmm_vcpu_leave(vcpu);
		local_irq_enable();
		*reason = NVMM_VCPU_EXIT_NONE;
		return false;
	}

	cpu = smp_processor_id();
	pcpu = this_cpu_ptr(&svm_pcpu);
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

	guest_timing_enter_irqoff();
	svm_clgi();

	/*
	 * CR4 writes are not intercepted: the guest may turn OSXSAVE on at
	 * any time and must then find its own XCR0, whatever CR4 is now.
	 */
	guest_xcr0 = nvmm_x86_host_xcr0 && cpudata->xcr0 != nvmm_x86_host_xcr0;
	if (guest_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, cpudata->xcr0);
	guest_pkru = boot_cpu_has(X86_FEATURE_OSPKE) &&
		     (vmcb->save.cr4 & X86_CR4_PKE);
	if (guest_pkru)
		write_pkru(cpudata->pkru);
	if (guest_dr) {
		if (hw_breakpoint_active())
			set_debugreg(0, 7);
		set_debugreg(cpudata->drs[0], 0);
		set_debugreg(cpudata->drs[1], 1);
		set_debugreg(cpudata->drs[2], 2);
		set_debugreg(cpudata->drs[3], 3);
	}

	svm_enter_exit(cpudata, pcpu->hostsave_pa);
	nvmm_count(NVMM_COUNT_ENTRIES);

	if (cpudata->dr_live) {
		/* The guest touched DR0-3 freely: take them, watch again. */
		get_debugreg(cpudata->drs[0], 0);
		get_debugreg(cpudata->drs[1], 1);
		get_debugreg(cpudata->drs[2], 2);
		get_debugreg(cpudata->drs[3], 3);
		cpudata->dr_live = false;
		svm_dr_intercepts(vmcb, true);
	}
	if (guest_dr && hw_breakpoint_active())
		hw_breakpoint_restore();
	if (guest_pkru || (boot_cpu_has(X86_FEATURE_OSPKE) &&
			   (vmcb->save.cr4 & X86_CR4_PKE))) {
		cpudata->pkru = rdpkru();
		if (cpudata->pkru != current->thread.pkru)
			write_pkru(current->thread.pkru);
	}
	/*
	 * XSETBV is intercepted, so XCR0 is still what we loaded; but where
	 * the CPU ignores that intercept (QEMU's SVM before 8.2), the guest's
	 * XSETBV reached XCR0 itself: take it as the guest's value (CPUID
	 * leaf 0xD sizes follow it), and give the host its own back. Looked
	 * at while the guest can run XSETBV (CR4.OSXSAVE) and no XSETBV exit
	 * has shown the intercept to work.
	 */
	if (nvmm_x86_host_xcr0 && !READ_ONCE(svm_xsetbv_exits) &&
	    (vmcb->save.cr4 & X86_CR4_OSXSAVE)) {
		u64 now = xgetbv(XCR_XFEATURE_ENABLED_MASK);

		if (unlikely(now != (guest_xcr0 ? cpudata->xcr0 :
				     nvmm_x86_host_xcr0))) {
			cpudata->xcr0 = now;
			guest_xcr0 = true;
		}
	}
	if (guest_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, nvmm_x86_host_xcr0);
	/* VMSCAPE: no guest-trained prediction for the VMM in userland. */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);

	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vmcb->control.clean = VMCB_CLEAN_ALL;
	nvmm_vcpu_leave(vcpu);

	svm_stgi();
	guest_timing_exit_irqoff();
	local_irq_enable();
	return true;
}

/* -------------------------------------------------------------------------- */
/* Exits handled here. */

/* npc after the instruction at the guest's RIP, wrapped to its code size. */
static u64 svm_npc_wrap(const struct vmcb *vmcb, u64 npc)
{
	if (likely(!nvmm_x86_npc_may_wrap(vmcb->save.rip, npc)))
		return npc;
	return nvmm_x86_npc_wrap(npc, (vmcb->save.efer & EFER_LMA) &&
				 (vmcb->save.cs.attrib & SVM_SELECTOR_L_MASK),
				 vmcb->save.cs.attrib & SVM_SELECTOR_DB_MASK);
}

/* The next RIP: NRIPS' if given, else that of an instruction of len. */
static u64 svm_npc(struct svm_cpudata *cpudata, unsigned int len)
{
	struct vmcb *vmcb = cpudata->vmcb;

	if (svm_has(NRIPS) && vmcb->control.next_rip)
		return svm_npc_wrap(vmcb, vmcb->control.next_rip);
	return svm_npc_wrap(vmcb, vmcb->save.rip + len);
}

/* Skip the intercepted instruction (len without NRIPS): shadows end. */
static void svm_skip(struct svm_cpudata *cpudata, unsigned int len)
{
	struct vmcb *vmcb = cpudata->vmcb;

	vmcb->save.rip = svm_npc(cpudata, len);
	vmcb->save.rflags &= ~X86_EFLAGS_RF;
	vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

static void svm_exit_cpuid(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
			   struct nvmm_vcpu_exit *exit)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	struct nvmm_x86_cpuid_ctx ctx = {
		.vcpu_id = vcpu->cpuid,
		.nvcpus = atomic_read(&mach->ncpus),
		.cr4 = vmcb->save.cr4,
		.xcr0 = cpudata->xcr0,
	};
	u32 regs[4];

	if (nvmm_x86_cpuid(&cpudata->cpuid, &ctx, (u32)vmcb->save.rax,
			   (u32)cpudata->gprs[NVMM_X64_GPR_RCX], regs)) {
		exit->reason = NVMM_VCPU_EXIT_CPUID;
		exit->u.insn.npc = svm_npc(cpudata, 2);
		svm_state_provide(vcpu, NVMM_X64_STATE_GPRS);
		return;
	}
	vmcb->save.rax = regs[0];
	cpudata->gprs[NVMM_X64_GPR_RBX] = regs[1];
	cpudata->gprs[NVMM_X64_GPR_RCX] = regs[2];
	cpudata->gprs[NVMM_X64_GPR_RDX] = regs[3];
	svm_skip(cpudata, 2);
	exit->reason = NVMM_VCPU_EXIT_NONE;
}

static void svm_exit_io(struct nvmm_cpu *vcpu, struct nvmm_vcpu_exit *exit)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	u64 info = vmcb->control.exit_info_1;
	static const s8 segs[8] = {
		NVMM_X64_SEG_ES, NVMM_X64_SEG_CS, NVMM_X64_SEG_SS,
		NVMM_X64_SEG_DS, NVMM_X64_SEG_FS, NVMM_X64_SEG_GS, -1, -1,
	};

	exit->reason = NVMM_VCPU_EXIT_IO;
	exit->u.io.in = info & SVM_IOIO_TYPE_MASK;
	exit->u.io.port = info >> 16;
	exit->u.io.seg = svm_has(DECODE_ASSISTS) ?
		segs[(info >> SVM_EXIT_IO_SEG_SHIFT) & 7] : -1;
	exit->u.io.address_size = (info & SVM_EXIT_IO_A64) ? 8 :
				  (info & SVM_EXIT_IO_A32) ? 4 : 2;
	exit->u.io.operand_size = (info & SVM_EXIT_IO_SZ32) ? 4 :
				  (info & SVM_EXIT_IO_SZ16) ? 2 : 1;
	exit->u.io.rep = !!(info & SVM_IOIO_REP_MASK);
	exit->u.io.str = !!(info & SVM_IOIO_STR_MASK);
	/* EXITINFO2 holds the next RIP for IOIO, with or without NRIPS. */
	exit->u.io.npc = svm_npc_wrap(vmcb, vmcb->control.exit_info_2);
	svm_state_provide(vcpu, NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
			  NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS);
}

static int svm_exit_npf(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
			struct nvmm_vcpu_exit *exit)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	u64 gpa = vmcb->control.exit_info_2;
	u64 code = vmcb->control.exit_info_1;
	u32 access;
	int ret;

	if (code & SVM_NPF_FETCH)
		access = NVMM_PROT_EXEC;
	else if (code & SVM_NPF_WRITE)
		access = NVMM_PROT_WRITE;
	else
		access = NVMM_PROT_READ;

	ret = nvmm_mmu_fault(mach, gpa, access);
	if (ret < 0)
		return ret;
	if (ret == NVMM_FAULT_MAPPED) {
		exit->reason = NVMM_VCPU_EXIT_NONE;
		return 0;
	}
	exit->reason = NVMM_VCPU_EXIT_MEMORY;
	exit->u.mem.prot = access;
	exit->u.mem.gpa = gpa;
	exit->u.mem.inst_len = 0;
	if (svm_has(DECODE_ASSISTS) && access != NVMM_PROT_EXEC) {
		exit->u.mem.inst_len = min_t(u8, vmcb->control.insn_len, 15);
		memcpy(exit->u.mem.inst_bytes, vmcb->control.insn_bytes,
		       sizeof(exit->u.mem.inst_bytes));
	}
	svm_state_provide(vcpu, NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
			  NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS);
	return 0;
}

/* AMD MSRs that guests read at boot and that mean nothing here. */
static bool svm_msr_ignored(u32 msr)
{
	switch (msr) {
	case MSR_AMD64_PATCH_LEVEL:
	case MSR_AMD64_DE_CFG:
	case SVM_MSR_IC_CFG:
	case SVM_MSR_INT_PENDING:
		return true;
	default:
		return false;
	}
}

/* MSRs the kernel owns; returns false for userland's. */
static bool svm_msr_inkernel(struct nvmm_cpu *vcpu, bool write, u32 msr,
			     u64 val)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	u64 out = 0;

	switch (msr) {
	case MSR_EFER:
		if (!write) {
			out = vmcb->save.efer & ~EFER_SVME;
			break;
		}
		if (val & ~nvmm_x86_efer_valid)
			goto gp;
		/* LME may not change while paging is on. */
		if ((vmcb->save.cr0 & X86_CR0_PG) &&
		    ((val ^ vmcb->save.efer) & EFER_LME))
			goto gp;
		val = (val & ~EFER_LMA) | (vmcb->save.efer & EFER_LMA);
		vmcb->save.efer = val | EFER_SVME;
		vmcb->control.clean &= ~VMCB_CLEAN_CR;
		cpudata->tlb_flush = true;
		goto done;
	case MSR_IA32_TSC:
		if (!write) {
			out = rdtsc() + cpudata->tsc_offset;
			break;
		}
		cpudata->tsc_offset = val - rdtsc();
		vmcb->control.tsc_offset = cpudata->tsc_offset;
		vmcb->control.clean &= ~VMCB_CLEAN_I;
		goto done;
	case MSR_IA32_CR_PAT:
		if (!write) {
			out = vmcb->save.g_pat;
			break;
		}
		if (!nvmm_x86_pat_valid(val))
			goto gp;
		vmcb->save.g_pat = val;
		vmcb->control.clean &= ~VMCB_CLEAN_NP;
		goto done;
	default:
		if (!svm_msr_ignored(msr))
			return false;
		if (write)
			goto done;
		break;
	}
	vmcb->save.rax = (u32)out;
	cpudata->gprs[NVMM_X64_GPR_RDX] = out >> 32;
done:
	svm_skip(cpudata, 2);
	return true;
gp:
	svm_inject_excp(cpudata, GP_VECTOR, 0);
	return true;
}

static void svm_exit_msr(struct nvmm_cpu *vcpu, struct nvmm_vcpu_exit *exit)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	bool write = vmcb->control.exit_info_1 == 1;
	u32 msr = (u32)cpudata->gprs[NVMM_X64_GPR_RCX];
	u64 val = ((u64)(u32)cpudata->gprs[NVMM_X64_GPR_RDX] << 32) |
		  (u32)vmcb->save.rax;

	if (svm_msr_inkernel(vcpu, write, msr, val)) {
		exit->reason = NVMM_VCPU_EXIT_NONE;
		return;
	}
	if (write) {
		exit->reason = NVMM_VCPU_EXIT_WRMSR;
		exit->u.wrmsr.msr = msr;
		exit->u.wrmsr.val = val;
		exit->u.wrmsr.npc = svm_npc(cpudata, 2);
	} else {
		exit->reason = NVMM_VCPU_EXIT_RDMSR;
		exit->u.rdmsr.msr = msr;
		exit->u.rdmsr.npc = svm_npc(cpudata, 2);
	}
	svm_state_provide(vcpu, NVMM_X64_STATE_GPRS);
}

static void svm_exit_xsetbv(struct svm_cpudata *cpudata)
{
	struct vmcb *vmcb = cpudata->vmcb;
	u64 val = ((u64)(u32)cpudata->gprs[NVMM_X64_GPR_RDX] << 32) |
		  (u32)vmcb->save.rax;
	int vector = nvmm_x86_xsetbv_check(vmcb->save.cr4,
					   (u32)cpudata->gprs[NVMM_X64_GPR_RCX],
					   vmcb->save.cpl, val);

	if (vector) {
		svm_inject_excp(cpudata, vector, 0);
		return;
	}
	if (!svm_xsetbv_exits)
		WRITE_ONCE(svm_xsetbv_exits, true);
	cpudata->xcr0 = val;
	svm_skip(cpudata, 3);
}

/*
 * The NMI handler's IRET: NMIs are unblocked once it completes. Step over
 * it (TF set before IRET traps right after it), then report the window.
 */
static void svm_exit_iret(struct svm_cpudata *cpudata)
{
	struct vmcb *vmcb = cpudata->vmcb;

	svm_intercept(vmcb, INTERCEPT_IRET, false);
	vmcb->save.rflags |= X86_EFLAGS_TF;
	cpudata->nmi_singlestep = true;
}

/* #DB: ours (the step over IRET), or the guest's. Returns true if ours. */
static bool svm_exit_db(struct svm_cpudata *cpudata)
{
	struct vmcb *vmcb = cpudata->vmcb;

	if (cpudata->nmi_singlestep) {
		cpudata->nmi_singlestep = false;
		cpudata->nmi_window_exit = false;
		/* Our step, not the guest's: hide it unless more happened. */
		if (!(vmcb->save.dr6 & (DR_TRAP0 | DR_TRAP1 | DR_TRAP2 |
					DR_TRAP3))) {
			vmcb->save.dr6 &= ~DR_STEP;
			vmcb->control.clean &= ~VMCB_CLEAN_DR;
			return true;
		}
		svm_inject_excp(cpudata, DB_VECTOR, 0);
		return true;
	}
	svm_inject_excp(cpudata, DB_VECTOR, 0);
	return false;
}

static void svm_exit_invalid(struct nvmm_vcpu_exit *exit, u64 code)
{
	exit->reason = NVMM_VCPU_EXIT_INVALID;
	exit->u.inv.hwcode = code;
}

/*
 * Handle the exit in the VMCB. Returns 1 if the run must return to
 * userland with *exit, 0 to enter the guest again, or -errno.
 */
static int svm_exit(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
		    struct nvmm_vcpu_exit *exit)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	u64 code = vmcb->control.exit_code;
	int ret;

	exit->reason = NVMM_VCPU_EXIT_NONE;
	if (unlikely(vmcb->control.exit_code == (u32)SVM_EXIT_ERR)) {
		svm_entry_refused(cpudata);
		svm_exit_invalid(exit, code);
		nvmm_count(NVMM_COUNT_EXITS_USER);
		return 1;
	}
	cpudata->unchecked = false;
	svm_event_reinject(cpudata);

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
		/* The host took it after STGI. */
		nvmm_count(NVMM_COUNT_EXIT_INTR);
		return 0;
	case SVM_EXIT_NPF:
		nvmm_count(NVMM_COUNT_EXIT_NPF);
		ret = svm_exit_npf(mach, vcpu, exit);
		if (ret)
			return ret;
		break;
	case SVM_EXIT_IOIO:
		nvmm_count(NVMM_COUNT_EXIT_IO);
		svm_exit_io(vcpu, exit);
		break;
	case SVM_EXIT_MSR:
		nvmm_count(NVMM_COUNT_EXIT_MSR);
		svm_exit_msr(vcpu, exit);
		break;
	case SVM_EXIT_CPUID:
		nvmm_count(NVMM_COUNT_EXIT_CPUID);
		svm_exit_cpuid(mach, vcpu, exit);
		break;
	case SVM_EXIT_HLT:
		if (cpudata->int_window_exit &&
		    (vmcb->save.rflags & X86_EFLAGS_IF))
			svm_int_window(cpudata, false);
		svm_skip(cpudata, 1);
		exit->reason = NVMM_VCPU_EXIT_HALTED;
		break;
	case SVM_EXIT_XSETBV:
		svm_exit_xsetbv(cpudata);
		break;
	case SVM_EXIT_VINTR:
		svm_int_window(cpudata, false);
		exit->reason = NVMM_VCPU_EXIT_INT_READY;
		break;
	case SVM_EXIT_IRET:
		svm_exit_iret(cpudata);
		break;
	case SVM_EXIT_EXCP_BASE + DB_VECTOR:
		if (svm_exit_db(cpudata))
			exit->reason = NVMM_VCPU_EXIT_NMI_READY;
		break;
	case SVM_EXIT_EXCP_BASE + AC_VECTOR:
		svm_inject_excp(cpudata, AC_VECTOR,
				(u32)vmcb->control.exit_info_1);
		break;
	case SVM_EXIT_EXCP_BASE + MC_VECTOR: {
		/* The host's machine check: let its handler see it. */
		struct pt_regs regs = { .cs = 3, .flags = X86_EFLAGS_IF };

		do_machine_check(&regs);
		break;
	}
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_WRITE_DR7:
		/* Let the guest use its DRs; run the instruction again. */
		svm_dr_intercepts(vmcb, false);
		cpudata->dr_live = true;
		break;
	case SVM_EXIT_MONITOR:
		exit->reason = NVMM_VCPU_EXIT_MONITOR;
		exit->u.insn.npc = svm_npc(cpudata, 3);
		break;
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND:
		exit->reason = NVMM_VCPU_EXIT_MWAIT;
		exit->u.insn.npc = svm_npc(cpudata, 3);
		break;
	case SVM_EXIT_INVD:
	case SVM_EXIT_WBINVD:
		/* The guest owns no cache: nothing to do. */
		svm_skip(cpudata, 2);
		break;
	case SVM_EXIT_RDPMC:
		svm_inject_excp(cpudata, GP_VECTOR, 0);
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_RDTSCP:
	case SVM_EXIT_RDPRU:
		svm_inject_excp(cpudata, UD_VECTOR, 0);
		break;
	case SVM_EXIT_SHUTDOWN:
		exit->reason = NVMM_VCPU_EXIT_SHUTDOWN;
		break;
	case SVM_EXIT_PAUSE:
		nvmm_count(NVMM_COUNT_EXIT_OTHER);
		svm_skip(cpudata, 2);
		nvmm_vcpu_on_spin(vcpu);
		break;
	default:
		svm_exit_invalid(exit, code);
		break;
	}
	if (exit->reason != NVMM_VCPU_EXIT_NONE)
		nvmm_count(NVMM_COUNT_EXITS_USER);
	return exit->reason != NVMM_VCPU_EXIT_NONE;
}

static void svm_exitstate(struct nvmm_cpu *vcpu, struct nvmm_vcpu_exit *exit)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;

	exit->exitstate.rflags = vmcb->save.rflags;
	exit->exitstate.cr8 = vmcb->control.int_ctl & V_TPR_MASK;
	exit->exitstate.int_shadow =
		!!(vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK);
	exit->exitstate.int_window_exiting = cpudata->int_window_exit;
	exit->exitstate.nmi_window_exiting = cpudata->nmi_window_exit;
	exit->exitstate.evt_pending = cpudata->evt_pending || cpudata->evt_held;
	exit->exitstate.rsvd = 0;
}

static int svm_vcpu_run(struct nvmm_machine *mach, struct nvmm_cpu *vcpu)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct nvmm_comm_page *comm = vcpu->comm;
	struct nvmm_vcpu_exit exit;
	u64 commit, reason;
	int ret;

	commit = READ_ONCE(comm->state_commit);
	if (commit) {
		ret = svm_state_set(vcpu, commit);
		if (ret)
			return ret;
		comm->state_commit = 0;
	}
	if (READ_ONCE(comm->event_commit)) {
		/* Consumed even when refused, as NetBSD does. */
		comm->event_commit = false;
		ret = svm_vcpu_inject(vcpu);
		if (ret)
			return ret;
	}
	comm->state_cached = 0;

	memset(&exit, 0, sizeof(exit));
	ret = fpu_swap_kvm_fpstate(&cpudata->gfpu, true);
	if (ret)
		return ret;
	for (;;) {
		if (unlikely(cpudata->evt_held) && !cpudata->evt_pending) {
			cpudata->evt_held = false;
			svm_event_deliver(cpudata, &cpudata->held_ev);
		}
		if (!svm_vcpu_enter(mach, vcpu, &reason)) {
			exit.reason = reason;
			ret = 0;
			break;
		}
		ret = svm_exit(mach, vcpu, &exit);
		if (ret)
			break;
	}
	fpu_swap_kvm_fpstate(&cpudata->gfpu, false);
	if (ret < 0)
		return ret;

	svm_exitstate(vcpu, &exit);
	memcpy(&comm->exit, &exit, sizeof(exit));
	return 0;
}

static int svm_vcpu_configure(struct nvmm_cpu *vcpu, u64 op,
			      void __user *conf)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;

	switch (op) {
	case NVMM_VCPU_CONF_CPUID:
		return nvmm_x86_conf_cpuid(&cpudata->cpuid, conf);
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

	cpudata = kvzalloc(sizeof(*cpudata), GFP_KERNEL_ACCOUNT);
	if (!cpudata)
		return -ENOMEM;
	cpudata->vmcb_page = nvmm_alloc_page();
	if (!cpudata->vmcb_page) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = nvmm_x86_fpu_alloc(&cpudata->gfpu);
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
	ret = svm_state_set(vcpu, NVMM_X64_STATE_ALL);
	memset(&vcpu->comm->state, 0, sizeof(vcpu->comm->state));
	if (ret) {
		nvmm_x86_fpu_free(&cpudata->gfpu);
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

	nvmm_x86_fpu_free(&cpudata->gfpu);
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
	int cpu;

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
	cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID;
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
	.pt_ops = &svm_pt_ops,
	.machine_create = svm_machine_create,
	.machine_destroy = svm_machine_destroy,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_configure = svm_vcpu_configure,
	.vcpu_getstate = svm_vcpu_getstate,
	.vcpu_run = svm_vcpu_run,
};
