/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Intel VMX backend: what vmx.c (VMCS, VPIDs, world switch, VCPUs),
 * vmx_state.c (state and events) and vmx_exit.c (exit handling) share.
 *
 * The VMCS of a VCPU is current on the CPU its thread runs on for the
 * whole of every VCPU ioctl (vmx_vcpu_load() to vmx_vcpu_put()): a
 * preempt notifier loads it again wherever the thread is scheduled in, so
 * VMREAD and VMWRITE may be used anywhere in between, also after sleeping.
 */
#ifndef NVMM_X86_VMX_H
#define NVMM_X86_VMX_H

#include <linux/bug.h>
#include <linux/list.h>
#include <linux/preempt.h>
#include <linux/types.h>
#include <asm/asm.h>
#include <asm/vmx.h>

#include "x86.h"

/* Exit reasons <asm/vmx.h> does not name. */
#define VMX_EXIT_GETSEC			11
#define VMX_EXIT_RSM			17
#define VMX_EXIT_ENTRY_FAILED		BIT(31)

/* Exit qualification of I/O instructions. */
#define VMX_IO_SIZE_MASK		0x7
#define VMX_IO_IN			BIT(3)
#define VMX_IO_STRING			BIT(4)
#define VMX_IO_REP			BIT(5)
#define VMX_IO_PORT_SHIFT		16

/* VM-exit instruction information of INS/OUTS. */
#define VMX_INSN_ADDR_SIZE(info)	(((info) >> 7) & 7)
#define VMX_INSN_SEG(info)		(((info) >> 15) & 7)

/* Guest-syscall MSRs the CPU does not switch: ours to switch. */
enum vmx_msr_slot {
	VMX_MSR_KERNEL_GS_BASE,
	VMX_MSR_STAR,
	VMX_MSR_LSTAR,
	VMX_MSR_CSTAR,
	VMX_MSR_SFMASK,
	VMX_NMSRS,
};

/* What a VM exit left in the host that we put back at vcpu_put time. */
struct vmx_host_state {
	u64 msrs[VMX_NMSRS];
	u64 fs_base;
	u16 fs_sel, gs_sel, ds_sel, es_sel, ldt_sel;
};

struct vmx_cpudata {
	struct nvmm_x86_cpu x;		/* first: see nvmm_x86_cpu() */
	struct nvmm_cpu *vcpu;
	struct nvmm_machine *mach;
	struct page *vmcs_page;
	u64 vmcs_pa;
	u16 vpid;

	/* Where the VMCS is active: -1 when clear. See vmx_vmcs_load(). */
	int cpu;
	struct list_head loaded_link;	/* on that CPU's vmx_loaded list */
	bool launched;
	struct preempt_notifier pn;

	/* Host values cached in the VMCS, updated when they change. */
	u64 host_rsp;
	u64 host_cr3;
	u64 host_cr4;
	u64 host_fs_base;
	u64 host_debugctl;

	/* Guest MSRs in the hardware of cpudata->cpu, with host's saved. */
	bool msrs_live;
	u64 gmsrs[VMX_NMSRS];
	struct vmx_host_state host;

	/* Guest registers neither the VMCS nor x holds. */
	u64 cr2;
	u64 cr8;			/* the TPR: CR8 accesses exit */

	/* Control words as in the VMCS, for toggling bits. */
	u32 procbased;

	/* TLBs: VPID translations, EPT translations of the machine. */
	u64 tlb_gen;
	bool flush_vpid;
	bool flush_ept;
	bool pdptrs_load;		/* load PDPTEs from CR3 before entry */

	/* Events, beside x's. */
	bool evt_soft_intr;		/* it is an interrupt sent as type 5 */
	u8 evt_vector;
	bool nmi_held;			/* an NMI waits for the NMI window */
	bool nmi_window_open;		/* the window exit came for it */

	bool tpr_exit_changed;		/* NVMM_VCPU_CONF_TPR */
	bool l1d_flush;			/* flush L1D before the next entry */
	u32 ple_window;			/* PLE_WINDOW now */
	bool lm_unpaged;		/* vmx_state_set(): entry would fail */
	u32 exit_reason;		/* VM_EXIT_REASON of the last exit */
};

