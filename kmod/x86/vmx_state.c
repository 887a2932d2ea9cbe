// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX backend: guest state between the VMCS and the comm page, and
 * the events userland injects. The VMCS is current (vmx.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kvm_host.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/trapnr.h>

#include "vmx.h"

/* -------------------------------------------------------------------------- */
/* State: VMCS and cpudata <-> struct nvmm_x64_state. */

/* VMCS segment n (ES CS SS DS FS GS LDTR TR) of an NVMM segment index. */
static unsigned int vmx_seg_index(unsigned int idx)
{
	switch (idx) {
	case NVMM_X64_SEG_LDT:	return 6;
	case NVMM_X64_SEG_TR:	return 7;
	default:		return idx;	/* ES..GS have the same order */
	}
}

static u32 vmx_attrib_to_ar(const struct nvmm_x64_state_seg *seg)
{
	return seg->attrib.type | (seg->attrib.s << 4) |
	       (seg->attrib.dpl << 5) | (seg->attrib.p << 7) |
	       (seg->attrib.avl << 12) | (seg->attrib.l << 13) |
	       (seg->attrib.def << 14) | (seg->attrib.g << 15) |
	       (seg->attrib.p ? 0 : VMX_AR_UNUSABLE_MASK);
}

static void vmx_attrib_from_ar(struct nvmm_x64_state_seg *seg, u32 ar)
{
	seg->attrib.type = ar & 0xF;
	seg->attrib.s = (ar >> 4) & 1;
	seg->attrib.dpl = (ar >> 5) & 3;
	seg->attrib.p = !(ar & VMX_AR_UNUSABLE_MASK) && ((ar >> 7) & 1);
	seg->attrib.avl = (ar >> 12) & 1;
	seg->attrib.l = (ar >> 13) & 1;
	seg->attrib.def = (ar >> 14) & 1;
	seg->attrib.g = (ar >> 15) & 1;
	seg->attrib.rsvd = 0;
}

static void vmx_seg_get(struct nvmm_x64_state_seg *seg, unsigned int idx)
{
	unsigned int n;

	if (idx == NVMM_X64_SEG_GDT || idx == NVMM_X64_SEG_IDT) {
		memset(seg, 0, sizeof(*seg));
		n = idx == NVMM_X64_SEG_GDT ? 0 : 1;
		seg->limit = vmx_read(GUEST_GDTR_LIMIT + 2 * n);
		seg->base = vmx_read(GUEST_GDTR_BASE + 2 * n);
		return;
	}
	n = vmx_seg_index(idx);
	seg->selector = vmx_read(GUEST_ES_SELECTOR + 2 * n);
	vmx_attrib_from_ar(seg, vmx_read(GUEST_ES_AR_BYTES + 2 * n));
	seg->limit = vmx_read(GUEST_ES_LIMIT + 2 * n);
	seg->base = vmx_read(GUEST_ES_BASE + 2 * n);
}

static void vmx_seg_set(const struct nvmm_x64_state_seg *seg,
			unsigned int idx)
{
	unsigned int n;

	if (idx == NVMM_X64_SEG_GDT || idx == NVMM_X64_SEG_IDT) {
		n = idx == NVMM_X64_SEG_GDT ? 0 : 1;
		vmx_write(GUEST_GDTR_LIMIT + 2 * n, seg->limit);
		vmx_write(GUEST_GDTR_BASE + 2 * n, seg->base);
		return;
	}
	n = vmx_seg_index(idx);
	vmx_write(GUEST_ES_SELECTOR + 2 * n, seg->selector);
	vmx_write(GUEST_ES_AR_BYTES + 2 * n, vmx_attrib_to_ar(seg));
	vmx_write(GUEST_ES_LIMIT + 2 * n, seg->limit);
	vmx_write(GUEST_ES_BASE + 2 * n, seg->base);
}

/* CR0 and CR4 as the guest sees them: its own bits and the shadows. */
u64 vmx_guest_cr0(void)
{
	return (vmx_read(GUEST_CR0) & ~vmx_crs.cr0_mask) |
	       (vmx_read(CR0_READ_SHADOW) & vmx_crs.cr0_mask);
}

u64 vmx_guest_cr4(void)
{
	return (vmx_read(GUEST_CR4) & ~vmx_crs.cr4_mask) |
	       (vmx_read(CR4_READ_SHADOW) & vmx_crs.cr4_mask);
}

u32 vmx_guest_cpl(void)
{
	return (vmx_read(GUEST_SS_AR_BYTES) >> 5) & 3;
}

static void vmx_cr0_write(u64 cr0)
{
	vmx_write(CR0_READ_SHADOW, cr0);
	vmx_write(GUEST_CR0, (cr0 | vmx_crs.cr0_force1) &
			     ~vmx_crs.cr0_force0);
}

static void vmx_cr4_write(u64 cr4)
{
	vmx_write(CR4_READ_SHADOW, cr4);
	vmx_write(GUEST_CR4, (cr4 | vmx_crs.cr4_force1) &
			     ~vmx_crs.cr4_force0);
}

/*
 * PAE paging takes its PDPTEs from the VMCS at VM entry: after userland or
 * an emulated MOV to CR0 changed the mode or CR3, read them from guest
 * memory, as the CPU does it on the guest's own MOVs to CR0/CR3/CR4.
 * Returns false if a present one has a reserved bit set (bits 2:1, 8:5,
 * and from MAXPHYADDR up), which the CPU answers with #GP.
 */
static bool vmx_read_pdptrs(struct nvmm_machine *mach, u64 pdpte[4])
{
	u64 rsvd = GENMASK_ULL(63, boot_cpu_data.x86_phys_bits) |
		   GENMASK_ULL(8, 5) | GENMASK_ULL(2, 1);
	u64 cr3 = vmx_read(GUEST_CR3) & ~0x1FULL;
	struct nvmm_gmaps *gmaps;
	u64 hva = 0;
	unsigned int i;

	memset(pdpte, 0, 4 * sizeof(pdpte[0]));
	rcu_read_lock();
	gmaps = rcu_dereference(mach->mmu.gmaps);
	for (i = 0; gmaps && i < gmaps->n; i++) {
		const struct nvmm_gmap *m = &gmaps->map[i];

		if (cr3 >= m->gpa && cr3 + 4 * sizeof(pdpte[0]) <=
		    m->gpa + m->size) {
			hva = m->hva + (cr3 - m->gpa);
			break;
		}
	}
	rcu_read_unlock();
	/* Not guest RAM: no PDPTE present, the guest faults. */
	if (hva && copy_from_user(pdpte, (const void __user *)hva,
				  4 * sizeof(pdpte[0])))
		memset(pdpte, 0, 4 * sizeof(pdpte[0]));
	for (i = 0; i < 4; i++)
		if ((pdpte[i] & _PAGE_PRESENT) && (pdpte[i] & rsvd))
			return false;
	return true;
}

static void vmx_write_pdptrs(const u64 pdpte[4])
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		vmx_write(GUEST_PDPTR0 + 2 * i, pdpte[i]);
}

