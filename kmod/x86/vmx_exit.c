// SPDX-License-Identifier: GPL-2.0-only
/*
 * Intel VMX backend: VM exits. Everything here runs with the VCPU's VMCS
 * current (vmx.h); nothing is decoded: the exit qualification and
 * instruction information say what the instruction was.
 *
 * An INVALID exit carries the basic exit reason in u.inv.hwcode, with bit
 * 31 set when the VM entry failed; when VMLAUNCH/VMRESUME itself failed,
 * hwcode is bit 32 with the VM-instruction error.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kvm_host.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/trapnr.h>
#include <asm/traps.h>

#include "vmx.h"

#define VMX_HWCODE_VMFAIL	BIT_ULL(32)

/* DR6 bits a #DB exit reports in its qualification: B0-3, BD, BS. */
#define VMX_DR6_EXIT_BITS	((u64)DR_TRAP_BITS | BIT(13) | DR_STEP)

/* Intel MSRs that guests read at boot and that mean nothing here. */
#define VMX_MSR_PLATFORM_ID	0x17

static void vmx_exit_invalid(struct nvmm_vcpu_exit *exit, u64 code)
{
	exit->reason = NVMM_VCPU_EXIT_INVALID;
	exit->u.inv.hwcode = code;
}

/* The RIP after the intercepted instruction, wrapped to its code size. */
static u64 vmx_npc(void)
{
	u64 rip = vmx_read(GUEST_RIP);
	u64 npc = rip + vmx_read(VM_EXIT_INSTRUCTION_LEN);
	u32 cs;

	if (likely(!nvmm_x86_npc_may_wrap(rip, npc)))
		return npc;
	cs = vmx_read(GUEST_CS_AR_BYTES);
	return nvmm_x86_npc_wrap(npc, (vmx_read(GUEST_IA32_EFER) & EFER_LMA) &&
				 (cs & VMX_AR_L_MASK), cs & VMX_AR_DB_MASK);
}

/* Skip the intercepted instruction: as if it ran, shadows end. */
static void vmx_skip(void)
{
	u64 intr = vmx_read(GUEST_INTERRUPTIBILITY_INFO);

	vmx_write(GUEST_RIP, vmx_npc());
	vmx_clear_bits(GUEST_RFLAGS, X86_EFLAGS_RF);
	if (intr & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
		vmx_write(GUEST_INTERRUPTIBILITY_INFO, intr &
			  ~(u64)(GUEST_INTR_STATE_STI |
				 GUEST_INTR_STATE_MOV_SS));
}

/* A general register as a MOV to or from a control register names it. */
static u64 vmx_gpr(struct vmx_cpudata *cpudata, unsigned int reg)
{
	if (reg == NVMM_X64_GPR_RSP)
		return vmx_read(GUEST_RSP);
	return cpudata->x.gprs[reg];
}

static void vmx_set_gpr(struct vmx_cpudata *cpudata, unsigned int reg,
			u64 val)
{
	if (reg == NVMM_X64_GPR_RSP)
		vmx_write(GUEST_RSP, val);
	else
		cpudata->x.gprs[reg] = val;
}

/* -------------------------------------------------------------------------- */
/* Events. */

/*
 * An event whose delivery the exit interrupted goes back in the VM-entry
 * interruption information. Software interrupts and exceptions (INTn,
 * INT3, INTO) and the guest's own INT1 are not re-injected: RIP still
 * points at the instruction, which the guest executes again. An interrupt
 * we sent as a privileged software exception (vmx_inject_intr()) is.
 */
static void vmx_event_reinject(struct vmx_cpudata *cpudata)
{
	u32 info = vmx_read(IDT_VECTORING_INFO_FIELD);
	u32 type = info & VECTORING_INFO_TYPE_MASK;
	u8 vector = info & VECTORING_INFO_VECTOR_MASK;
	bool ours = cpudata->x.evt_pending && cpudata->evt_soft_intr &&
		    cpudata->evt_vector == vector;

	cpudata->x.evt_pending = false;
	cpudata->evt_soft_intr = false;
	if (!(info & VECTORING_INFO_VALID_MASK))
		return;
	switch (type) {
	case INTR_TYPE_SOFT_INTR:
	case INTR_TYPE_SOFT_EXCEPTION:
		return;
	case INTR_TYPE_PRIV_SW_EXCEPTION:
		if (!ours)
			return;
		vmx_write(VM_ENTRY_INSTRUCTION_LEN, 0);
		break;
	case INTR_TYPE_NMI_INTR:
		/* Blocked again only once it is delivered. */
		vmx_clear_bits(GUEST_INTERRUPTIBILITY_INFO,
			       GUEST_INTR_STATE_NMI);
		break;
	}
	vmx_write(VM_ENTRY_INTR_INFO_FIELD,
		  info & (VECTORING_INFO_VECTOR_MASK |
			  VECTORING_INFO_TYPE_MASK |
			  VECTORING_INFO_DELIVER_CODE_MASK |
			  VECTORING_INFO_VALID_MASK));
	if (info & VECTORING_INFO_DELIVER_CODE_MASK)
		vmx_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
			  vmx_read(IDT_VECTORING_ERROR_CODE));
	cpudata->x.evt_pending = true;
	cpudata->evt_soft_intr = ours;
	cpudata->evt_vector = vector;
}

