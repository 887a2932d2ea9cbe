/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VCPU run path both x86 backends share: commit of the state and event
 * userland left in the comm page, the enter/exit loop with its return-to-
 * user checks, the switching of the FPU, XCR0, PKRU and debug registers
 * around the world switch, counting by exit kind, and the export of the
 * exit state. Written once, here; each backend compiles it with its own
 * hooks (struct nvmm_x86_run_ops), which are constant: the compiler calls
 * them directly and drops those a backend leaves out, so the path costs no
 * indirect call.
 *
 * A backend keeps only what is truly SVM or VMX: VMCB or VMCS access, the
 * world switch itself, and the decoding of its exits.
 */
#ifndef NVMM_X86_RUN_H
#define NVMM_X86_RUN_H

#include <linux/hw_breakpoint.h>
#include <linux/kvm_host.h>
#include <asm/debugreg.h>
#include <asm/fpu/xcr.h>
#include <asm/nospec-branch.h>

#include "x86.h"

struct nvmm_x86_run_ops {
	/*
	 * Make the VCPU's hardware state usable on this thread (VMX: its
	 * VMCS current wherever the thread runs), and give it up. Optional.
	 */
	void (*load)(struct nvmm_cpu *vcpu);
	void (*put)(struct nvmm_cpu *vcpu);

	/*
	 * The backend's share of the state: nvmm_x86_state_get() and _set()
	 * do the shared one. state_set gets what nvmm_x86_state_prepare()
	 * made of the committed state, but for the GPRs, which it reads from
	 * their kernel copy (struct nvmm_x86_cpu).
	 */
	void (*state_get)(struct nvmm_cpu *vcpu, struct nvmm_x64_state *st,
			  u64 flags);
	void (*state_set)(struct nvmm_cpu *vcpu,
			  const struct nvmm_x64_state *st, u64 flags);

	/* Put a checked event in the CPU's injection field, which is free. */
	void (*event_deliver)(struct nvmm_cpu *vcpu,
			      const struct nvmm_vcpu_event *ev);
	/* Events the backend holds itself, before each entry. Optional. */
	void (*event_held)(struct nvmm_cpu *vcpu);

	/* Before each entry, IRQs on; may sleep. Optional. */
	void (*entry_prepare)(struct nvmm_machine *mach,
			      struct nvmm_cpu *vcpu);
	/*
	 * IRQs off, the VCPU marked in guest mode: ASID or VPID, TLB flushes,
	 * host values. Returns false if this CPU cannot enter now.
	 */
	bool (*entry_ready)(struct nvmm_machine *mach, struct nvmm_cpu *vcpu);
	/* The guest's DR7 and CR4 as they are now. */
	u64 (*guest_dr7)(struct nvmm_cpu *vcpu);
	u64 (*guest_cr4)(struct nvmm_cpu *vcpu);
	/*
	 * Around the register switches and the world switch (SVM: GIF
	 * cleared, so that NMIs wait until the host's registers are back).
	 * Optional.
	 */
	void (*switch_begin)(struct nvmm_cpu *vcpu);
	void (*switch_end)(struct nvmm_cpu *vcpu);
	/* Enter the guest and come back with its exit. */
	void (*enter_exit)(struct nvmm_cpu *vcpu);
	/* Right after it, guest registers still loaded. Optional. */
	void (*exit_early)(struct nvmm_cpu *vcpu);
	/* Intercept the guest's DR accesses again (dr_live is over). */
	void (*dr_intercept)(struct nvmm_cpu *vcpu);
	/* Whether the world switch leaves DR6 to us (VMX: it does). */
	bool dr6_switched;

	/*
	 * Handle the exit, IRQs on: 1 to return to userland with *exit, 0 to
	 * enter again, or -errno. Sets x->exit_kind for the counters.
	 */
	int (*exit)(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
		    struct nvmm_vcpu_exit *exit);
	/*
	 * exit->exitstate: RFLAGS, CR8, the interrupt shadow; evt_pending if
	 * the backend holds more events.
	 */
	void (*exitstate)(struct nvmm_cpu *vcpu, struct nvmm_vcpu_exit *exit);
};

static __always_inline struct nvmm_x86_cpu *nvmm_x86_cpu(struct nvmm_cpu *vcpu)
{
	/* The first member of each backend's cpudata. */
	return vcpu->cpudata;
}

/*
 * The committed event. While the delivery of another is still pending, it
 * is held, and delivered once that one is (NetBSD overwrites the pending
 * one instead, which the guest then never gets).
 */
static __always_inline int
nvmm_x86_event_commit(struct nvmm_cpu *vcpu,
		      const struct nvmm_x86_run_ops *ops)
{
	struct nvmm_x86_cpu *x = nvmm_x86_cpu(vcpu);
	struct nvmm_vcpu_event ev;

	memcpy(&ev, &vcpu->comm->event, sizeof(ev));
	if (nvmm_x86_event_check(&ev))
		return -EINVAL;
	if (x->evt_pending) {
		x->held_ev = ev;
		x->evt_held = true;
		return 0;
	}
	ops->event_deliver(vcpu, &ev);
	return 0;
}

