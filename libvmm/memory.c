/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: host and guest-physical memory mappings.
 *
 * The kernel is the authority on mappings; the library keeps a copy of the
 * guest-physical areas so that the assists can turn a GPA into a host
 * address without a system call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm_internal.h"

/* Gives each machine's sequence numbers their own range. */
static uint64_t vmm_areas_serial;

struct vmm_areas *vmm_areas_new(void)
{
	struct vmm_areas *areas;

	areas = calloc(1, sizeof(*areas));
	if (areas == NULL)
		return NULL;
	areas->seq = __atomic_add_fetch(&vmm_areas_serial, 1ULL << 40,
					__ATOMIC_RELAXED);
	if (pthread_rwlock_init(&areas->lock, NULL) != 0) {
		free(areas);
		return NULL;
	}
	return areas;
}

void vmm_areas_free(struct vmm_areas *areas)
{
	if (areas == NULL)
		return;
	pthread_rwlock_destroy(&areas->lock);
	free(areas->gpa);
	free(areas->hva);
	free(areas);
}

/* Index of the first area whose end is above gpa. */
static size_t vmm_gpa_lower(const struct vmm_areas *areas, gpaddr_t gpa)
{
	size_t lo = 0, hi = areas->ngpa;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vmm_area *a = &areas->gpa[mid];

		if (a->gpa + a->size <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether a registered host range holds all of [hva, hva + size). */
static bool vmm_hva_held(const struct vmm_areas *areas, uintptr_t hva,
			 size_t size)
{
	size_t i;

	for (i = 0; i < areas->nhva; i++) {
		const struct vmm_hva *h = &areas->hva[i];

		if (hva >= h->hva && hva + size <= h->hva + h->size)
			return true;
	}
	return false;
}

static int vmm_grow(void **array, size_t *cap, size_t n, size_t elem)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*array, ncap * elem);
	if (p == NULL)
		return -1;
	*array = p;
	*cap = ncap;
	return 0;
}

static int vmm_range_ok(uint64_t start, size_t size)
{
	long pgsz = sysconf(_SC_PAGESIZE);

	if (size == 0 || (start % pgsz) != 0 || (size % pgsz) != 0 ||
	    start + size < start)
		return 0;
	return 1;
}

/* What a thread's cache points to before its first lookup: no match. */
static const struct vmm_area_hit vmm_area_none;

__thread struct vmm_area_cache vmm_area_cache
	__attribute__((tls_model("initial-exec"))) = {
	.last = &vmm_area_none,
	.prev = &vmm_area_none,
};

static inline bool vmm_area_hit(const struct vmm_area_hit *h,
				const struct vmm_areas *areas, uint64_t seq,
				gpaddr_t gpa)
{
	return h->seq == seq && h->areas == areas && gpa - h->first <= h->span;
}

/* Another thread changed the areas: they are reread under the lock. */
static void vmm_areas_changed(struct vmm_areas *areas)
{
	__atomic_store_n(&areas->seq, areas->seq + 1, __ATOMIC_RELEASE);
}

/* Not in this thread's copies: look it up under the lock, keep a copy. */
static __attribute__((noinline)) const struct vmm_area *
vmm_area_lookup(struct vmm_areas *areas, gpaddr_t gpa)
{
	unsigned int k = vmm_area_cache.next++ % VMM_AREA_CACHE;
	struct vmm_area_hit *h = &vmm_area_cache.e[k];
	gpaddr_t last;
	size_t i;

	vmm_area_cache.prev = vmm_area_cache.last;
	vmm_area_cache.last = h;
	pthread_rwlock_rdlock(&areas->lock);
	i = vmm_gpa_lower(areas, gpa);
	h->areas = areas;
	h->seq = areas->seq;
	if (i < areas->ngpa && areas->gpa[i].gpa <= gpa) {
		h->a = areas->gpa[i];
		h->res = &h->a;
		h->first = h->a.gpa;
		last = h->a.gpa + h->a.size - 1;
	} else {
		h->res = NULL;
		h->first = i > 0 ? areas->gpa[i - 1].gpa +
				   areas->gpa[i - 1].size : 0;
		last = i < areas->ngpa ? areas->gpa[i].gpa - 1 : ~0ULL;
	}
	h->span = last - h->first;
	pthread_rwlock_unlock(&areas->lock);
	return h->res;
}