static bool vmx_pae_paging(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

/*
 * For state userland gave: reserved bits are its own error, which VM entry
 * reports (an INVALID exit), as it would on NetBSD.
 */
void vmx_load_pdptrs(struct nvmm_machine *mach)
{
	u64 pdpte[4];

	if (!vmx_pae_paging(vmx_guest_cr0(), vmx_guest_cr4(),
			    vmx_read(GUEST_IA32_EFER)))
		return;
	vmx_read_pdptrs(mach, pdpte);
	vmx_write_pdptrs(pdpte);
}

/*
 * The guest's MOV to CR0 that changed a bit the host keeps (NE, CD, NW),
 * maybe with others: done here as the CPU would. Returns -1 for #GP, with
 * nothing changed.
 */
int vmx_set_cr0(struct nvmm_machine *mach, struct vmx_cpudata *cpudata,
		u64 cr0)
{
	u64 old = vmx_guest_cr0();
	u64 efer = vmx_read(GUEST_IA32_EFER), new_efer = efer;
	u64 pdpte[4];

	if (cr0 >> 32)
		return -1;
	cr0 |= X86_CR0_ET;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return -1;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return -1;
	if (!(old & X86_CR0_PG) && (cr0 & X86_CR0_PG) &&
	    (efer & EFER_LME)) {
		if (!(vmx_guest_cr4() & X86_CR4_PAE))
			return -1;
		new_efer |= EFER_LMA;
	} else if ((old & X86_CR0_PG) && !(cr0 & X86_CR0_PG)) {
		if (vmx_read(GUEST_CS_AR_BYTES) & VMX_AR_L_MASK)
			return -1;
		new_efer &= ~EFER_LMA;
	}
	/* PAE paging after it, and PG, CD or NW changed: PDPTEs load (SDM 4.4.1). */
	if (vmx_pae_paging(cr0, vmx_guest_cr4(), new_efer) &&
	    ((old ^ cr0) & (X86_CR0_PG | X86_CR0_CD | X86_CR0_NW))) {
		if (!vmx_read_pdptrs(mach, pdpte))
			return -1;
		vmx_write_pdptrs(pdpte);
	}
	if (new_efer != efer) {
		vmx_write(GUEST_IA32_EFER, new_efer);
		vmx_ia32e(new_efer & EFER_LMA);
	}
	vmx_cr0_write(cr0);
	if ((old ^ cr0) & (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP))
		cpudata->flush_vpid = true;
	return 0;
}

void vmx_state_get(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
		   u64 flags)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	unsigned int i;
	u64 intr;

	if (flags & NVMM_X64_STATE_SEGS) {
		for (i = 0; i < NVMM_X64_NSEG; i++)
			vmx_seg_get(&st->segs[i], i);
	}
	if (flags & NVMM_X64_STATE_GPRS) {
		st->gprs[NVMM_X64_GPR_RSP] = vmx_read(GUEST_RSP);
		st->gprs[NVMM_X64_GPR_RIP] = vmx_read(GUEST_RIP);
		st->gprs[NVMM_X64_GPR_RFLAGS] = vmx_read(GUEST_RFLAGS);
	}
	if (flags & NVMM_X64_STATE_CRS) {
		st->crs[NVMM_X64_CR_CR0] = vmx_guest_cr0();
		st->crs[NVMM_X64_CR_CR2] = cpudata->cr2;
		st->crs[NVMM_X64_CR_CR3] = vmx_read(GUEST_CR3);
		st->crs[NVMM_X64_CR_CR4] = vmx_guest_cr4();
		st->crs[NVMM_X64_CR_CR8] = cpudata->cr8;
	}
	if (flags & NVMM_X64_STATE_DRS) {
		st->drs[NVMM_X64_DR_DR6] = cpudata->x.dr6;
		st->drs[NVMM_X64_DR_DR7] = vmx_read(GUEST_DR7);
	}
	if (flags & NVMM_X64_STATE_MSRS) {
		st->msrs[NVMM_X64_MSR_EFER] = vmx_read(GUEST_IA32_EFER);
		st->msrs[NVMM_X64_MSR_STAR] = cpudata->gmsrs[VMX_MSR_STAR];
		st->msrs[NVMM_X64_MSR_LSTAR] = cpudata->gmsrs[VMX_MSR_LSTAR];
		st->msrs[NVMM_X64_MSR_CSTAR] = cpudata->gmsrs[VMX_MSR_CSTAR];
		st->msrs[NVMM_X64_MSR_SFMASK] = cpudata->gmsrs[VMX_MSR_SFMASK];
		st->msrs[NVMM_X64_MSR_KERNELGSBASE] =
			vmx_get_msr_live(cpudata, VMX_MSR_KERNEL_GS_BASE);
		st->msrs[NVMM_X64_MSR_SYSENTER_CS] = vmx_read(GUEST_SYSENTER_CS);
		st->msrs[NVMM_X64_MSR_SYSENTER_ESP] =
			vmx_read(GUEST_SYSENTER_ESP);
		st->msrs[NVMM_X64_MSR_SYSENTER_EIP] =
			vmx_read(GUEST_SYSENTER_EIP);
		st->msrs[NVMM_X64_MSR_PAT] = vmx_read(GUEST_IA32_PAT);
	}
	if (flags & NVMM_X64_STATE_INTR) {
		intr = vmx_read(GUEST_INTERRUPTIBILITY_INFO);
		st->intr.int_shadow = !!(intr & (GUEST_INTR_STATE_STI |
						 GUEST_INTR_STATE_MOV_SS));
		if (cpudata->nmi_held)
			st->intr.evt_pending = true;
	}
}

