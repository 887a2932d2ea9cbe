/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86 helpers shared by the SVM and VMX backends: what a guest may see of
 * CPUID, what state it may be given, and the guest FPU.
 */
#ifndef NVMM_X86_H_INTERNAL
#define NVMM_X86_H_INTERNAL

#include <linux/types.h>
#include <linux/string.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/msr.h>

#include "nvmm_internal.h"

#define NVMM_X86_NCPUIDS	64

/* What the x86 backends' init() and capability() do first. */
int nvmm_x86_init(void);
void nvmm_x86_capability(struct nvmm_capability *cap);
/* The backends' stats(): exit times are in TSC cycles. */
void nvmm_x86_stats(struct seq_file *m);

/*
 * How long a spin runs before it exits (SVM's pause filter count, VMX's
 * PLE window), after a spin exit: back to base when the exit let another
 * VCPU run, else doubled up to max. A spin that finds nobody to yield to
 * (a lone VCPU in a delay loop, or waiting on its VMM's device thread)
 * then exits ever less often, as under KVM, whose window grows alike.
 */
static inline u32 nvmm_x86_spin_window(u32 cur, u32 base, u32 max,
				       bool yielded)
{
	if (yielded)
		return base;
	return cur >= max / 2 ? max : cur * 2;
}

/*
 * Exits by the backend's own exit code (VMX basic exit reason, SVM
 * EXITCODE below NVMM_X86_NCODES; the rest share the last slot), for
 * debugfs: what the exit_* kinds lump together.
 */
#define NVMM_X86_NCODES		256
DECLARE_PER_CPU(unsigned long, nvmm_x86_codes[NVMM_X86_NCODES]);

static inline void nvmm_x86_count_code(u64 code)
{
	this_cpu_inc(nvmm_x86_codes[min_t(u64, code, NVMM_X86_NCODES - 1)]);
}

/* EFER bits a guest may hold (SVME is the backend's business). */
extern u64 nvmm_x86_efer_valid;
/* CR4 bits a guest may hold. */
extern u64 nvmm_x86_cr4_valid;
/* XCR0 bits a guest may enable. */
extern u64 nvmm_x86_xcr0_mask;
/* The host's XCR0 (0 when the host has no XSAVE). */
extern u64 nvmm_x86_host_xcr0;

extern const struct nvmm_x64_state nvmm_x86_reset_state;

/* Per-VCPU CPUID configuration (NVMM_VCPU_CONF_CPUID). */
struct nvmm_x86_cpuid_conf {
	/* conf[0..n) in use, one per leaf, in no order: no hole to skip. */
	unsigned int n;
	struct nvmm_vcpu_conf_cpuid conf[NVMM_X86_NCPUIDS];
};

int nvmm_x86_conf_cpuid(struct nvmm_x86_cpuid_conf *confs,
			const void __user *uconf);

/*
 * What CPUID(leaf, subleaf) returns in the guest: the host's values,
 * filtered, then the VCPU's configuration. Returns true when the VCPU is
 * configured to exit to userland on this leaf instead.
 */
struct nvmm_x86_cpuid_ctx {
	u32 vcpu_id;
	u32 nvcpus;
	u64 cr4;
	u64 xcr0;
};

bool nvmm_x86_cpuid(const struct nvmm_x86_cpuid_conf *confs,
		    const struct nvmm_x86_cpuid_ctx *ctx, u32 leaf, u32 subleaf,
		    u32 regs[4]);

/* Validation of state handed in by userland. */
bool nvmm_x86_xcr0_valid(u64 xcr0);
bool nvmm_x86_pat_valid(u64 pat);
bool nvmm_x86_canonical(u64 va);

/*
 * The groups in flags of the comm page's state, copied once each (userland
 * may write the page while the kernel looks): a commit of the general
 * registers alone, the assists' after each exit, copies 144 bytes, not the
 * whole state with its FPU area.
 */
static inline void nvmm_x86_state_copy(struct nvmm_x64_state *st,
				       const struct nvmm_x64_state *from,
				       u64 flags)
{
	if (flags & NVMM_X64_STATE_SEGS)
		memcpy(st->segs, from->segs, sizeof(st->segs));
	if (flags & NVMM_X64_STATE_GPRS)
		memcpy(st->gprs, from->gprs, sizeof(st->gprs));
	if (flags & NVMM_X64_STATE_CRS)
		memcpy(st->crs, from->crs, sizeof(st->crs));
	if (flags & NVMM_X64_STATE_DRS)
		memcpy(st->drs, from->drs, sizeof(st->drs));
	if (flags & NVMM_X64_STATE_MSRS)
		memcpy(st->msrs, from->msrs, sizeof(st->msrs));
	if (flags & NVMM_X64_STATE_INTR)
		memcpy(&st->intr, &from->intr, sizeof(st->intr));
	if (flags & NVMM_X64_STATE_FPU)
		memcpy(&st->fpu, &from->fpu, sizeof(st->fpu));
}

