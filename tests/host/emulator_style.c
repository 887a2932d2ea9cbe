/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Written the way NVMM emulators are (QEMU's accelerator, NetBSD's assist
 * tests): only installed headers, only libnvmm v2 names, linked with
 * -lnvmm. If this builds with -Wall -Werror against an installation, the
 * interface is there; run on a host without /dev/nvmm, nvmm_init fails
 * cleanly.
 */
#include <nvmm.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define DESC_TYPE_MASK	(15 << 8)
#define DESC_G_MASK	(1 << 23)

static void io_callback(struct nvmm_io *io)
{
	if (io->in)
		memset(io->data, 0xFF, io->size);
	(void)io->port;
	(void)io->mach;
	(void)io->vcpu;
}

static void mem_callback(struct nvmm_mem *mem)
{
	if (!mem->write)
		memset(mem->data, 0, mem->size);
	(void)mem->gpa;
}

static struct nvmm_assist_callbacks callbacks = {
	.io = io_callback,
	.mem = mem_callback,
};

static int loop(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct nvmm_vcpu_exit *exit = vcpu->exit;
	struct nvmm_x64_state *state = vcpu->state;
	struct nvmm_vcpu_event *event = vcpu->event;
	uint32_t flags = 0;

	if (nvmm_vcpu_run(mach, vcpu) == -1)
		return -1;
	switch (exit->reason) {
	case NVMM_VCPU_EXIT_NONE:
	case NVMM_VCPU_EXIT_STOPPED:
	case NVMM_VCPU_EXIT_INT_READY:
	case NVMM_VCPU_EXIT_NMI_READY:
	case NVMM_VCPU_EXIT_TPR_CHANGED:
		break;
	case NVMM_VCPU_EXIT_MEMORY:
		return nvmm_assist_mem(mach, vcpu);
	case NVMM_VCPU_EXIT_IO:
		return nvmm_assist_io(mach, vcpu);
	case NVMM_VCPU_EXIT_RDMSR:
		nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_GPRS);
		state->gprs[NVMM_X64_GPR_RAX] = 0;
		state->gprs[NVMM_X64_GPR_RDX] = 0;
		state->gprs[NVMM_X64_GPR_RIP] = exit->u.rdmsr.npc;
		return nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_GPRS);
	case NVMM_VCPU_EXIT_WRMSR:
		(void)exit->u.wrmsr.val;
		state->gprs[NVMM_X64_GPR_RIP] = exit->u.wrmsr.npc;
		return nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_GPRS);
	case NVMM_VCPU_EXIT_MONITOR:
	case NVMM_VCPU_EXIT_MWAIT:
	case NVMM_VCPU_EXIT_CPUID:
		(void)exit->u.insn.npc;
		event->type = NVMM_VCPU_EVENT_EXCP;
		event->vector = 6;
		event->u.excp.error = 0;
		return nvmm_vcpu_inject(mach, vcpu);
	case NVMM_VCPU_EXIT_HALTED:
	case NVMM_VCPU_EXIT_SHUTDOWN:
		break;
	default:
		fprintf(stderr, "unexpected exit %#llx hw %#llx\n",
			(unsigned long long)exit->reason,
			(unsigned long long)exit->u.inv.hwcode);
		return -1;
	}
	flags = __SHIFTOUT(state->segs[NVMM_X64_SEG_CS].attrib.type,
			   DESC_TYPE_MASK) |
		__SHIFTIN((uint32_t)state->segs[NVMM_X64_SEG_CS].attrib.g,
			  DESC_G_MASK);
	(void)flags;
	(void)exit->exitstate.rflags;
	(void)exit->exitstate.int_shadow;
	(void)exit->exitstate.evt_pending;
	(void)state->fpu.fx_xmm[0].xmm_bytes[0];
	(void)state->fpu.fx_ip.fa_64;
	(void)state->intr.int_window_exiting;
	return 0;
}

int main(void)
{
	struct nvmm_capability cap;
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	struct nvmm_vcpu_conf_cpuid cpuid;
	struct nvmm_vcpu_conf_tpr tpr;
	struct nvmm_ctl_mach_info info;
	gpaddr_t gpa = 0;
	nvmm_prot_t prot = NVMM_PROT_ALL;

	if (nvmm_init() == -1) {
		/* No device here: the failure must be clean and explained. */
		printf("nvmm_init: %s\n", strerror(errno));
		return errno == ENOENT || errno == EACCES ? 0 : 1;
	}
	if (nvmm_capability(&cap) == -1 || cap.version < NVMM_KERN_VERSION ||
	    cap.state_size != sizeof(struct nvmm_x64_state))
		return EPROGMISMATCH;
	if (nvmm_machine_create(&mach) == -1 ||
	    nvmm_vcpu_create(&mach, 0, &vcpu) == -1)
		return 1;
	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.mask = 1;
	cpuid.leaf = 1;
	nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_CPUID, &cpuid);
	nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_CALLBACKS, &callbacks);
	if (cap.arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_TPR) {
		memset(&tpr, 0, sizeof(tpr));
		tpr.exit_changed = 1;
		nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_TPR, &tpr);
	}
	nvmm_gva_to_gpa(&mach, &vcpu, 0, &gpa, &prot);
	info.machid = mach.machid;
	nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info));
	nvmm_vcpu_stop(&vcpu);
	loop(&mach, &vcpu);
	nvmm_vcpu_dump(&mach, &vcpu);
	nvmm_vcpu_destroy(&mach, &vcpu);
	nvmm_machine_destroy(&mach);
	return 0;
}