/* An interrupt shadow as the guest could have one. */
static void vmx_int_shadow_set(bool shadow)
{
	u64 intr = vmx_read(GUEST_INTERRUPTIBILITY_INFO);
	u64 rflags = vmx_read(GUEST_RFLAGS);
	u64 dbg = vmx_read(GUEST_PENDING_DBG_EXCEPTIONS);

	intr &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	/* STI cannot leave a shadow with IF=0; MOV SS can. */
	if (shadow)
		intr |= (rflags & X86_EFLAGS_IF) ? GUEST_INTR_STATE_STI :
						   GUEST_INTR_STATE_MOV_SS;
	vmx_write(GUEST_INTERRUPTIBILITY_INFO, intr);
	/* In a shadow, a single step is pending: as VM entry checks it. */
	if (shadow && (rflags & X86_EFLAGS_TF))
		dbg |= DR_STEP;
	else
		dbg &= ~DR_STEP;
	vmx_write(GUEST_PENDING_DBG_EXCEPTIONS, dbg);
}

/*
 * Long mode without paging: the "IA-32e mode guest" entry control (which
 * follows EFER.LMA) with CR0.PG or CR4.PAE clear. VM entry refuses it
 * (SDM vol. 3C, 27.3.1.1) and the guest cannot make it itself, but a VMM
 * can commit it. Bochs 2.7, with unrestricted guests, does not check it and
 * stops with a panic ("EFER.LMA is set when CR0.PE=0"); so the module
 * refuses it before VMLAUNCH, as the CPU does (vmx_vcpu_enter_exit()).
 */