/*
 * Committed state (st, a kernel copy of the comm page's) for the groups in
 * flags: made what NetBSD's kernel makes of it (XCR0 and MXCSR masked...),
 * then checked for what the host cannot load. Returns 0, or -EINVAL after
 * a rate-limited log line naming the group and the reason.
 */
int nvmm_x86_state_prepare(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
			   u64 flags);
/* The groups nvmm_x86_state_prepare() looks at: GPRS and INTR need none. */
#define NVMM_X86_STATE_PREPARED						\
	(NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_DRS |	\
	 NVMM_X64_STATE_MSRS | NVMM_X64_STATE_FPU)
/* The log line of a refused commit (group: one NVMM_X64_STATE_* bit). */
void nvmm_x86_state_refused(struct nvmm_cpu *vcpu, u64 group,
			    const char *why);

/* The RFLAGS bits a guest may hold: bit 1 reads 1, the others 0. */
#define NVMM_X86_RFLAGS_DEFINED						\
	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF |	\
	 X86_EFLAGS_SF | X86_EFLAGS_TF | X86_EFLAGS_IF | X86_EFLAGS_DF |	\
	 X86_EFLAGS_OF | X86_EFLAGS_IOPL | X86_EFLAGS_NT | X86_EFLAGS_RF |	\
	 X86_EFLAGS_VM | X86_EFLAGS_AC | X86_EFLAGS_VIF | X86_EFLAGS_VIP |	\
	 X86_EFLAGS_ID)

/* RFLAGS with its fixed bits: bit 1 set, reserved bits clear. */
static inline u64 nvmm_x86_rflags(u64 rflags)
{
	return (rflags & NVMM_X86_RFLAGS_DEFINED) | X86_EFLAGS_FIXED;
}

/*
 * What both backends keep of a VCPU: the first member of their cpudata
 * (struct svm_cpudata, struct vmx_cpudata), used by the shared run path
 * (run.h) and the shared halves of state and events.
 */
struct nvmm_x86_cpu {
	/* Guest registers the VMCB or VMCS does not hold (each its own). */
	u64 gprs[NVMM_X64_NGPR];
	u64 drs[4];			/* DR0-3 */
	u64 dr6;			/* VMX: the VMCB holds SVM's */
	u64 xcr0;
	u32 pkru;
	u64 tsc_offset;
	bool dr_live;			/* DR accesses not intercepted */

	/* Events and windows. */
	bool int_window_exit;
	bool nmi_window_exit;
	bool evt_pending;		/* the CPU is to deliver an event */
	bool evt_held;			/* held_ev waits for it */
	struct nvmm_vcpu_event held_ev;
	unsigned int reinject_runs;

	/* The counter the last exit is counted in (enum nvmm_count). */
	unsigned int exit_kind;
	u64 exit_tsc;			/* when it came; 0: none yet */

	struct nvmm_x86_cpuid_conf cpuid;
	struct fpu_guest gfpu;
	struct nvmm_x64_state scratch;	/* a copy of committed state */
};

/* Entries in a row that finish an interrupted event's delivery. */
#define NVMM_X86_REINJECT_MAX	16

/*
 * Before an entry, IRQs off. The delivery of an event that an exit
 * interrupted is finished first, without the return-to-user checks, for
 * at most NVMM_X86_REINJECT_MAX entries in a row: then the checks run
 * (nvmm_vcpu_enter_check()), so that a guest whose event delivery keeps
 * exiting cannot keep its VMM from a signal or a stop. Returns false to
 * enter, or true with the reason to return to userland in *reason.
 */
static inline bool nvmm_x86_enter_check(struct nvmm_cpu *vcpu,
					bool evt_pending,
					unsigned int *reinject_runs,
					u64 *reason)
{
	if (evt_pending && *reinject_runs < NVMM_X86_REINJECT_MAX) {
		(*reinject_runs)++;
		WRITE_ONCE(vcpu->hcpu, smp_processor_id());
		WRITE_ONCE(vcpu->mode, NVMM_VCPU_IN_GUEST);
		/* As in nvmm_vcpu_enter_check(): flushes see us in guest. */
		smp_mb();
		return false;
	}
	*reinject_runs = 0;
	return nvmm_vcpu_enter_check(vcpu, reason);
}

/*
 * The TSC offset for a VMM's write of value to a VCPU's TSC (setstate):
 * one the machine's VCPUs share when the write is a resynchronization.
 */
u64 nvmm_x86_tsc_offset(struct nvmm_machine *mach, u64 value);

/* The guest FPU: fxsave image <-> the guest's xstate. */
int nvmm_x86_fpu_alloc(struct fpu_guest *gfpu);
void nvmm_x86_fpu_free(struct fpu_guest *gfpu);
int nvmm_x86_fpu_get(struct fpu_guest *gfpu, struct fxsave *fx);
int nvmm_x86_fpu_set(struct fpu_guest *gfpu, const struct fxsave *fx,
		     u64 xcr0);
void nvmm_x86_fpu_reset(struct fpu_guest *gfpu, u64 xcr0);

