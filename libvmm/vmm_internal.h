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
	struct vmm_hva *hva;	/* unordered; may nest or repeat */
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

/*
 * The assists look up a few areas per call (the operands, the page tables,
 * the code), mostly the same ones from call to call. Each thread keeps the
 * last few results, an area or a hole between areas, tagged with the
 * machine's sequence number: a copy is used only while that number has not
 * moved, that is while the areas are what they were when it was made.
 */
#define VMM_AREA_CACHE 4

struct vmm_area_hit {
	const struct vmm_areas *areas;
	uint64_t seq;
	gpaddr_t first;		/* the range the result holds for: */
	uint64_t span;		/* [first, first + span] */
	const struct vmm_area *res;	/* &a, or NULL for a hole */
	struct vmm_area a;
};

struct vmm_area_cache {
	const struct vmm_area_hit *last;	/* the last one used: tried
						   first */
	const struct vmm_area_hit *prev;	/* the one before: second */
	struct vmm_area_hit e[VMM_AREA_CACHE];
	unsigned int next;
};

extern __thread struct vmm_area_cache vmm_area_cache
	__attribute__((tls_model("initial-exec")));

const struct vmm_area *vmm_area_get_slow(struct vmm_areas *areas,
					 uint64_t seq, gpaddr_t gpa);

/*
 * The same without the copy: the area holding gpa, or NULL. The result
 * points into this thread's cache and is valid until its next lookup
 * (vmm_area_get or vmm_area_find).
 */
static inline const struct vmm_area *vmm_area_get(struct nvmm_machine *mach,
						  gpaddr_t gpa)
{
	struct vmm_areas *areas = mach->areas;
	uint64_t seq = __atomic_load_n(&areas->seq, __ATOMIC_ACQUIRE);
	struct vmm_area_cache *cc = &vmm_area_cache;
	const struct vmm_area_hit *h = cc->last;

	if (__builtin_expect(h->seq == seq && h->areas == areas &&
			     gpa - h->first <= h->span, 1))
		return h->res;
	/* Two areas in turn (page tables and MMIO, say): the one before. */
	h = cc->prev;
	if (h->seq == seq && h->areas == areas && gpa - h->first <= h->span) {
		cc->prev = cc->last;
		cc->last = h;
		return h->res;
	}
	return vmm_area_get_slow(areas, seq, gpa);
}

static inline struct nvmm_comm_page *vmm_comm(struct nvmm_machine *mach,
					      struct nvmm_vcpu *vcpu)
{
	return mach->pages[vcpu->cpuid];
}

/* ioctl(2) on vmm_fd, restarted when a signal interrupted it. */
int vmm_ioctl(unsigned long cmd, void *arg);

#endif /* VMM_INTERNAL_H */
