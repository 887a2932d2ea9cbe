/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm internals shared by its source files.
 */
#ifndef VMM_INTERNAL_H
#define VMM_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

#define VMM_EXPORT __attribute__((visibility("default")))

/* The descriptor of /dev/nvmm and what the kernel told us at init. */
extern int vmm_fd;
extern struct nvmm_capability vmm_cap;

/* A guest-physical range backed by host memory (nvmm_gpa_map). */
struct vmm_area {
	gpaddr_t gpa;
	uintptr_t hva;
	size_t size;
	nvmm_prot_t prot;	/* NVMM_PROT_* */
};

/* A host range registered with nvmm_hva_map. */
struct vmm_hva {
	uintptr_t hva;
	size_t size;
};

/* What struct nvmm_machine's 'areas' points to. */
struct vmm_areas {
	pthread_rwlock_t lock;
	/*
	 * Moves (under the write lock, release) each time the guest-physical
	 * areas change; unique across machines. vmm_area_find() keeps copies
	 * of what it found per thread, valid while it has not moved.
	 */
	uint64_t seq;
	struct vmm_area *gpa;	/* sorted by gpa, no overlaps */
	size_t ngpa;
	size_t gpa_cap;
	struct vmm_hva *hva;	/* sorted by hva, no overlaps */
	size_t nhva;
	size_t hva_cap;
};

struct vmm_areas *vmm_areas_new(void);
void vmm_areas_free(struct vmm_areas *areas);

/*
 * The area holding gpa, copied to *out. Returns 0, or -1 when no area holds
 * it. Safe against concurrent nvmm_gpa_map/unmap from other threads: the
 * result is the areas as they were at some point during the call.
 */
int vmm_area_find(struct nvmm_machine *mach, gpaddr_t gpa,
		  struct vmm_area *out);

static inline struct nvmm_comm_page *vmm_comm(struct nvmm_machine *mach,
					      struct nvmm_vcpu *vcpu)
{
	return mach->pages[vcpu->cpuid];
}

/* ioctl(2) on vmm_fd, restarted when a signal interrupted it. */
int vmm_ioctl(unsigned long cmd, void *arg);

#endif /* VMM_INTERNAL_H */
