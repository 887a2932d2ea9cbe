/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: VCPUs. State and events travel through the comm page, so setting
 * state, injecting an event or reading cached state costs no system call;
 * running costs exactly one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm_internal.h"

static int vmm_vcpu_check(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	if (mach == NULL || vcpu == NULL || mach->pages == NULL ||
	    vcpu->cpuid >= vmm_cap.max_vcpus ||
	    mach->pages[vcpu->cpuid] == NULL) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

VMM_EXPORT int nvmm_vcpu_create(struct nvmm_machine *mach, nvmm_cpuid_t cpuid,
				struct nvmm_vcpu *vcpu)
{
	struct nvmm_ioc_vcpu_create args;
	struct nvmm_ioc_vcpu_destroy dargs;
	struct nvmm_comm_page *comm;

	if (mach == NULL || vcpu == NULL || mach->pages == NULL) {
		errno = EINVAL;
		return -1;
	}
	args.machid = mach->machid;
	args.cpuid = cpuid;
	if (vmm_ioctl(NVMM_IOC_VCPU_CREATE, &args) == -1)
		return -1;

	comm = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE,
		    MAP_SHARED, vmm_fd, NVMM_COMM_OFF(mach->machid, cpuid));
	if (comm == MAP_FAILED) {
		int err = errno;

		dargs.machid = mach->machid;
		dargs.cpuid = cpuid;
		vmm_ioctl(NVMM_IOC_VCPU_DESTROY, &dargs);
		errno = err;
		return -1;
	}
	mach->pages[cpuid] = comm;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->cpuid = cpuid;
	vcpu->state = &comm->state;
	vcpu->event = &comm->event;
	vcpu->exit = &comm->exit;
	vcpu->stop = &comm->stop;
	return 0;
}

VMM_EXPORT int nvmm_vcpu_destroy(struct nvmm_machine *mach,
				 struct nvmm_vcpu *vcpu)
{
	struct nvmm_ioc_vcpu_destroy args;

	if (vmm_vcpu_check(mach, vcpu) == -1)
		return -1;
	args.machid = mach->machid;
	args.cpuid = vcpu->cpuid;
	if (vmm_ioctl(NVMM_IOC_VCPU_DESTROY, &args) == -1)
		return -1;
	munmap(mach->pages[vcpu->cpuid], sysconf(_SC_PAGESIZE));
	mach->pages[vcpu->cpuid] = NULL;
	return 0;
}

VMM_EXPORT int nvmm_vcpu_configure(struct nvmm_machine *mach,
				   struct nvmm_vcpu *vcpu, uint64_t op,
				   void *conf)
{
	struct nvmm_ioc_vcpu_configure args;

	if (vmm_vcpu_check(mach, vcpu) == -1)
		return -1;
	if (op == NVMM_VCPU_CONF_CALLBACKS) {
		if (conf == NULL) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&vcpu->cbs, conf, sizeof(vcpu->cbs));
		return 0;
	}
	memset(&args, 0, sizeof(args));
	args.machid = mach->machid;
	args.cpuid = vcpu->cpuid;
	args.op = op;
	args.conf = (uint64_t)(uintptr_t)conf;
	return vmm_ioctl(NVMM_IOC_VCPU_CONFIGURE, &args);
}

VMM_EXPORT int nvmm_vcpu_setstate(struct nvmm_machine *mach,
				  struct nvmm_vcpu *vcpu, uint64_t flags)
{
	struct nvmm_comm_page *comm;

	if (vmm_vcpu_check(mach, vcpu) == -1)
		return -1;
	comm = vmm_comm(mach, vcpu);
	comm->state_commit |= flags;
	comm->state_cached |= flags;
	return 0;
}

VMM_EXPORT int nvmm_vcpu_getstate(struct nvmm_machine *mach,
				  struct nvmm_vcpu *vcpu, uint64_t flags)
{
	struct nvmm_ioc_vcpu_getstate args;
	struct nvmm_comm_page *comm;