/* Load committed state from the comm page. Nothing changes on failure. */
static __always_inline int
nvmm_x86_state_commit(struct nvmm_cpu *vcpu, u64 flags,
		      const struct nvmm_x86_run_ops *ops)
{
	struct nvmm_x86_cpu *x = nvmm_x86_cpu(vcpu);
	struct nvmm_x64_state *st = &x->scratch;
	int ret;

	if (!(flags & NVMM_X86_STATE_PREPARED)) {
		/*
		 * GPRS and INTR, as the assists commit after an exit: nothing
		 * to check, nothing to refuse. The GPRs go straight to their
		 * kernel copy, which the backend reads.
		 */
		if (flags & NVMM_X64_STATE_GPRS)
			memcpy(x->gprs, vcpu->comm->state.gprs, sizeof(x->gprs));
		if (flags & NVMM_X64_STATE_INTR)
			memcpy(&st->intr, &vcpu->comm->state.intr,
			       sizeof(st->intr));
		ops->state_set(vcpu, st, flags);
		return 0;
	}
	nvmm_x86_state_copy(st, &vcpu->comm->state, flags);
	ret = nvmm_x86_state_prepare(vcpu, st, flags);
	if (ret)
		return ret;
	if (flags & NVMM_X64_STATE_FPU) {
		ret = nvmm_x86_fpu_set(&x->gfpu, &st->fpu, nvmm_x86_xcr0_mask);
		if (ret)
			return ret;
	}
	nvmm_x86_state_set(vcpu->mach, x, st, flags);
	ops->state_set(vcpu, st, flags);
	return 0;
}

/* NVMM_IOC_VCPU_GETSTATE: the groups in state_wanted, to the comm page. */
static __always_inline int
nvmm_x86_vcpu_getstate(struct nvmm_cpu *vcpu,
		       const struct nvmm_x86_run_ops *ops)
{
	struct nvmm_x86_cpu *x = nvmm_x86_cpu(vcpu);
	struct nvmm_comm_page *comm = vcpu->comm;
	u64 wanted = READ_ONCE(comm->state_wanted);
	int ret;

	/* Groups this version does not know are ignored, as on NetBSD. */
	wanted &= NVMM_X64_STATE_ALL;
	if (ops->load)
		ops->load(vcpu);
	nvmm_x86_state_get(x, &comm->state, wanted);
	ops->state_get(vcpu, &comm->state, wanted);
	if (ops->put)
		ops->put(vcpu);
	if (wanted & NVMM_X64_STATE_FPU) {
		ret = nvmm_x86_fpu_get(&x->gfpu, &comm->state.fpu);
		if (ret)
			return ret;
	}
	comm->state_wanted = 0;
	comm->state_cached |= wanted;
	return 0;
}

/*
 * Enter the guest once. Returns true if it ran (the exit is the backend's
 * to handle), or false with the reason to return to userland in *reason.
 */
