// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM backend: guest state between the VMCB and the comm page, and the
 * events injected (userland's, and those an exit interrupted).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kvm_host.h>
#include <linux/string.h>
#include <asm/debugreg.h>
#include <asm/irq_vectors.h>
#include <asm/svm.h>
#include <asm/trapnr.h>

#include "svm.h"

/* -------------------------------------------------------------------------- */
/* Segments. */

/*
 * A VMCB segment and struct nvmm_x64_state_seg have the same layout: the
 * selector; the attributes with type, S, DPL, P, AVL, L, D/B and G in bits
 * 0-11 (12-15 reserved in the VMCB, rsvd in ours); the limit; the base.
 * A segment is two words, copied with the reserved bits cleared.
 */
#define SVM_SEG_RSVD	(0xF000ULL << 16)	/* attrib 12-15, first word */

static __always_inline void svm_seg_copy(void *dst, const void *src)
{
	const u64 *s = src;
	u64 *d = dst;

	BUILD_BUG_ON(sizeof(struct vmcb_seg) != 2 * sizeof(u64) ||
		     sizeof(struct nvmm_x64_state_seg) != 2 * sizeof(u64));
	BUILD_BUG_ON(offsetof(struct vmcb_seg, limit) !=
		     offsetof(struct nvmm_x64_state_seg, limit) ||
		     offsetof(struct vmcb_seg, base) !=
		     offsetof(struct nvmm_x64_state_seg, base));
	d[0] = s[0] & ~SVM_SEG_RSVD;
	d[1] = s[1];
}

static void svm_segs_get(struct nvmm_x64_state_seg *segs,
			 const struct vmcb_save_area *save)
{
	svm_seg_copy(&segs[NVMM_X64_SEG_ES], &save->es);
	svm_seg_copy(&segs[NVMM_X64_SEG_CS], &save->cs);
	svm_seg_copy(&segs[NVMM_X64_SEG_SS], &save->ss);
	svm_seg_copy(&segs[NVMM_X64_SEG_DS], &save->ds);
	svm_seg_copy(&segs[NVMM_X64_SEG_FS], &save->fs);
	svm_seg_copy(&segs[NVMM_X64_SEG_GS], &save->gs);
	svm_seg_copy(&segs[NVMM_X64_SEG_GDT], &save->gdtr);
	svm_seg_copy(&segs[NVMM_X64_SEG_IDT], &save->idtr);
	svm_seg_copy(&segs[NVMM_X64_SEG_LDT], &save->ldtr);
	svm_seg_copy(&segs[NVMM_X64_SEG_TR], &save->tr);
}

static void svm_segs_set(struct vmcb_save_area *save,
			 const struct nvmm_x64_state_seg *segs)
{
	svm_seg_copy(&save->es, &segs[NVMM_X64_SEG_ES]);
	svm_seg_copy(&save->cs, &segs[NVMM_X64_SEG_CS]);
	svm_seg_copy(&save->ss, &segs[NVMM_X64_SEG_SS]);
	svm_seg_copy(&save->ds, &segs[NVMM_X64_SEG_DS]);
	svm_seg_copy(&save->fs, &segs[NVMM_X64_SEG_FS]);
	svm_seg_copy(&save->gs, &segs[NVMM_X64_SEG_GS]);
	svm_seg_copy(&save->gdtr, &segs[NVMM_X64_SEG_GDT]);
	svm_seg_copy(&save->idtr, &segs[NVMM_X64_SEG_IDT]);
	svm_seg_copy(&save->ldtr, &segs[NVMM_X64_SEG_LDT]);
	svm_seg_copy(&save->tr, &segs[NVMM_X64_SEG_TR]);
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
/* State: VMCB and cpudata <-> struct nvmm_x64_state (x.c did x's part). */

void svm_state_get(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
		   u64 flags)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;

	if (flags & NVMM_X64_STATE_SEGS)
		svm_segs_get(st->segs, &vmcb->save);
	if (flags & NVMM_X64_STATE_GPRS) {
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
	}
	if (flags & NVMM_X64_STATE_DRS) {
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
	}
	if (flags & NVMM_X64_STATE_INTR)
		st->intr.int_shadow =
			!!(vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK);
}

/* Groups provided on an exit are valid in the comm page until the run. */
void svm_state_provide(struct nvmm_cpu *vcpu, u64 flags)
{
	nvmm_x86_state_provide(vcpu, flags, svm_state_get);
}

/* Committed state, checked (nvmm_x86_state_commit()), to the VMCB. */
void svm_state_set(struct nvmm_cpu *vcpu,
		   const struct nvmm_x64_state *st, u64 flags)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;

	if (flags & NVMM_X64_STATE_SEGS) {
		svm_segs_set(&vmcb->save, st->segs);
		vmcb->control.clean &= ~(VMCB_CLEAN_SEG | VMCB_CLEAN_DT);
	}
	if (flags & NVMM_X64_STATE_GPRS) {
		const u64 *gprs = cpudata->x.gprs;

		vmcb->save.rax = gprs[NVMM_X64_GPR_RAX];
		vmcb->save.rsp = gprs[NVMM_X64_GPR_RSP];
		vmcb->save.rip = gprs[NVMM_X64_GPR_RIP];
		vmcb->save.rflags = nvmm_x86_rflags(gprs[NVMM_X64_GPR_RFLAGS]);
	}
	if (flags & NVMM_X64_STATE_CRS) {
		vmcb->save.cr0 = st->crs[NVMM_X64_CR_CR0];
		vmcb->save.cr2 = st->crs[NVMM_X64_CR_CR2];
		vmcb->save.cr3 = st->crs[NVMM_X64_CR_CR3];
		vmcb->save.cr4 = st->crs[NVMM_X64_CR_CR4];
		vmcb->control.int_ctl &= ~V_TPR_MASK;
		vmcb->control.int_ctl |= st->crs[NVMM_X64_CR_CR8] & V_TPR_MASK;
		cpudata->tlb_flush = true;
		vmcb->control.clean &= ~(VMCB_CLEAN_CR | VMCB_CLEAN_CR2 |
					 VMCB_CLEAN_TPR);
	}
	if (flags & NVMM_X64_STATE_DRS) {
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
		vmcb->control.tsc_offset = cpudata->x.tsc_offset;
		cpudata->tlb_flush = true;
		vmcb->control.clean &= ~(VMCB_CLEAN_CR | VMCB_CLEAN_NP |
					 VMCB_CLEAN_I);
	}
	if (flags & NVMM_X64_STATE_INTR) {
		if (st->intr.int_shadow)
			vmcb->control.int_state |= SVM_INTERRUPT_SHADOW_MASK;
		else
			vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
		if (st->intr.int_window_exiting != cpudata->x.int_window_exit)
			svm_int_window(cpudata, st->intr.int_window_exiting);
		if (st->intr.nmi_window_exiting != cpudata->x.nmi_window_exit)
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
	cpudata->x.evt_pending = true;
}

void svm_inject_excp(struct svm_cpudata *cpudata, u8 vector, u32 err)
{
	if (nvmm_x86_excp_sets_rf(vector))
		cpudata->vmcb->save.rflags |= X86_EFLAGS_RF;
	svm_event_inject(cpudata, SVM_EVTINJ_TYPE_EXEPT, vector,
			 nvmm_x86_excp_has_error(vector), err);
}

/* Put a checked event of userland's in EVENTINJ, which is free. */
void svm_event_deliver(struct nvmm_cpu *vcpu,
		       const struct nvmm_vcpu_event *ev)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;

	/* Its VMRUN may refuse it: see svm_entry_prepare_refusal(). */
	cpudata->unchecked = true;
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