/*
 * The guest's IRET that unblocked NMIs faulted (EPT, an intercepted
 * exception): blocked again, as the IRET did not complete.
 */
static void vmx_nmi_unblocked(u64 flag)
{
	if (flag && !(vmx_read(IDT_VECTORING_INFO_FIELD) &
		      VECTORING_INFO_VALID_MASK))
		vmx_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
}

/* #DB, #AC and #MC are intercepted; the host's NMIs were handled. */
static void vmx_exit_exception(struct vmx_cpudata *cpudata)
{
	u32 info = vmx_read(VM_EXIT_INTR_INFO);
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;
	u8 vector = info & INTR_INFO_VECTOR_MASK;
	u64 qual;

	if (type == INTR_TYPE_NMI_INTR) {
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_INTR;
		cpudata->l1d_flush = true;
		return;
	}
	vmx_nmi_unblocked(info & INTR_INFO_UNBLOCK_NMI);
	switch (vector) {
	case DB_VECTOR:
		if (type == INTR_TYPE_PRIV_SW_EXCEPTION) {
			/* INT1: the guest's, delivered with its length. */
			vmx_write(VM_ENTRY_INSTRUCTION_LEN,
				  vmx_read(VM_EXIT_INSTRUCTION_LEN));
			vmx_inject(cpudata, INTR_TYPE_PRIV_SW_EXCEPTION,
				   DB_VECTOR, false, 0);
			break;
		}
		/* The CPU left DR6 alone and told us in the qualification. */
		qual = vmx_read(EXIT_QUALIFICATION);
		cpudata->x.dr6 = (cpudata->x.dr6 & ~VMX_DR6_EXIT_BITS) |
			       (qual & VMX_DR6_EXIT_BITS) | DR6_RESERVED;
		vmx_inject_excp(cpudata, DB_VECTOR, 0);
		break;
	case AC_VECTOR:
		vmx_inject_excp(cpudata, AC_VECTOR,
				vmx_read(VM_EXIT_INTR_ERROR_CODE));
		break;
	case MC_VECTOR:
		nvmm_x86_machine_check();
		break;
	default:
		/* Not intercepted: give it back. */
		vmx_inject(cpudata, type, vector,
			   !!(info & INTR_INFO_DELIVER_CODE_MASK),
			   vmx_read(VM_EXIT_INTR_ERROR_CODE));
		break;
	}
}

/* -------------------------------------------------------------------------- */
/* Instructions. */