static bool vmx_lm_unpaged(void)
{
	return (vmx_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE) &&
	       (!(vmx_read(GUEST_CR0) & X86_CR0_PG) ||
		!(vmx_read(GUEST_CR4) & X86_CR4_PAE));
}

/* Groups provided on an exit are valid in the comm page until the run. */
void vmx_state_provide(struct nvmm_cpu *vcpu, u64 flags)
{
	nvmm_x86_state_provide(vcpu, flags, vmx_state_get);
}

/* Committed state, checked (nvmm_x86_state_commit()), to the VMCS. */
void vmx_state_set(struct nvmm_cpu *vcpu, const struct nvmm_x64_state *st,
		   u64 flags)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	unsigned int i;
	u64 efer;

	if (flags & NVMM_X64_STATE_SEGS) {
		for (i = 0; i < NVMM_X64_NSEG; i++)
			vmx_seg_set(&st->segs[i], i);
	}
	if (flags & NVMM_X64_STATE_GPRS) {
		const u64 *gprs = cpudata->x.gprs;

		vmx_write(GUEST_RSP, gprs[NVMM_X64_GPR_RSP]);
		vmx_write(GUEST_RIP, gprs[NVMM_X64_GPR_RIP]);
		vmx_write(GUEST_RFLAGS,
			  nvmm_x86_rflags(gprs[NVMM_X64_GPR_RFLAGS]));
	}
	if (flags & NVMM_X64_STATE_CRS) {
		vmx_cr0_write(st->crs[NVMM_X64_CR_CR0]);
		cpudata->cr2 = st->crs[NVMM_X64_CR_CR2];
		vmx_write(GUEST_CR3, st->crs[NVMM_X64_CR_CR3]);
		vmx_cr4_write(st->crs[NVMM_X64_CR_CR4]);
		cpudata->cr8 = st->crs[NVMM_X64_CR_CR8];
		cpudata->flush_vpid = true;
		cpudata->pdptrs_load = true;
	}
	if (flags & NVMM_X64_STATE_DRS)
		vmx_write(GUEST_DR7, st->drs[NVMM_X64_DR_DR7] | DR7_FIXED_1);
	if (flags & NVMM_X64_STATE_MSRS) {
		efer = st->msrs[NVMM_X64_MSR_EFER];
		vmx_write(GUEST_IA32_EFER, efer);
		vmx_ia32e(efer & EFER_LMA);
		vmx_set_msr_live(cpudata, VMX_MSR_STAR,
				 st->msrs[NVMM_X64_MSR_STAR]);
		vmx_set_msr_live(cpudata, VMX_MSR_LSTAR,
				 st->msrs[NVMM_X64_MSR_LSTAR]);
		vmx_set_msr_live(cpudata, VMX_MSR_CSTAR,
				 st->msrs[NVMM_X64_MSR_CSTAR]);
		vmx_set_msr_live(cpudata, VMX_MSR_SFMASK,
				 st->msrs[NVMM_X64_MSR_SFMASK]);
		vmx_set_msr_live(cpudata, VMX_MSR_KERNEL_GS_BASE,
				 st->msrs[NVMM_X64_MSR_KERNELGSBASE]);
		vmx_write(GUEST_SYSENTER_CS,
			  st->msrs[NVMM_X64_MSR_SYSENTER_CS]);
		vmx_write(GUEST_SYSENTER_ESP,
			  st->msrs[NVMM_X64_MSR_SYSENTER_ESP]);
		vmx_write(GUEST_SYSENTER_EIP,
			  st->msrs[NVMM_X64_MSR_SYSENTER_EIP]);
		vmx_write(GUEST_IA32_PAT, st->msrs[NVMM_X64_MSR_PAT]);
		vmx_write(TSC_OFFSET, cpudata->x.tsc_offset);
		cpudata->flush_vpid = true;
		cpudata->pdptrs_load = true;
	}
	if (flags & NVMM_X64_STATE_INTR) {
		vmx_int_shadow_set(st->intr.int_shadow);
		if (st->intr.int_window_exiting != cpudata->x.int_window_exit)
			vmx_int_window(cpudata, st->intr.int_window_exiting);
		if (st->intr.nmi_window_exiting != cpudata->x.nmi_window_exit)
			vmx_nmi_window(cpudata, st->intr.nmi_window_exiting);
	} else if (flags & NVMM_X64_STATE_GPRS) {
		/* A shadow stays consistent with the new RFLAGS. */
		vmx_int_shadow_set(vmx_read(GUEST_INTERRUPTIBILITY_INFO) &
				   (GUEST_INTR_STATE_STI |
				    GUEST_INTR_STATE_MOV_SS));
	}
	if (flags & (NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS))
		cpudata->lm_unpaged = vmx_lm_unpaged();
}