const struct vmm_area *vmm_area_get_slow(struct vmm_areas *areas,
					 uint64_t seq, gpaddr_t gpa)
{
	struct vmm_area_cache *cc = &vmm_area_cache;
	const struct vmm_area_hit *h, *end;

	/* Neither the last one nor the one before (vmm_area_get()). */
	for (h = cc->e, end = cc->e + VMM_AREA_CACHE; h < end; h++) {
		if (vmm_area_hit(h, areas, seq, gpa)) {
			cc->prev = cc->last;
			cc->last = h;
			return h->res;
		}
	}
	return vmm_area_lookup(areas, gpa);
}

int vmm_area_find(struct nvmm_machine *mach, gpaddr_t gpa,
		  struct vmm_area *out)
{
	const struct vmm_area *a = vmm_area_get(mach, gpa);

	if (a == NULL)
		return -1;
	*out = *a;
	return 0;
}

/*
 * As NetBSD's kernel: hva 0 is refused; a range inside (or identical to) a
 * registered one is registered again; one overlapping a registration
 * without lying inside any is refused with EEXIST. The kernel decides the
 * same way; checking here first saves the system call.
 */
VMM_EXPORT int nvmm_hva_map(struct nvmm_machine *mach, uintptr_t hva,
			    size_t size)
{
	struct nvmm_ioc_hva_map args;
	struct vmm_areas *areas;
	size_t i;
	int ret = -1;

	if (mach == NULL || mach->areas == NULL || hva == 0 ||
	    !vmm_range_ok(hva, size)) {
		errno = EINVAL;
		return -1;
	}
	areas = mach->areas;
	pthread_rwlock_wrlock(&areas->lock);
	if (!vmm_hva_held(areas, hva, size)) {
		for (i = 0; i < areas->nhva; i++) {
			const struct vmm_hva *h = &areas->hva[i];

			if (hva < h->hva + h->size && h->hva < hva + size) {
				errno = EEXIST;
				goto out;
			}
		}
	}
	if (vmm_grow((void **)&areas->hva, &areas->hva_cap, areas->nhva,
		     sizeof(*areas->hva)) == -1) {
		errno = ENOMEM;
		goto out;
	}

	memset(&args, 0, sizeof(args));
	args.machid = mach->machid;
	args.hva = hva;
	args.size = size;
	if (vmm_ioctl(NVMM_IOC_HVA_MAP, &args) == -1)
		goto out;

	areas->hva[areas->nhva].hva = hva;
	areas->hva[areas->nhva].size = size;
	areas->nhva++;
	ret = 0;
out:
	pthread_rwlock_unlock(&areas->lock);
	return ret;
}

/* Removes one registration of exactly (hva, size); a duplicate stays. */
VMM_EXPORT int nvmm_hva_unmap(struct nvmm_machine *mach, uintptr_t hva,
			      size_t size)
{
	struct nvmm_ioc_hva_unmap args;
	struct vmm_areas *areas;
	size_t i;
	int ret = -1;

	if (mach == NULL || mach->areas == NULL || !vmm_range_ok(hva, size)) {
		errno = EINVAL;
		return -1;
	}
	areas = mach->areas;
	pthread_rwlock_wrlock(&areas->lock);
	for (i = 0; i < areas->nhva; i++) {
		if (areas->hva[i].hva == hva && areas->hva[i].size == size)
			break;
	}
	if (i == areas->nhva) {
		errno = ENOENT;
		goto out;
	}

	memset(&args, 0, sizeof(args));
	args.machid = mach->machid;
	args.hva = hva;
	args.size = size;
	if (vmm_ioctl(NVMM_IOC_HVA_UNMAP, &args) == -1)
		goto out;

	areas->hva[i] = areas->hva[--areas->nhva];
	ret = 0;
out:
	pthread_rwlock_unlock(&areas->lock);
	return ret;
}