	if (vmm_vcpu_check(mach, vcpu) == -1)
		return -1;
	comm = vmm_comm(mach, vcpu);
	if ((flags & ~comm->state_cached) == 0)
		return 0;
	comm->state_wanted = flags & ~comm->state_cached;
	args.machid = mach->machid;
	args.cpuid = vcpu->cpuid;
	return vmm_ioctl(NVMM_IOC_VCPU_GETSTATE, &args);
}

VMM_EXPORT int nvmm_vcpu_inject(struct nvmm_machine *mach,
				struct nvmm_vcpu *vcpu)
{
	if (vmm_vcpu_check(mach, vcpu) == -1)
		return -1;
	vmm_comm(mach, vcpu)->event_commit = true;
	return 0;
}

VMM_EXPORT int nvmm_vcpu_run(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct nvmm_ioc_vcpu_run args;

	if (vmm_vcpu_check(mach, vcpu) == -1)
		return -1;
	args.machid = mach->machid;
	args.cpuid = vcpu->cpuid;
	/* The kernel writes the exit into the comm page: vcpu->exit. */
	return vmm_ioctl(NVMM_IOC_VCPU_RUN, &args);
}

/* Async-signal-safe: a store into the comm page, nothing else. */
VMM_EXPORT int nvmm_vcpu_stop(struct nvmm_vcpu *vcpu)
{
	if (vcpu == NULL || vcpu->stop == NULL) {
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(vcpu->stop, 1, __ATOMIC_RELEASE);
	return 0;
}

static const char *const vmm_seg_names[NVMM_X64_NSEG] = {
	"ES", "CS", "SS", "DS", "FS", "GS", "GDT", "IDT", "LDT", "TR"
};

static const char *const vmm_gpr_names[NVMM_X64_NGPR] = {
	"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
	"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
	"RIP", "RFLAGS"
};

VMM_EXPORT int nvmm_vcpu_dump(struct nvmm_machine *mach,
			      struct nvmm_vcpu *vcpu)
{
	const struct nvmm_x64_state *st;
	size_t i;

	if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_ALL) == -1)
		return -1;
	st = vcpu->state;

	fprintf(stderr, "nvmm: machine %u, VCPU %u\n", mach->machid,
		vcpu->cpuid);
	for (i = 0; i < NVMM_X64_NGPR; i++)
		fprintf(stderr, "  %-6s %016" PRIx64 "%s", vmm_gpr_names[i],
			st->gprs[i], (i % 3 == 2) ? "\n" : "");
	fprintf(stderr, "\n  CR0 %016" PRIx64 " CR2 %016" PRIx64
		" CR3 %016" PRIx64 " CR4 %016" PRIx64 "\n  CR8 %016" PRIx64
		" XCR0 %016" PRIx64 " EFER %016" PRIx64 "\n",
		st->crs[NVMM_X64_CR_CR0], st->crs[NVMM_X64_CR_CR2],
		st->crs[NVMM_X64_CR_CR3], st->crs[NVMM_X64_CR_CR4],
		st->crs[NVMM_X64_CR_CR8], st->crs[NVMM_X64_CR_XCR0],
		st->msrs[NVMM_X64_MSR_EFER]);
	for (i = 0; i < NVMM_X64_NSEG; i++) {
		const struct nvmm_x64_state_seg *s = &st->segs[i];

		fprintf(stderr, "  %-3s sel %04x base %016" PRIx64
			" limit %08x type %x s %u dpl %u p %u l %u def %u g %u\n",
			vmm_seg_names[i], s->selector, s->base, s->limit,
			s->attrib.type, s->attrib.s, s->attrib.dpl,
			s->attrib.p, s->attrib.l, s->attrib.def, s->attrib.g);
	}
	fprintf(stderr, "  intr: shadow %u int_window %u nmi_window %u pending %u\n",
		(unsigned int)st->intr.int_shadow,
		(unsigned int)st->intr.int_window_exiting,
		(unsigned int)st->intr.nmi_window_exiting,
		(unsigned int)st->intr.evt_pending);
	return 0;
}