/* -------------------------------------------------------------------------- */
/* Events. */

void vmx_inject(struct vmx_cpudata *cpudata, u32 type, u8 vector,
		bool has_err, u32 err)
{
	/* Real-mode delivery pushes no error code: the CPU wants none. */
	if (has_err && !(vmx_guest_cr0() & X86_CR0_PE))
		has_err = false;
	vmx_write(VM_ENTRY_INTR_INFO_FIELD, vector | type |
		  INTR_INFO_VALID_MASK |
		  (has_err ? INTR_INFO_DELIVER_CODE_MASK : 0));
	if (has_err)
		vmx_write(VM_ENTRY_EXCEPTION_ERROR_CODE, err);
	cpudata->x.evt_pending = true;
	cpudata->evt_soft_intr = false;
	cpudata->evt_vector = vector;
}

/*
 * The exceptions VM entry delivers with an error code: the seven its
 * consistency checks accept one for (SDM vol. 3C, 27.2.1.3), fewer than
 * nvmm_x86_excp_has_error() names for SVM, whose EVENTINJ takes any (#CP
 * needs CET, which nvmm.ko does not offer; #VC and #SX are AMD's).
 */
static bool vmx_excp_has_error(u8 vector)
{
	switch (vector) {
	case DF_VECTOR:
	case TS_VECTOR:
	case NP_VECTOR:
	case SS_VECTOR:
	case GP_VECTOR:
	case PF_VECTOR:
	case AC_VECTOR:
		return true;
	default:
		return false;
	}
}