/*
 * The next instruction pointer, npc as the exit gave it, wrapped as the CPU
 * wraps it: at 16 or 32 bits unless the code is 64-bit (cs64: EFER.LMA and
 * CS.L; cs32: CS.D). Only an npc that differs from rip above bit 15 can
 * need it (nvmm_x86_npc_may_wrap), so the backends read the code size only
 * then and the common exit pays one test.
 */
static inline u64 nvmm_x86_npc_wrap(u64 npc, bool cs64, bool cs32)
{
	if (cs64)
		return npc;
	return cs32 ? (u32)npc : (u16)npc;
}

static inline bool nvmm_x86_npc_may_wrap(u64 rip, u64 npc)
{
	return (rip ^ npc) >> 16;
}

/* Exception vectors that push an error code. */
bool nvmm_x86_excp_has_error(u8 vector);

/*
 * Whether RFLAGS.RF is set before an exception is injected: faults restart
 * their instruction, which must not hit its instruction breakpoint again.
 */
bool nvmm_x86_excp_sets_rf(u8 vector);

/*
 * The groups both backends keep in struct nvmm_x86_cpu: the general
 * registers (the backend then gives those its VMCB or VMCS holds), DR0-3,
 * XCR0, the TSC and the event windows. DR6 is the backend's.
 */
static inline void nvmm_x86_state_get(const struct nvmm_x86_cpu *x,
				      struct nvmm_x64_state *st, u64 flags)
{
	if (flags & NVMM_X64_STATE_GPRS)
		memcpy(st->gprs, x->gprs, sizeof(st->gprs));
	if (flags & NVMM_X64_STATE_CRS)
		st->crs[NVMM_X64_CR_XCR0] = x->xcr0;
	if (flags & NVMM_X64_STATE_DRS) {
		st->drs[NVMM_X64_DR_DR0] = x->drs[0];
		st->drs[NVMM_X64_DR_DR1] = x->drs[1];
		st->drs[NVMM_X64_DR_DR2] = x->drs[2];
		st->drs[NVMM_X64_DR_DR3] = x->drs[3];
	}
	if (flags & NVMM_X64_STATE_MSRS)
		st->msrs[NVMM_X64_MSR_TSC] = rdtsc() + x->tsc_offset;
	if (flags & NVMM_X64_STATE_INTR) {
		st->intr.int_window_exiting = x->int_window_exit;
		st->intr.nmi_window_exiting = x->nmi_window_exit;
		st->intr.evt_pending = x->evt_pending || x->evt_held;
		st->intr.rsvd = 0;
	}
}

/* The same groups, from committed state that nvmm_x86_state_prepare() took. */
static inline void nvmm_x86_state_set(struct nvmm_machine *mach,
				      struct nvmm_x86_cpu *x,
				      const struct nvmm_x64_state *st,
				      u64 flags)
{
	if (flags & NVMM_X64_STATE_GPRS)
		memcpy(x->gprs, st->gprs, sizeof(x->gprs));
	if (flags & NVMM_X64_STATE_CRS)
		x->xcr0 = st->crs[NVMM_X64_CR_XCR0];
	if (flags & NVMM_X64_STATE_DRS) {
		x->drs[0] = st->drs[NVMM_X64_DR_DR0];
		x->drs[1] = st->drs[NVMM_X64_DR_DR1];
		x->drs[2] = st->drs[NVMM_X64_DR_DR2];
		x->drs[3] = st->drs[NVMM_X64_DR_DR3];
		x->dr6 = st->drs[NVMM_X64_DR_DR6] | DR6_RESERVED;
	}
	if (flags & NVMM_X64_STATE_MSRS)
		x->tsc_offset = nvmm_x86_tsc_offset(mach,
						    st->msrs[NVMM_X64_MSR_TSC]);
}

/*
 * Groups provided on an exit, valid in the comm page until the run: the
 * shared half, then the backend's (get, its state_get()).
 */
static __always_inline void
nvmm_x86_state_provide(struct nvmm_cpu *vcpu, u64 flags,
		       void (*get)(struct nvmm_cpu *vcpu,
				   struct nvmm_x64_state *st, u64 flags))
{
	struct nvmm_comm_page *comm = vcpu->comm;

	nvmm_x86_state_get(vcpu->cpudata, &comm->state, flags);
	get(vcpu, &comm->state, flags);
	comm->state_cached |= flags;
}

/* A machine check that stopped the guest is the host's: its handler runs. */
void nvmm_x86_machine_check(void);

/* The event userland committed (a copy): 0, or -EINVAL if malformed. */
int nvmm_x86_event_check(struct nvmm_vcpu_event *ev);

/*
 * The guest's XSETBV of val to XCR[ecx] at cpl with CR4 cr4: 0 if it may be
 * done, else the vector of the exception it raises (#UD or #GP(0)).
 */
int nvmm_x86_xsetbv_check(u64 cr4, u32 ecx, unsigned int cpl, u64 val);

#endif /* NVMM_X86_H_INTERNAL */