static void vmx_exit_cpuid(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
			   struct nvmm_vcpu_exit *exit)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	struct nvmm_x86_cpuid_ctx ctx = {
		.vcpu_id = vcpu->cpuid,
		.nvcpus = atomic_read(&mach->ncpus),
		.cr4 = vmx_guest_cr4(),
		.xcr0 = cpudata->x.xcr0,
	};
	u32 leaf = (u32)cpudata->x.gprs[NVMM_X64_GPR_RAX];
	u32 regs[4];

	if (nvmm_x86_cpuid(&cpudata->x.cpuid, &ctx, leaf,
			   (u32)cpudata->x.gprs[NVMM_X64_GPR_RCX], regs)) {
		exit->reason = NVMM_VCPU_EXIT_CPUID;
		exit->u.insn.npc = vmx_npc();
		vmx_state_provide(vcpu, NVMM_X64_STATE_GPRS);
		return;
	}
	/* INVPCID raises #UD where VMX cannot let the guest have it. */
	if (leaf == 7 && !vmx_has_invpcid)
		regs[1] &= ~BIT(X86_FEATURE_INVPCID & 31);
	cpudata->x.gprs[NVMM_X64_GPR_RAX] = regs[0];
	cpudata->x.gprs[NVMM_X64_GPR_RBX] = regs[1];
	cpudata->x.gprs[NVMM_X64_GPR_RCX] = regs[2];
	cpudata->x.gprs[NVMM_X64_GPR_RDX] = regs[3];
	vmx_skip();
}

static void vmx_exit_io(struct nvmm_cpu *vcpu, struct nvmm_vcpu_exit *exit)
{
	u64 qual = vmx_read(EXIT_QUALIFICATION);
	static const s8 segs[8] = {
		NVMM_X64_SEG_ES, NVMM_X64_SEG_CS, NVMM_X64_SEG_SS,
		NVMM_X64_SEG_DS, NVMM_X64_SEG_FS, NVMM_X64_SEG_GS, -1, -1,
	};
	u32 info;

	exit->reason = NVMM_VCPU_EXIT_IO;
	exit->u.io.in = !!(qual & VMX_IO_IN);
	exit->u.io.port = qual >> VMX_IO_PORT_SHIFT;
	exit->u.io.operand_size = (qual & VMX_IO_SIZE_MASK) + 1;
	exit->u.io.rep = !!(qual & VMX_IO_REP);
	exit->u.io.str = !!(qual & VMX_IO_STRING);
	exit->u.io.seg = -1;
	/* The mode's address size; a 0x67 prefix changes it (below). */
	if (vmx_read(GUEST_CS_AR_BYTES) & VMX_AR_L_MASK)
		exit->u.io.address_size = 8;
	else if (vmx_read(GUEST_CS_AR_BYTES) & VMX_AR_DB_MASK)
		exit->u.io.address_size = 4;
	else
		exit->u.io.address_size = 2;
	/*
	 * INS/OUTS: the CPU may give the address size and segment; without
	 * them (seg -1) the library decodes the instruction.
	 */
	if (exit->u.io.str && vmx_has_ins_outs_info) {
		info = vmx_read(VMX_INSTRUCTION_INFO);
		exit->u.io.address_size = 2 << VMX_INSN_ADDR_SIZE(info);
		exit->u.io.seg = exit->u.io.in ? NVMM_X64_SEG_ES :
			segs[VMX_INSN_SEG(info)];
	}
	exit->u.io.npc = vmx_npc();
	vmx_state_provide(vcpu, NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
			  NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS);
}

static int vmx_exit_ept(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
			struct nvmm_vcpu_exit *exit)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	u64 qual = vmx_read(EXIT_QUALIFICATION);
	u64 gpa = vmx_read(GUEST_PHYSICAL_ADDRESS);
	u32 access;
	int ret;

	vmx_nmi_unblocked(qual & INTR_INFO_UNBLOCK_NMI);
	if (qual & EPT_VIOLATION_ACC_INSTR)
		access = NVMM_PROT_EXEC;
	else if (qual & EPT_VIOLATION_ACC_WRITE)
		access = NVMM_PROT_WRITE;
	else
		access = NVMM_PROT_READ;

	ret = nvmm_mmu_fault(mach, gpa, access);
	if (ret < 0)
		return ret;
	cpudata->l1d_flush = true;
	if (ret == NVMM_FAULT_MAPPED) {
		exit->reason = NVMM_VCPU_EXIT_NONE;
		return 0;
	}
	/* No instruction bytes: the library fetches them. */
	exit->reason = NVMM_VCPU_EXIT_MEMORY;
	exit->u.mem.prot = access;
	exit->u.mem.gpa = gpa;
	exit->u.mem.inst_len = 0;
	vmx_state_provide(vcpu, NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
			  NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS);
	return 0;
}