static nvmm_prot_t vmm_prot_from_mmap(int prot)
{
	nvmm_prot_t p = 0;

	if (prot & PROT_READ)
		p |= NVMM_PROT_READ;
	if (prot & PROT_WRITE)
		p |= NVMM_PROT_WRITE;
	if (prot & PROT_EXEC)
		p |= NVMM_PROT_EXEC;
	return p;
}

VMM_EXPORT int nvmm_gpa_map(struct nvmm_machine *mach, uintptr_t hva,
			    gpaddr_t gpa, size_t size, int prot)
{
	struct nvmm_ioc_gpa_map args;
	struct vmm_areas *areas;
	size_t i;
	int ret = -1;

	if (mach == NULL || mach->areas == NULL || !vmm_range_ok(gpa, size) ||
	    !vmm_range_ok(hva, size) ||
	    (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0) {
		errno = EINVAL;
		return -1;
	}
	areas = mach->areas;
	pthread_rwlock_wrlock(&areas->lock);
	i = vmm_gpa_lower(areas, gpa);
	if (i < areas->ngpa && areas->gpa[i].gpa < gpa + size) {
		/* EINVAL as NetBSD's libnvmm; the kernel would say EEXIST. */
		errno = EINVAL;
		goto out;
	}
	if (vmm_grow((void **)&areas->gpa, &areas->gpa_cap, areas->ngpa,
		     sizeof(*areas->gpa)) == -1) {
		errno = ENOMEM;
		goto out;
	}

	memset(&args, 0, sizeof(args));
	args.machid = mach->machid;
	args.hva = hva;
	args.gpa = gpa;
	args.size = size;
	args.prot = prot;
	if (vmm_ioctl(NVMM_IOC_GPA_MAP, &args) == -1)
		goto out;

	memmove(&areas->gpa[i + 1], &areas->gpa[i],
		(areas->ngpa - i) * sizeof(*areas->gpa));
	areas->gpa[i].gpa = gpa;
	areas->gpa[i].hva = hva;
	areas->gpa[i].size = size;
	areas->gpa[i].prot = vmm_prot_from_mmap(prot);
	areas->ngpa++;
	vmm_areas_changed(areas);
	ret = 0;
out:
	pthread_rwlock_unlock(&areas->lock);
	return ret;
}

VMM_EXPORT int nvmm_gpa_unmap(struct nvmm_machine *mach, uintptr_t hva,
			      gpaddr_t gpa, size_t size)
{
	struct nvmm_ioc_gpa_unmap args;
	struct vmm_areas *areas;
	size_t i;
	int ret = -1;

	if (mach == NULL || mach->areas == NULL || !vmm_range_ok(gpa, size)) {
		errno = EINVAL;
		return -1;
	}
	areas = mach->areas;
	pthread_rwlock_wrlock(&areas->lock);
	i = vmm_gpa_lower(areas, gpa);
	if (i >= areas->ngpa || areas->gpa[i].gpa != gpa ||
	    areas->gpa[i].size != size || areas->gpa[i].hva != hva) {
		errno = ENOENT;
		goto out;
	}

	memset(&args, 0, sizeof(args));
	args.machid = mach->machid;
	args.gpa = gpa;
	args.size = size;
	if (vmm_ioctl(NVMM_IOC_GPA_UNMAP, &args) == -1)
		goto out;

	memmove(&areas->gpa[i], &areas->gpa[i + 1],
		(areas->ngpa - i - 1) * sizeof(*areas->gpa));
	areas->ngpa--;
	vmm_areas_changed(areas);
	ret = 0;
out:
	pthread_rwlock_unlock(&areas->lock);
	return ret;
}

VMM_EXPORT int nvmm_gpa_to_hva(struct nvmm_machine *mach, gpaddr_t gpa,
			       uintptr_t *hva, nvmm_prot_t *prot)
{
	struct vmm_area area;

	if (mach == NULL || mach->areas == NULL || hva == NULL ||
	    prot == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (vmm_area_find(mach, gpa, &area) == -1) {
		errno = ENOENT;
		return -1;
	}
	*hva = area.hva + (gpa - area.gpa);
	*prot = area.prot;
	return 0;
}