/* -------------------------------------------------------------------------- */
/* VMCS access. The VMCS is current (see above); a failure is a bug. */

void vmx_vmwrite_error(unsigned long field, unsigned long val);

static __always_inline u64 vmx_read(unsigned long field)
{
	u64 val = 0;

	/* VMfail leaves val alone; a fault (VMX off at reboot) skips. */
	asm volatile("1: vmread %[field], %[val]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [val] "+r" (val)
		     : [field] "r" (field)
		     : "cc");
	return val;
}

static __always_inline void vmx_write(unsigned long field, u64 val)
{
	asm goto("1: vmwrite %[val], %[field]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : [val] "rm" (val), [field] "r" (field)
		 : "cc", "memory" : fail, fault);
	return;
fail:
	vmx_vmwrite_error(field, val);
fault:
	return;
}

static inline void vmx_set_bits(unsigned long field, u64 bits)
{
	vmx_write(field, vmx_read(field) | bits);
}

static inline void vmx_clear_bits(unsigned long field, u64 bits)
{
	vmx_write(field, vmx_read(field) & ~bits);
}

/* -------------------------------------------------------------------------- */
/* vmx.c */

/* CR0/CR4 bits the host owns; in hardware: (guest | force1) & ~force0. */
struct vmx_crs {
	u64 cr0_mask, cr0_force1, cr0_force0;
	u64 cr4_mask, cr4_force1, cr4_force0;
};

extern struct vmx_crs vmx_crs;
extern bool vmx_has_zero_len_inject;
extern bool vmx_has_ins_outs_info;
extern bool vmx_has_invpcid;
extern bool vmx_has_ple;		/* pause-loop exiting */

/* Pause-loop exiting: cycles between PAUSEs of a loop, and its length. */
#define VMX_PLE_GAP		128
#define VMX_PLE_WINDOW		4096		/* at first */
#define VMX_PLE_WINDOW_MAX	(4096 << 6)	/* grown to at most */

void vmx_procbased(struct vmx_cpudata *cpudata, u32 bits, bool on);
void vmx_int_window(struct vmx_cpudata *cpudata, bool on);
void vmx_nmi_window(struct vmx_cpudata *cpudata, bool on);
void vmx_ia32e(bool on);
void vmx_set_msr_live(struct vmx_cpudata *cpudata, enum vmx_msr_slot slot,
		      u64 val);
u64 vmx_get_msr_live(struct vmx_cpudata *cpudata, enum vmx_msr_slot slot);

/* vmx_state.c */
void vmx_state_get(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
		   u64 flags);
void vmx_state_set(struct nvmm_cpu *vcpu, const struct nvmm_x64_state *st,
		   u64 flags);
/* The comm page gets the groups in flags, valid until the run. */
void vmx_state_provide(struct nvmm_cpu *vcpu, u64 flags);
void vmx_event_deliver(struct nvmm_cpu *vcpu,
		       const struct nvmm_vcpu_event *ev);
void vmx_load_pdptrs(struct nvmm_machine *mach);
u64 vmx_guest_cr0(void);
u64 vmx_guest_cr4(void);
u32 vmx_guest_cpl(void);
int vmx_set_cr0(struct nvmm_machine *mach, struct vmx_cpudata *cpudata,
		u64 cr0);
void vmx_inject(struct vmx_cpudata *cpudata, u32 type, u8 vector,
		bool has_err, u32 err);
void vmx_inject_excp(struct vmx_cpudata *cpudata, u8 vector, u32 err);
void vmx_inject_nmi(struct vmx_cpudata *cpudata);

/* vmx_exit.c */
int vmx_exit(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
	     struct nvmm_vcpu_exit *exit);

/* vmx_run.S */
int nvmm_vmx_run(u64 *gprs, u64 *host_rsp, bool launched);
extern const char nvmm_vmx_exit[];	/* where VM exits land */
void nvmm_vmx_nmi(void);

#endif /* NVMM_X86_VMX_H */
