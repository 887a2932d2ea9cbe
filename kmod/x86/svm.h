/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * AMD SVM backend: what svm.c (VMCB, ASIDs, world switch, VCPUs), svm_state.c
 * (state and events) and svm_exit.c (exit handling) share.
 */
#ifndef NVMM_X86_SVM_H
#define NVMM_X86_SVM_H

#include <linux/bits.h>
#include <linux/types.h>
#include <asm/svm.h>
#include <asm/trapnr.h>

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

extern struct svm_features svm_feat;

#define svm_has(f)	(svm_feat.edx & SVM_FEAT_##f)

/* PAUSEs before an exit, and the cycles between two that count (KVM's). */
#define SVM_PAUSE_FILTER	3000	/* PAUSEs of a loop, at first */
#define SVM_PAUSE_FILTER_MAX	0xFFFF	/* ... grown to at most */
#define SVM_PAUSE_THRESH	128

struct svm_cpudata {
	struct nvmm_x86_cpu x;		/* first: see nvmm_x86_cpu() */
	struct page *vmcb_page;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u64 id;			/* unique, for the IBPB on VCPU switches */

	/* Where the VMCB ran last and with which ASID. */
	int last_cpu;
	u32 asid;
	u64 asid_gen;
	u64 tlb_gen;		/* machine's tlb_gen at the last flush */
	bool tlb_flush;		/* guest paging changed under the guest */

	bool nmi_singlestep;	/* IRET of the NMI handler single-stepped */

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
/* VMCB helpers. */

static inline void svm_intercept(struct vmcb *vmcb, unsigned int bit, bool on)
{
	if (on)
		vmcb->control.intercepts[bit / 32] |= BIT(bit % 32);
	else
		vmcb->control.intercepts[bit / 32] &= ~BIT(bit % 32);
	vmcb->control.clean &= ~VMCB_CLEAN_I;
}

static inline void svm_dr_intercepts(struct vmcb *vmcb, bool on)
{
	vmcb->control.intercepts[INTERCEPT_DR] = on ? 0xFFFFFFFF : 0;
	vmcb->control.clean &= ~VMCB_CLEAN_I;
}

/* -------------------------------------------------------------------------- */
/* svm.c */

void svm_int_window(struct svm_cpudata *cpudata, bool on);
void svm_nmi_window(struct svm_cpudata *cpudata, bool on);
void svm_entry_refused(struct svm_cpudata *cpudata);
/* An XSETBV exit was seen: the CPU honours the intercept. */
extern bool svm_xsetbv_exits;

/* svm_state.c */
void svm_state_get(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
		   u64 flags);
void svm_state_set(struct nvmm_cpu *vcpu, const struct nvmm_x64_state *st,
		   u64 flags);
/* The comm page gets the groups in flags, valid until the run. */
void svm_state_provide(struct nvmm_cpu *vcpu, u64 flags);
void svm_event_deliver(struct nvmm_cpu *vcpu,
		       const struct nvmm_vcpu_event *ev);
void svm_inject_excp(struct svm_cpudata *cpudata, u8 vector, u32 err);

/* svm_exit.c */
int svm_exit(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
	     struct nvmm_vcpu_exit *exit);

/* svm_run.S */
void nvmm_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 hostsave_pa);

#endif /* NVMM_X86_SVM_H */