/* The syscall MSRs: reads do not exit, writes do. */
static int vmx_msr_slot(u32 msr)
{
	switch (msr) {
	case MSR_KERNEL_GS_BASE:	return VMX_MSR_KERNEL_GS_BASE;
	case MSR_STAR:			return VMX_MSR_STAR;
	case MSR_LSTAR:			return VMX_MSR_LSTAR;
	case MSR_CSTAR:			return VMX_MSR_CSTAR;
	case MSR_SYSCALL_MASK:		return VMX_MSR_SFMASK;
	default:			return -1;
	}
}

/* MSRs the kernel owns; returns false for userland's. */
static bool vmx_msr_inkernel(struct vmx_cpudata *cpudata, bool write,
			     u32 msr, u64 val)
{
	u64 out = 0, efer;
	int slot;

	switch (msr) {
	case MSR_EFER:
		efer = vmx_read(GUEST_IA32_EFER);
		if (!write) {
			out = efer;
			break;
		}
		if (val & ~nvmm_x86_efer_valid)
			goto gp;
		/* LME may not change while paging is on. */
		if ((vmx_guest_cr0() & X86_CR0_PG) &&
		    ((val ^ efer) & EFER_LME))
			goto gp;
		val = (val & ~EFER_LMA) | (efer & EFER_LMA);
		vmx_write(GUEST_IA32_EFER, val);
		cpudata->flush_vpid = true;
		cpudata->pdptrs_load = true;
		goto done;
	case MSR_IA32_TSC:
		if (!write) {
			out = rdtsc() + cpudata->x.tsc_offset;
			break;
		}
		cpudata->x.tsc_offset = val - rdtsc();
		vmx_write(TSC_OFFSET, cpudata->x.tsc_offset);
		goto done;
	case MSR_IA32_CR_PAT:
		if (!write) {
			out = vmx_read(GUEST_IA32_PAT);
			break;
		}
		if (!nvmm_x86_pat_valid(val))
			goto gp;
		vmx_write(GUEST_IA32_PAT, val);
		goto done;
	case MSR_IA32_UCODE_REV:
	case VMX_MSR_PLATFORM_ID:
		if (write)
			goto done;
		break;
	default:
		slot = vmx_msr_slot(msr);
		if (slot < 0 || !write)
			return false;
		if ((slot == VMX_MSR_SFMASK && (val >> 32)) ||
		    ((slot == VMX_MSR_LSTAR || slot == VMX_MSR_CSTAR ||
		      slot == VMX_MSR_KERNEL_GS_BASE) &&
		     !nvmm_x86_canonical(val)))
			goto gp;
		vmx_set_msr_live(cpudata, slot, val);
		goto done;
	}
	cpudata->x.gprs[NVMM_X64_GPR_RAX] = (u32)out;
	cpudata->x.gprs[NVMM_X64_GPR_RDX] = out >> 32;
done:
	vmx_skip();
	return true;
gp:
	vmx_inject_excp(cpudata, GP_VECTOR, 0);
	return true;
}

static void vmx_exit_msr(struct nvmm_cpu *vcpu, bool write,
			 struct nvmm_vcpu_exit *exit)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	u32 msr = (u32)cpudata->x.gprs[NVMM_X64_GPR_RCX];
	u64 val = ((u64)(u32)cpudata->x.gprs[NVMM_X64_GPR_RDX] << 32) |
		  (u32)cpudata->x.gprs[NVMM_X64_GPR_RAX];

	if (vmx_msr_inkernel(cpudata, write, msr, val)) {
		exit->reason = NVMM_VCPU_EXIT_NONE;
		return;
	}
	if (write) {
		exit->reason = NVMM_VCPU_EXIT_WRMSR;
		exit->u.wrmsr.msr = msr;
		exit->u.wrmsr.val = val;
		exit->u.wrmsr.npc = vmx_npc();
	} else {
		exit->reason = NVMM_VCPU_EXIT_RDMSR;
		exit->u.rdmsr.msr = msr;
		exit->u.rdmsr.npc = vmx_npc();
	}
	vmx_state_provide(vcpu, NVMM_X64_STATE_GPRS);
}