static __always_inline bool
nvmm_x86_enter(struct nvmm_machine *mach, struct nvmm_cpu *vcpu, u64 *reason,
	       const struct nvmm_x86_run_ops *ops)
{
	struct nvmm_x86_cpu *x = nvmm_x86_cpu(vcpu);
	bool guest_dr, guest_pkru;

	if (ops->entry_prepare)
		ops->entry_prepare(mach, vcpu);
	guest_dr = x->dr_live || (ops->guest_dr7(vcpu) & DR7_BP_EN_MASK);

	local_irq_disable();
	if (nvmm_x86_enter_check(vcpu, x->evt_pending, &x->reinject_runs,
				 reason)) {
		local_irq_enable();
		return false;
	}
	nvmm_vcpu_fpu_load();

	/*
	 * The reboot notifier and CPU hotplug turn virtualization off, IRQs
	 * off: with IRQs off here, this CPU keeps it until we enable them.
	 */
	if (unlikely(READ_ONCE(nvmm_rebooting) ||
		     !ops->entry_ready(mach, vcpu))) {
		nvmm_vcpu_leave(vcpu);
		local_irq_enable();
		*reason = NVMM_VCPU_EXIT_NONE;
		return false;
	}

	guest_timing_enter_irqoff();
	if (ops->switch_begin)
		ops->switch_begin(vcpu);

	/*
	 * CR4 writes of valid bits do not exit: the guest may turn OSXSAVE on
	 * at any time and must then find its own XCR0, whatever CR4 is now.
	 */
	if (nvmm_x86_host_xcr0 && x->xcr0 != nvmm_x86_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, x->xcr0);
	guest_pkru = boot_cpu_has(X86_FEATURE_OSPKE) &&
		     (ops->guest_cr4(vcpu) & X86_CR4_PKE);
	if (guest_pkru)
		write_pkru(x->pkru);
	if (guest_dr) {
		if (hw_breakpoint_active())
			set_debugreg(0, 7);
		set_debugreg(x->drs[0], 0);
		set_debugreg(x->drs[1], 1);
		set_debugreg(x->drs[2], 2);
		set_debugreg(x->drs[3], 3);
		if (ops->dr6_switched)
			set_debugreg(x->dr6, 6);
	}

	/* The last exit's time, to this entry, goes to its kind. */
	if (likely(x->exit_tsc))
		nvmm_count_cycles(x->exit_kind, rdtsc() - x->exit_tsc);
	ops->enter_exit(vcpu);
	x->exit_tsc = rdtsc();
	nvmm_count(NVMM_COUNT_ENTRIES);
	if (ops->exit_early)
		ops->exit_early(vcpu);

	if (x->dr_live) {
		/* The guest used its DRs freely: take them, watch again. */
		get_debugreg(x->drs[0], 0);
		get_debugreg(x->drs[1], 1);
		get_debugreg(x->drs[2], 2);
		get_debugreg(x->drs[3], 3);
		if (ops->dr6_switched)
			get_debugreg(x->dr6, 6);
		x->dr_live = false;
		ops->dr_intercept(vcpu);
	}
	if (guest_dr && ops->dr6_switched)
		set_debugreg(DR6_RESERVED, 6);
	/* The guest's DR7, or the exit's, replaced the host's. */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	if (guest_pkru || (boot_cpu_has(X86_FEATURE_OSPKE) &&
			   (ops->guest_cr4(vcpu) & X86_CR4_PKE))) {
		x->pkru = rdpkru();
		if (x->pkru != current->thread.pkru)
			write_pkru(current->thread.pkru);
	}
	/* XSETBV exits: XCR0 is what we loaded, or what exit_early saw. */
	if (nvmm_x86_host_xcr0 && x->xcr0 != nvmm_x86_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, nvmm_x86_host_xcr0);
	/* VMSCAPE: no guest-trained prediction for the VMM in userland. */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);

	nvmm_vcpu_leave(vcpu);
	if (ops->switch_end)
		ops->switch_end(vcpu);
	guest_timing_exit_irqoff();
	local_irq_enable();
	return true;
}

/*
 * NVMM_IOC_VCPU_RUN: commit what userland left, then enter the guest until
 * an exit for userland, which goes to the comm page.
 */
static __always_inline int
nvmm_x86_vcpu_run(struct nvmm_machine *mach, struct nvmm_cpu *vcpu,
		  const struct nvmm_x86_run_ops *ops)
{
	struct nvmm_x86_cpu *x = nvmm_x86_cpu(vcpu);
	struct nvmm_comm_page *comm = vcpu->comm;
	struct nvmm_vcpu_exit exit;
	u64 commit, reason;
	int ret = 0;

	if (ops->load)
		ops->load(vcpu);
	commit = READ_ONCE(comm->state_commit);
	if (commit) {
		ret = nvmm_x86_state_commit(vcpu, commit, ops);
		if (ret)
			goto out;
		comm->state_commit = 0;
	}
	if (READ_ONCE(comm->event_commit)) {
		/* Consumed even when refused, as NetBSD does. */
		comm->event_commit = false;
		ret = nvmm_x86_event_commit(vcpu, ops);
		if (ret)
			goto out;
	}
	comm->state_cached = 0;

	memset(&exit, 0, sizeof(exit));
	ret = fpu_swap_kvm_fpstate(&x->gfpu, true);
	if (ret)
		goto out;
	for (;;) {
		if (unlikely(x->evt_held) && !x->evt_pending) {
			x->evt_held = false;
			ops->event_deliver(vcpu, &x->held_ev);
		}
		if (ops->event_held)
			ops->event_held(vcpu);
		if (!nvmm_x86_enter(mach, vcpu, &reason, ops)) {
			exit.reason = reason;
			ret = 0;
			break;
		}
		exit.reason = NVMM_VCPU_EXIT_NONE;
		x->exit_kind = NVMM_COUNT_EXIT_OTHER;
		ret = ops->exit(mach, vcpu, &exit);
		nvmm_count(x->exit_kind);
		if (ret) {
			if (ret > 0)
				nvmm_count(NVMM_COUNT_EXITS_USER);
			break;
		}
	}
	fpu_swap_kvm_fpstate(&x->gfpu, false);
	if (ret < 0)
		goto out;
	ret = 0;

	exit.exitstate.int_window_exiting = x->int_window_exit;
	exit.exitstate.nmi_window_exiting = x->nmi_window_exit;
	exit.exitstate.evt_pending = x->evt_pending || x->evt_held;
	exit.exitstate.rsvd = 0;
	ops->exitstate(vcpu, &exit);
	memcpy(&comm->exit, &exit, sizeof(exit));
out:
	if (ops->put)
		ops->put(vcpu);
	return ret;
}

#endif /* NVMM_X86_RUN_H */