void vmx_inject_excp(struct vmx_cpudata *cpudata, u8 vector, u32 err)
{
	if (nvmm_x86_excp_sets_rf(vector))
		vmx_set_bits(GUEST_RFLAGS, X86_EFLAGS_RF);
	vmx_inject(cpudata, INTR_TYPE_HARD_EXCEPTION, vector,
		   vmx_excp_has_error(vector), err);
}

/*
 * An interrupt. The CPU refuses to inject one the guest could not take
 * (IF=0, or in an STI or MOV SS shadow), which SVM delivers anyway: send
 * it then as a "privileged software exception" of length 0, delivered
 * through the same IDT gate as the interrupt, with the same frame and no
 * check of IF or of the gate's DPL.
 */
static void vmx_inject_intr(struct vmx_cpudata *cpudata, u8 vector)
{
	u64 intr = vmx_read(GUEST_INTERRUPTIBILITY_INFO);
	bool can = (vmx_read(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
		   !(intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));

	if (can || !vmx_has_zero_len_inject) {
		vmx_inject(cpudata, INTR_TYPE_EXT_INTR, vector, false, 0);
		return;
	}
	vmx_write(VM_ENTRY_INSTRUCTION_LEN, 0);
	vmx_inject(cpudata, INTR_TYPE_PRIV_SW_EXCEPTION, vector, false, 0);
	cpudata->evt_soft_intr = true;
}

/*
 * The held NMI (nmi_held), if the guest can take one now. VM entry cannot
 * inject an NMI in a MOV SS shadow or while NMIs are blocked (SDM 26.3.1.5):
 * it then waits for the NMI window, as on hardware. In an STI shadow it
 * waits for the window too, and goes in at the window even if the CPU
 * opened it with STI blocking still set (processors differ on whether STI
 * blocks NMIs): the shadow is dropped then, as on a CPU where it does not.
 */
void vmx_inject_nmi(struct vmx_cpudata *cpudata)
{
	u64 intr = vmx_read(GUEST_INTERRUPTIBILITY_INFO);

	if ((intr & (GUEST_INTR_STATE_MOV_SS | GUEST_INTR_STATE_NMI)) ||
	    ((intr & GUEST_INTR_STATE_STI) && !cpudata->nmi_window_open)) {
		vmx_nmi_window(cpudata, true);
		return;
	}
	if (intr & GUEST_INTR_STATE_STI)
		vmx_write(GUEST_INTERRUPTIBILITY_INFO,
			  intr & ~(u64)GUEST_INTR_STATE_STI);
	cpudata->nmi_held = false;
	cpudata->nmi_window_open = false;
	vmx_inject(cpudata, INTR_TYPE_NMI_INTR, NMI_VECTOR, false, 0);
	/* Blocked until the handler's IRET: tell when. */
	vmx_nmi_window(cpudata, true);
}

/* Put a checked event in the VM-entry interruption info, which is free. */
void vmx_event_deliver(struct nvmm_cpu *vcpu, const struct nvmm_vcpu_event *ev)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;

	if (ev->type == NVMM_VCPU_EVENT_EXCP) {
		vmx_inject_excp(cpudata, ev->vector, (u32)ev->u.excp.error);
	} else if (ev->vector == NMI_VECTOR) {
		cpudata->nmi_held = true;
		vmx_inject_nmi(cpudata);
	} else {
		vmx_inject_intr(cpudata, ev->vector);
	}
}