static void vmx_exit_xsetbv(struct vmx_cpudata *cpudata)
{
	u64 val = ((u64)(u32)cpudata->x.gprs[NVMM_X64_GPR_RDX] << 32) |
		  (u32)cpudata->x.gprs[NVMM_X64_GPR_RAX];
	int vector = nvmm_x86_xsetbv_check(vmx_guest_cr4(),
					   (u32)cpudata->x.gprs[NVMM_X64_GPR_RCX],
					   vmx_guest_cpl(), val);

	if (vector) {
		vmx_inject_excp(cpudata, vector, 0);
		return;
	}
	cpudata->x.xcr0 = val;
	vmx_skip();
}

/* MOV to/from CR0, CR4, CR8 that exit. The qualification names the GPR. */
static void vmx_exit_cr(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
			struct nvmm_vcpu_exit *exit)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	u64 qual = vmx_read(EXIT_QUALIFICATION);
	unsigned int cr = qual & 0xF;	/* CR8 is 8: not CONTROL_REG_ACCESS_NUM */
	unsigned int type = (qual & CONTROL_REG_ACCESS_TYPE) >> 4;
	unsigned int reg = (qual & CONTROL_REG_ACCESS_REG) >> 8;
	u64 val, old;

	switch (cr | (type << 4)) {
	case 0:		/* MOV to CR0 */
		if (vmx_set_cr0(mach, cpudata, vmx_gpr(cpudata, reg)))
			goto gp;
		break;
	case 4:		/* MOV to CR4: it sets a bit the guest may not have */
		goto gp;
	case 8:		/* MOV to CR8 */
		val = vmx_gpr(cpudata, reg);
		if (val >> 4)
			goto gp;
		old = cpudata->cr8;
		cpudata->cr8 = val;
		vmx_skip();
		if (cpudata->tpr_exit_changed && val != old)
			exit->reason = NVMM_VCPU_EXIT_TPR_CHANGED;
		return;
	case 8 | (1 << 4):	/* MOV from CR8 */
		vmx_set_gpr(cpudata, reg, cpudata->cr8);
		break;
	default:
		vmx_exit_invalid(exit, EXIT_REASON_CR_ACCESS);
		return;
	}
	vmx_skip();
	return;
gp:
	vmx_inject_excp(cpudata, GP_VECTOR, 0);
}

static void vmx_exit_hlt(struct vmx_cpudata *cpudata,
			 struct nvmm_vcpu_exit *exit)
{
	if (cpudata->x.int_window_exit &&
	    (vmx_read(GUEST_RFLAGS) & X86_EFLAGS_IF))
		vmx_int_window(cpudata, false);
	vmx_skip();
	exit->reason = NVMM_VCPU_EXIT_HALTED;
}

static void vmx_exit_vmfail(struct nvmm_vcpu_exit *exit)
{
	vmx_exit_invalid(exit, VMX_HWCODE_VMFAIL |
			 (u32)vmx_read(VM_INSTRUCTION_ERROR));
}

/*
 * Handle the exit. Returns 1 if the run must return to userland with
 * *exit, 0 to enter the guest again, or -errno.
 */
int vmx_exit(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
	     struct nvmm_vcpu_exit *exit)
{
	struct vmx_cpudata *cpudata = vcpu->cpudata;
	u32 reason = cpudata->exit_reason;
	int ret;

	if (reason == VMX_EXIT_ENTRY_FAILED) {
		vmx_exit_vmfail(exit);
		return 1;
	}
	if (reason & VMX_EXIT_ENTRY_FAILED) {
		/* Nothing was delivered, nothing is to re-inject. */
		if ((u16)reason == EXIT_REASON_MCE_DURING_VMENTRY)
			nvmm_x86_machine_check();
		vmx_exit_invalid(exit, reason);
		return 1;
	}
	nvmm_x86_count_code((u16)reason);
	vmx_event_reinject(cpudata);

