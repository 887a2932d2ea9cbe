// SPDX-License-Identifier: GPL-2.0-only
/*
 * AMD SVM backend: #VMEXITs. Without NRIPS, an intercepted instruction is
 * skipped by its fixed length. An INVALID exit carries the exit code in
 * u.inv.hwcode.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kvm_host.h>
#include <asm/debugreg.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/svm.h>
#include <asm/trapnr.h>

#include "svm.h"

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
		.xcr0 = cpudata->x.xcr0,
	};
	u32 regs[4];

	if (nvmm_x86_cpuid(&cpudata->x.cpuid, &ctx, (u32)vmcb->save.rax,
			   (u32)cpudata->x.gprs[NVMM_X64_GPR_RCX], regs)) {
		exit->reason = NVMM_VCPU_EXIT_CPUID;
		exit->u.insn.npc = svm_npc(cpudata, 2);
		svm_state_provide(vcpu, NVMM_X64_STATE_GPRS);
		return;
	}
	vmcb->save.rax = regs[0];
	cpudata->x.gprs[NVMM_X64_GPR_RBX] = regs[1];
	cpudata->x.gprs[NVMM_X64_GPR_RCX] = regs[2];
	cpudata->x.gprs[NVMM_X64_GPR_RDX] = regs[3];
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
			out = rdtsc() + cpudata->x.tsc_offset;
			break;
		}
		cpudata->x.tsc_offset = val - rdtsc();
		vmcb->control.tsc_offset = cpudata->x.tsc_offset;
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
	cpudata->x.gprs[NVMM_X64_GPR_RDX] = out >> 32;
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
	u32 msr = (u32)cpudata->x.gprs[NVMM_X64_GPR_RCX];
	u64 val = ((u64)(u32)cpudata->x.gprs[NVMM_X64_GPR_RDX] << 32) |
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
	u64 val = ((u64)(u32)cpudata->x.gprs[NVMM_X64_GPR_RDX] << 32) |
		  (u32)vmcb->save.rax;
	int vector = nvmm_x86_xsetbv_check(vmcb->save.cr4,
					   (u32)cpudata->x.gprs[NVMM_X64_GPR_RCX],
					   vmcb->save.cpl, val);

	if (vector) {
		svm_inject_excp(cpudata, vector, 0);
		return;
	}
	if (!svm_xsetbv_exits)
		WRITE_ONCE(svm_xsetbv_exits, true);
	cpudata->x.xcr0 = val;
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
		cpudata->x.nmi_window_exit = false;
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

	cpudata->x.evt_pending = false;
	vmcb->control.event_inj = 0;
	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	if (type == SVM_EVTINJ_TYPE_SOFT ||
	    (type == SVM_EVTINJ_TYPE_EXEPT &&
	     (vector == BP_VECTOR || vector == OF_VECTOR)))
		return;
	vmcb->control.event_inj = info;
	vmcb->control.event_inj_err = vmcb->control.exit_int_info_err;
	cpudata->x.evt_pending = true;
}

/*
 * Handle the exit in the VMCB (the run path's exit hook). Returns 1 if the
 * run must return to userland with *exit, 0 to enter the guest again, or
 * -errno; the counter it goes in, if not exit_other, in x.exit_kind.
 */
int svm_exit(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
	     struct nvmm_vcpu_exit *exit)
{
	struct svm_cpudata *cpudata = vcpu->cpudata;
	struct vmcb *vmcb = cpudata->vmcb;
	u64 code = vmcb->control.exit_code;
	int ret;

	if (unlikely(vmcb->control.exit_code == (u32)SVM_EXIT_ERR)) {
		svm_entry_refused(cpudata);
		svm_exit_invalid(exit, code);
		return 1;
	}
	cpudata->unchecked = false;
	nvmm_x86_count_code(code);
	svm_event_reinject(cpudata);

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
		/* The host took it after STGI. */
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_INTR;
		return 0;
	case SVM_EXIT_NPF:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_NPF;
		ret = svm_exit_npf(mach, vcpu, exit);
		if (ret)
			return ret;
		break;
	case SVM_EXIT_IOIO:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_IO;
		svm_exit_io(vcpu, exit);
		break;
	case SVM_EXIT_MSR:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_MSR;
		svm_exit_msr(vcpu, exit);
		break;
	case SVM_EXIT_CPUID:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_CPUID;
		svm_exit_cpuid(mach, vcpu, exit);
		break;
	case SVM_EXIT_HLT:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_HLT;
		if (cpudata->x.int_window_exit &&
		    (vmcb->save.rflags & X86_EFLAGS_IF))
			svm_int_window(cpudata, false);
		svm_skip(cpudata, 1);
		exit->reason = NVMM_VCPU_EXIT_HALTED;
		break;
	case SVM_EXIT_XSETBV:
		svm_exit_xsetbv(cpudata);
		break;
	case SVM_EXIT_VINTR:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_WINDOW;
		svm_int_window(cpudata, false);
		exit->reason = NVMM_VCPU_EXIT_INT_READY;
		break;
	case SVM_EXIT_IRET:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_WINDOW;
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
	case SVM_EXIT_EXCP_BASE + MC_VECTOR:
		nvmm_x86_machine_check();
		break;
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_WRITE_DR7:
		/* Let the guest use its DRs; run the instruction again. */
		svm_dr_intercepts(vmcb, false);
		cpudata->x.dr_live = true;
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
	case SVM_EXIT_PAUSE: {
		u16 count = vmcb->control.pause_filter_count;

		svm_skip(cpudata, 2);
		vmcb->control.pause_filter_count =
			nvmm_x86_spin_window(count, SVM_PAUSE_FILTER,
					     SVM_PAUSE_FILTER_MAX,
					     nvmm_vcpu_on_spin(vcpu));
		if (vmcb->control.pause_filter_count != count)
			vmcb->control.clean &= ~VMCB_CLEAN_I;
		break;
	}
	default:
		svm_exit_invalid(exit, code);
		break;
	}
	return exit->reason != NVMM_VCPU_EXIT_NONE;
}