	switch ((u16)reason) {
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		/* The host took it once IRQs were on again. */
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_INTR;
		cpudata->l1d_flush = true;
		return 0;
	case EXIT_REASON_EXCEPTION_NMI:
		vmx_exit_exception(cpudata);
		return 0;
	case EXIT_REASON_EPT_VIOLATION:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_NPF;
		ret = vmx_exit_ept(mach, vcpu, exit);
		if (ret)
			return ret;
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_IO;
		vmx_exit_io(vcpu, exit);
		break;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_MSR;
		vmx_exit_msr(vcpu, (u16)reason == EXIT_REASON_MSR_WRITE,
			     exit);
		break;
	case EXIT_REASON_CPUID:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_CPUID;
		vmx_exit_cpuid(mach, vcpu, exit);
		break;
	case EXIT_REASON_HLT:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_HLT;
		vmx_exit_hlt(cpudata, exit);
		break;
	case EXIT_REASON_CR_ACCESS:
		vmx_exit_cr(mach, vcpu, exit);
		break;
	case EXIT_REASON_DR_ACCESS:
		/* Let the guest use its DRs; run the instruction again. */
		vmx_procbased(cpudata, CPU_BASED_MOV_DR_EXITING, false);
		cpudata->x.dr_live = true;
		break;
	case EXIT_REASON_XSETBV:
		vmx_exit_xsetbv(cpudata);
		break;
	case EXIT_REASON_INTERRUPT_WINDOW:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_WINDOW;
		vmx_int_window(cpudata, false);
		exit->reason = NVMM_VCPU_EXIT_INT_READY;
		break;
	case EXIT_REASON_NMI_WINDOW:
		cpudata->x.exit_kind = NVMM_COUNT_EXIT_WINDOW;
		vmx_nmi_window(cpudata, false);
		if (cpudata->nmi_held) {
			/* Ours: the held NMI goes in (vmx_vcpu_run()). */
			cpudata->nmi_window_open = true;
			return 0;
		}
		exit->reason = NVMM_VCPU_EXIT_NMI_READY;
		break;
	case EXIT_REASON_MONITOR_INSTRUCTION:
		exit->reason = NVMM_VCPU_EXIT_MONITOR;
		exit->u.insn.npc = vmx_npc();
		break;
	case EXIT_REASON_MWAIT_INSTRUCTION:
		exit->reason = NVMM_VCPU_EXIT_MWAIT;
		exit->u.insn.npc = vmx_npc();
		break;
	case EXIT_REASON_PAUSE_INSTRUCTION:
		vmx_skip();
		/* A loop, not any PAUSE: only pause-loop exiting tells. */
		if (vmx_has_ple) {
			u32 w = nvmm_x86_spin_window(cpudata->ple_window,
						     VMX_PLE_WINDOW,
						     VMX_PLE_WINDOW_MAX,
						     nvmm_vcpu_on_spin(vcpu));

			if (w != cpudata->ple_window) {
				cpudata->ple_window = w;
				vmx_write(PLE_WINDOW, w);
			}
		}
		break;
	case EXIT_REASON_INVD:
	case EXIT_REASON_WBINVD:
		/* The guest owns no cache: nothing to do. */
		vmx_skip();
		break;
	case EXIT_REASON_RDPMC:
		vmx_inject_excp(cpudata, GP_VECTOR, 0);
		break;
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_ENCLS:
	case VMX_EXIT_GETSEC:
	case VMX_EXIT_RSM:
		vmx_inject_excp(cpudata, UD_VECTOR, 0);
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		exit->reason = NVMM_VCPU_EXIT_SHUTDOWN;
		break;
	case EXIT_REASON_INIT_SIGNAL:
	case EXIT_REASON_SIPI_SIGNAL:
		/* Signals for the host CPU, not for the guest. */
		break;
	default:
		/* Task switches, EPT misconfigurations...: not for us. */
		vmx_exit_invalid(exit, reason);
		break;
	}
	return exit->reason != NVMM_VCPU_EXIT_NONE;
}
