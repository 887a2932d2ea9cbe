// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest-physical memory: the owner's mappings (hva_map, gpa_map), the
 * nested page table built from them on demand (NPT or EPT: the backend only
 * gives the entry format), and its coherence with the owner's mm.
 *
 * Nothing is pinned. A nested page fault looks up the page with
 * get_user_pages, installs it and drops the reference; an MMU notifier
 * removes the translation before the kernel frees, moves, swaps or
 * copy-on-writes the page, and flushes the guest TLBs of the machine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/swap.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/cpumask.h>
#include <linux/uaccess.h>
#include <asm/io.h>
#include <asm/processor.h>

#include "nvmm_internal.h"

#define PT_MAX_LEVELS	5
#define PT_ENTRIES	512
#define PT_ADDR_MASK	0x000FFFFFFFFFF000ULL

/* Guest-physical addresses must fit a 4-level table. */
#define NVMM_GPA_LIMIT	BIT_ULL(48)

/* Page-table pages a fault may need: one per level below the root. */
#define PT_CACHE_PAGES	(PT_MAX_LEVELS - 1)

struct nvmm_pt_cache {
	struct page *pages[PT_CACHE_PAGES];
	unsigned int n;
};

static unsigned int pt_index(u64 gpa, unsigned int level)
{
	return (gpa >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

static u64 *pt_table(u64 entry)
{
	return phys_to_virt(entry & PT_ADDR_MASK);
}

static int pt_cache_fill(struct nvmm_pt_cache *cache, unsigned int want)
{
	while (cache->n < want) {
		struct page *page = nvmm_alloc_page();

		if (!page)
			return -ENOMEM;
		cache->pages[cache->n++] = page;
	}
	return 0;
}

static void pt_cache_drain(struct nvmm_pt_cache *cache)
{
	while (cache->n)
		nvmm_free_page(cache->pages[--cache->n]);
}

/*
 * The level-1 entry of gpa, creating the tables on the way with pages of
 * the cache (alloc) or returning NULL where a table is missing (!alloc).
 * With mmu->lock held.
 */
static u64 *pt_walk(struct nvmm_mmu *mmu, u64 gpa,
		    struct nvmm_pt_cache *cache)
{
	u64 *table = page_address(mmu->root);
	unsigned int level;

	for (level = mmu->ops->levels; level > 1; level--) {
		u64 *entry = &table[pt_index(gpa, level)];
		u64 e = READ_ONCE(*entry);

		if (!(e & mmu->ops->present)) {
			struct page *page;

			if (!cache || !cache->n)
				return NULL;
			page = cache->pages[--cache->n];
			e = page_to_phys(page) | mmu->ops->table;
			WRITE_ONCE(*entry, e);
			mmu->tables++;
			atomic_long_inc(&nvmm_stats.pt_pages);
		}
		table = pt_table(e);
	}
	return &table[pt_index(gpa, 1)];
}

/*
 * How many tables a fault at gpa would add now, and in *empty whether its
 * leaf is empty (never mapped, or zapped). Tables that an unmap frees may
 * be added again before the fault takes mmu->lock: pt_walk() then finds
 * its cache short, and the fault fills it and tries again.
 */
static unsigned int pt_missing(struct nvmm_mmu *mmu, u64 gpa, bool *empty)
{
	u64 *table = page_address(mmu->root);
	unsigned int level, missing = 0;

	spin_lock(&mmu->lock);
	for (level = mmu->ops->levels; level > 1; level--) {
		u64 e = table[pt_index(gpa, level)];

		if (!(e & mmu->ops->present)) {
			missing = level - 1;
			break;
		}
		table = pt_table(e);
	}
	*empty = missing || !READ_ONCE(table[pt_index(gpa, 1)]);
	spin_unlock(&mmu->lock);
	return missing;
}

/* Bytes of guest-physical space one entry of a level covers. */
static u64 pt_span(unsigned int level)
{
	return 1ULL << (12 + 9 * (level - 1));
}

/*
 * Clear the leaves of [start, end), which lies within the span of table.
 * With mmu->lock held. Returns whether a leaf was present.
 */
static bool pt_zap_level(struct nvmm_mmu *mmu, u64 *table,
			 unsigned int level, u64 start, u64 end)
{
	u64 span = pt_span(level), gpa = start;
	bool zapped = false;

	while (gpa < end) {
		u64 *entry = &table[pt_index(gpa, level)];
		u64 next = (gpa & ~(span - 1)) + span;
		u64 e = READ_ONCE(*entry);

		if (e & mmu->ops->present) {
			if (level == 1) {
				WRITE_ONCE(*entry, 0);
				mmu->leaves--;
				atomic_long_dec(&nvmm_stats.guest_pages);
				zapped = true;
			} else {
				zapped |= pt_zap_level(mmu, pt_table(e),
						       level - 1, gpa,
						       min(end, next));
			}
		}
		gpa = next;
	}
	return zapped;
}

static bool pt_zap(struct nvmm_mmu *mmu, u64 start, u64 end)
{
	return pt_zap_level(mmu, page_address(mmu->root), mmu->ops->levels,
			    start, min_t(u64, end, NVMM_GPA_LIMIT));
}

static bool pt_table_empty(struct nvmm_mmu *mmu, const u64 *table)
{
	unsigned int i;

	for (i = 0; i < PT_ENTRIES; i++)
		if (table[i] & mmu->ops->present)
			return false;
	return true;
}

/*
 * Unhook the tables below table that hold no entry any more, in the part
 * that covers [start, end), and put their pages on freed (page->lru). They
 * are freed once no VCPU can walk them (after a remote flush). With
 * mmu->lock held.
 */
static void pt_prune_level(struct nvmm_mmu *mmu, u64 *table,
			   unsigned int level, u64 start, u64 end,
			   struct list_head *freed)
{
	u64 span = pt_span(level), gpa = start;

	while (gpa < end) {
		u64 *entry = &table[pt_index(gpa, level)];
		u64 next = (gpa & ~(span - 1)) + span;
		u64 e = READ_ONCE(*entry);

		if (e & mmu->ops->present) {
			u64 *sub = pt_table(e);

			if (level > 2)
				pt_prune_level(mmu, sub, level - 1, gpa,
					       min(end, next), freed);
			if (pt_table_empty(mmu, sub)) {
				WRITE_ONCE(*entry, 0);
				list_add(&virt_to_page(sub)->lru, freed);
				mmu->tables--;
				atomic_long_dec(&nvmm_stats.pt_pages);
			}
		}
		gpa = next;
	}
}

static void pt_free_level(struct nvmm_mmu *mmu, u64 *table,
			  unsigned int level)
{
	unsigned int i;

	for (i = 0; i < PT_ENTRIES; i++) {
		u64 e = table[i];

		if (!(e & mmu->ops->present))
			continue;
		if (level > 1) {
			pt_free_level(mmu, pt_table(e), level - 1);
			nvmm_free_page(pfn_to_page((e & PT_ADDR_MASK) >>
						   PAGE_SHIFT));
			mmu->tables--;
			atomic_long_dec(&nvmm_stats.pt_pages);
		} else {
			mmu->leaves--;
			atomic_long_dec(&nvmm_stats.guest_pages);
		}
	}
}

/* -------------------------------------------------------------------------- */
/* Remote flushes. */

static void nvmm_ipi_nop(void *unused)
{
}

/*
 * After translations were removed: every VCPU flushes its guest TLB before
 * its next entry, and those in guest mode are made to leave it now. When
 * this returns, no VCPU can use a removed translation any more.
 */
void nvmm_mmu_flush_remote(struct nvmm_machine *mach)
{
	cpumask_var_t cpus;
	unsigned int i;

	nvmm_count(NVMM_COUNT_FLUSHES);
	atomic64_inc(&mach->mmu.tlb_gen);
	/* Pairs with the barrier in nvmm_vcpu_enter_check(). */
	smp_mb__after_atomic();

	if (!zalloc_cpumask_var(&cpus, GFP_ATOMIC)) {
		/* No memory for a mask: interrupt every CPU. */
		on_each_cpu(nvmm_ipi_nop, NULL, 1);
		return;
	}
	for (i = 0; i < NVMM_MAX_VCPUS; i++) {
		struct nvmm_cpu *vcpu = &mach->cpus[i];

		if (READ_ONCE(vcpu->mode) == NVMM_VCPU_IN_GUEST)
			cpumask_set_cpu(READ_ONCE(vcpu->hcpu), cpus);
	}
	preempt_disable();
	cpumask_clear_cpu(smp_processor_id(), cpus);
	if (!cpumask_empty(cpus))
		smp_call_function_many(cpus, nvmm_ipi_nop, NULL, true);
	preempt_enable();
	free_cpumask_var(cpus);
}

/* -------------------------------------------------------------------------- */
/* MMU notifier: the owner's address space changes under the guest. */

/*
 * Zap what backs host range [start, end) in the guest. With mmu->lock held.
 * Returns whether a translation went away.
 */
static bool nvmm_mmu_zap_hva(struct nvmm_mmu *mmu, u64 start, u64 end)
{
	struct nvmm_gmaps *gmaps;
	bool zapped = false;
	unsigned int i;

	rcu_read_lock();
	gmaps = rcu_dereference(mmu->gmaps);
	for (i = 0; gmaps && i < gmaps->n; i++) {
		const struct nvmm_gmap *m = &gmaps->map[i];
		u64 s = max(start, m->hva);
		u64 e = min(end, m->hva + m->size);

		if (s >= e)
			continue;
		zapped |= pt_zap(mmu, m->gpa + (s - m->hva),
				 m->gpa + (e - m->hva));
	}
	rcu_read_unlock();
	return zapped;
}

static int nvmm_mn_invalidate_start(struct mmu_notifier *mn,
				    const struct mmu_notifier_range *range)
{
	struct nvmm_mmu *mmu = container_of(mn, struct nvmm_mmu, mn);
	struct nvmm_machine *mach = container_of(mmu, struct nvmm_machine, mmu);
	bool zapped;

	spin_lock(&mmu->lock);
	if (!mmu->inval_count++) {
		mmu->inval_start = range->start;
		mmu->inval_end = range->end;
	} else {
		mmu->inval_start = min_t(u64, mmu->inval_start, range->start);
		mmu->inval_end = max_t(u64, mmu->inval_end, range->end);
	}
	zapped = nvmm_mmu_zap_hva(mmu, range->start, range->end);
	spin_unlock(&mmu->lock);

	if (zapped)
		nvmm_mmu_flush_remote(mach);
	return 0;
}

static void nvmm_mn_invalidate_end(struct mmu_notifier *mn,
				   const struct mmu_notifier_range *range)
{
	struct nvmm_mmu *mmu = container_of(mn, struct nvmm_mmu, mn);

	spin_lock(&mmu->lock);
	mmu->inval_seq++;
	mmu->inval_count--;
	spin_unlock(&mmu->lock);
}

/* The mm is going away: nothing may stay mapped in the guest. */
static void nvmm_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct nvmm_mmu *mmu = container_of(mn, struct nvmm_mmu, mn);
	struct nvmm_machine *mach = container_of(mmu, struct nvmm_machine, mmu);

	spin_lock(&mmu->lock);
	mmu->inval_seq++;
	pt_zap(mmu, 0, NVMM_GPA_LIMIT);
	spin_unlock(&mmu->lock);
	nvmm_mmu_flush_remote(mach);
	/*
	 * The mm's last user is gone (its process exited or exec'd), not an
	 * unregister by a live process: the machine has no owner left.
	 */
	if (!atomic_read(&mm->mm_users))
		nvmm_machine_orphan(mach);
}

static const struct mmu_notifier_ops nvmm_mn_ops = {
	.invalidate_range_start = nvmm_mn_invalidate_start,
	.invalidate_range_end = nvmm_mn_invalidate_end,
	.release = nvmm_mn_release,
};

/* -------------------------------------------------------------------------- */
/* Faults. */

static bool nvmm_gmap_find(struct nvmm_mmu *mmu, u64 gpa,
			   struct nvmm_gmap *out)
{
	struct nvmm_gmaps *gmaps;
	unsigned int lo, hi;
	bool found = false;

	rcu_read_lock();
	gmaps = rcu_dereference(mmu->gmaps);
	lo = 0;
	hi = gmaps ? gmaps->n : 0;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct nvmm_gmap *m = &gmaps->map[mid];

		if (gpa < m->gpa) {
			hi = mid;
		} else if (gpa >= m->gpa + m->size) {
			lo = mid + 1;
		} else {
			*out = *m;
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/* Fault hva in for writing, as a write by the process itself would. */
static bool nvmm_fault_in_write(u64 hva)
{
	struct mm_struct *mm = current->mm;
	bool unlocked = false;
	int err;

	mmap_read_lock(mm);
	err = fixup_user_fault(mm, hva, FAULT_FLAG_WRITE, &unlocked);
	mmap_read_unlock(mm);
	return !err;
}

/*
 * The host page behind hva, writable if asked or if it already is. Returns
 * the page with a reference, or NULL. empty: the guest has no mapping of
 * it, so the host page is most likely absent or not writable as well.
 */
static struct page *nvmm_get_host_page(u64 hva, bool write, bool empty,
				       bool *writable)
{
	struct page *page;
	long n;

	/* Already present and writable: no fault taken on the host side. */
	if (!(write && empty) &&
	    get_user_pages_fast_only(hva, 1, FOLL_WRITE, &page) == 1) {
		*writable = true;
		mark_page_accessed(page);
		return page;
	}
	/*
	 * A write that the lockless walk refused or would refuse: take the
	 * host's fault (which marks the page young and dirty, as a write by
	 * the process would), then the page without a lock. Fresh memory
	 * comes this way at one walk less than with a failed try first.
	 */
	if (write && nvmm_fault_in_write(hva) &&
	    get_user_pages_fast_only(hva, 1, FOLL_WRITE, &page) == 1) {
		*writable = true;
		return page;
	}
	/*
	 * Reads, and what the lockless walk does not take. FOLL_TOUCH (which
	 * this adds) marks the page accessed: a second mark would put a page
	 * the guest touched once on the active list.
	 */
	n = get_user_pages_unlocked(hva, 1, &page, write ? FOLL_WRITE : 0);
	if (n != 1)
		return NULL;
	*writable = write;
	return page;
}

/*
 * A nested page fault at gpa, for an access of kind NVMM_PROT_*.
 * Runs in the VCPU thread, whose mm is the machine's.
 */
int nvmm_mmu_fault(struct nvmm_machine *mach, u64 gpa, u32 access)
{
	struct nvmm_mmu *mmu = &mach->mmu;
	struct nvmm_pt_cache cache = { .n = 0 };
	struct nvmm_gmap m;
	unsigned long seq, gen;
	struct page *page;
	bool writable, empty;
	u64 hva, *leaf;
	u32 prot;
	int ret;

	if (current->mm != mach->mm)
		return -EPERM;

again:
	seq = READ_ONCE(mmu->inval_seq);
	gen = READ_ONCE(mmu->maps_gen);
	/* Read before the mappings; pairs with the updates under mmu->lock. */
	smp_rmb();
	if (!nvmm_gmap_find(mmu, gpa, &m) || (access & ~m.prot)) {
		/* Also on a retry, once the cache holds pages: drain it. */
		ret = NVMM_FAULT_EXIT;
		goto out;
	}

	/* Most faults land next to an earlier one: no table to add. */
	ret = pt_cache_fill(&cache, pt_missing(mmu, gpa, &empty));
	if (ret)
		goto out;

	hva = m.hva + ((gpa & PAGE_MASK) - m.gpa);
	page = nvmm_get_host_page(hva, access & NVMM_PROT_WRITE, empty,
				  &writable);
	if (!page) {
		/* The owner took the memory away: the access cannot be done. */
		ret = NVMM_FAULT_EXIT;
		goto out;
	}

	prot = m.prot;
	if (!writable)
		prot &= ~NVMM_PROT_WRITE;

	spin_lock(&mmu->lock);
	if (mmu->inval_seq != seq || mmu->maps_gen != gen ||
	    (mmu->inval_count && hva >= mmu->inval_start &&
	     hva < mmu->inval_end)) {
		/* The mapping changed while we looked: look again. */
		spin_unlock(&mmu->lock);
		put_page(page);
		cond_resched();
		goto again;
	}
	leaf = pt_walk(mmu, gpa, &cache);
	if (unlikely(!leaf)) {
		/* An unmap freed tables since pt_missing(): fill, again. */
		spin_unlock(&mmu->lock);
		put_page(page);
		ret = pt_cache_fill(&cache, PT_CACHE_PAGES);
		if (ret)
			goto out;
		goto again;
	}
	if (!(READ_ONCE(*leaf) & mmu->ops->present)) {
		mmu->leaves++;
		atomic_long_inc(&nvmm_stats.guest_pages);
	}
	WRITE_ONCE(*leaf, mmu->ops->leaf(page_to_phys(page), prot));
	spin_unlock(&mmu->lock);

	/*
	 * The guest may write without the kernel noticing; once written back,
	 * the page is write-protected again through the notifier. An
	 * anonymous page (swap cache included) needs only its flag, as KVM
	 * sets it; a file's page goes through its mapping, under its lock.
	 */
	if (prot & NVMM_PROT_WRITE) {
		if (PageAnon(page))
			SetPageDirty(page);
		else
			set_page_dirty_lock(page);
	}
	put_page(page);
	nvmm_count(NVMM_COUNT_NPF_MAPPED);
	ret = NVMM_FAULT_MAPPED;
out:
	pt_cache_drain(&cache);
	return ret;
}

/* -------------------------------------------------------------------------- */
/* Mappings. */

static bool nvmm_range_ok(u64 start, u64 size)
{
	return size && PAGE_ALIGNED(start) && PAGE_ALIGNED(size) &&
	       start + size > start;
}

/* No registration is skipped by nvmm_hva_registered(). */
#define NVMM_HMAP_NONE	UINT_MAX

/*
 * Whether a registration other than the one at index skip holds all of
 * [hva, hva + size). With maps_mutex held.
 */
static bool nvmm_hva_registered(struct nvmm_mmu *mmu, u64 hva, u64 size,
				unsigned int skip)
{
	unsigned int i;

	for (i = 0; i < mmu->nhmaps; i++) {
		const struct nvmm_hmap *h = &mmu->hmaps[i];

		if (i != skip && hva >= h->hva &&
		    hva + size <= h->hva + h->size)
			return true;
	}
	return false;
}

/*
 * Register a host range. As on NetBSD, a range inside a registered one,
 * or identical to it, is registered again as an entry of its own; one that
 * overlaps a registration without lying inside any is refused (EEXIST).
 * NetBSD stops at the first registration in slot order that holds the
 * range, so its answer for a range partly over a nested registration
 * depends on which slots were free; here any registration holding the range
 * is enough, which is NetBSD's answer when the outer range was registered
 * first. Unlike NetBSD's, a registration leaves the owner's memory as it
 * is (NetBSD replaces the range with fresh zeroed memory).
 *
 * Duplicates cost only their slot: an entry records a range (nothing is
 * pinned, referenced or allocated for it), the NVMM_MAX_HVA_MAPS entries
 * bound identical ones too, and the table is freed with the machine.
 */
int nvmm_mmu_hva_map(struct nvmm_machine *mach, struct nvmm_ioc_hva_map *args)
{
	struct nvmm_mmu *mmu = &mach->mmu;
	unsigned int i;
	int ret = 0;

	/* NetBSD refuses hva 0 too. */
	if (!nvmm_range_ok(args->hva, args->size) || !args->hva ||
	    args->flags || args->hva + args->size > TASK_SIZE_MAX)
		return -EINVAL;

	mutex_lock(&mmu->maps_mutex);
	if (!nvmm_hva_registered(mmu, args->hva, args->size, NVMM_HMAP_NONE)) {
		for (i = 0; i < mmu->nhmaps; i++) {
			const struct nvmm_hmap *h = &mmu->hmaps[i];

			if (args->hva < h->hva + h->size &&
			    h->hva < args->hva + args->size) {
				ret = -EEXIST;
				goto out;
			}
		}
	}
	if (mmu->nhmaps == NVMM_MAX_HVA_MAPS) {
		ret = -ENOBUFS;
		goto out;
	}
	mmu->hmaps[mmu->nhmaps].hva = args->hva;
	mmu->hmaps[mmu->nhmaps].size = args->size;
	mmu->nhmaps++;
out:
	mutex_unlock(&mmu->maps_mutex);
	return ret;
}

/* Remove one registration of exactly (hva, size); a duplicate stays. */
int nvmm_mmu_hva_unmap(struct nvmm_machine *mach, struct nvmm_ioc_hva_unmap *args)
{
	struct nvmm_mmu *mmu = &mach->mmu;
	struct nvmm_gmaps *gmaps;
	unsigned int i, j;
	int ret = -ENOENT;

	mutex_lock(&mmu->maps_mutex);
	for (i = 0; i < mmu->nhmaps; i++) {
		if (mmu->hmaps[i].hva == args->hva &&
		    mmu->hmaps[i].size == args->size)
			break;
	}
	if (i == mmu->nhmaps)
		goto out;

	/*
	 * A gpa mapping's host range stays inside a registration (see
	 * nvmm_mmu_gpa_map()): refuse while one using this range is held by no
	 * other registration; unmap it first. NetBSD accepts, the guest
	 * keeping the memory object; ours has no object but the owner's mm.
	 */
	gmaps = rcu_dereference_protected(mmu->gmaps,
					  lockdep_is_held(&mmu->maps_mutex));
	for (j = 0; gmaps && j < gmaps->n; j++) {
		const struct nvmm_gmap *m = &gmaps->map[j];

		if (m->hva < args->hva + args->size &&
		    args->hva < m->hva + m->size &&
		    !nvmm_hva_registered(mmu, m->hva, m->size, i)) {
			ret = -EBUSY;
			goto out;
		}
	}
	mmu->hmaps[i] = mmu->hmaps[--mmu->nhmaps];
	ret = 0;
out:
	mutex_unlock(&mmu->maps_mutex);
	return ret;
}

int nvmm_mmu_gpa_map(struct nvmm_machine *mach, struct nvmm_ioc_gpa_map *args)
{
	struct nvmm_mmu *mmu = &mach->mmu;
	struct nvmm_gmaps *old, *new;
	unsigned int i, pos;
	u32 prot;
	int ret = 0;

	if (!nvmm_range_ok(args->gpa, args->size) ||
	    !nvmm_range_ok(args->hva, args->size) ||
	    args->gpa + args->size > NVMM_GPA_LIMIT)
		return -EINVAL;
	if (args->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (!(args->prot & PROT_READ))
		return -EINVAL;
	prot = NVMM_PROT_READ;
	if (args->prot & PROT_WRITE)
		prot |= NVMM_PROT_WRITE;
	if (args->prot & PROT_EXEC)
		prot |= NVMM_PROT_EXEC;

	mutex_lock(&mmu->maps_mutex);
	/* Inside one registration, whichever: hva_map may nest them. */
	if (!nvmm_hva_registered(mmu, args->hva, args->size, NVMM_HMAP_NONE)) {
		ret = -EINVAL;
		goto out;
	}
	if (mach->nram + args->size > NVMM_MAX_RAM) {
		ret = -ENOBUFS;
		goto out;
	}
	old = rcu_dereference_protected(mmu->gmaps,
					lockdep_is_held(&mmu->maps_mutex));
	pos = 0;
	for (i = 0; old && i < old->n; i++) {
		const struct nvmm_gmap *m = &old->map[i];

		/*
		 * NetBSD's kernel replaces what was there; its libnvmm, like
		 * libvmm, refuses an overlap first (EINVAL), so only raw
		 * ioctl users see this EEXIST.
		 */
		if (args->gpa < m->gpa + m->size &&
		    m->gpa < args->gpa + args->size) {
			ret = -EEXIST;
			goto out;
		}
		if (m->gpa < args->gpa)
			pos = i + 1;
	}
	if (old && old->n == NVMM_MAX_GPA_MAPS) {
		ret = -ENOBUFS;
		goto out;
	}

	new = kmalloc(struct_size(new, map, (old ? old->n : 0) + 1),
		      GFP_KERNEL_ACCOUNT);
	if (!new) {
		ret = -ENOMEM;
		goto out;
	}
	new->n = (old ? old->n : 0) + 1;
	if (old)
		memcpy(new->map, old->map, pos * sizeof(new->map[0]));
	new->map[pos].gpa = args->gpa;
	new->map[pos].size = args->size;
	new->map[pos].hva = args->hva;
	new->map[pos].prot = prot;
	if (old)
		memcpy(&new->map[pos + 1], &old->map[pos],
		       (old->n - pos) * sizeof(new->map[0]));
	rcu_assign_pointer(mmu->gmaps, new);
	mach->nram += args->size;
	if (old)
		kfree_rcu(old, rcu);
out:
	mutex_unlock(&mmu->maps_mutex);
	return ret;
}

int nvmm_mmu_gpa_unmap(struct nvmm_machine *mach, struct nvmm_ioc_gpa_unmap *args)
{
	struct nvmm_mmu *mmu = &mach->mmu;
	struct nvmm_gmaps *old, *new = NULL;
	struct page *page, *tmp;
	LIST_HEAD(freed);
	unsigned int i;
	bool zapped;
	int ret = 0;

	if (!nvmm_range_ok(args->gpa, args->size))
		return -EINVAL;

	mutex_lock(&mmu->maps_mutex);
	old = rcu_dereference_protected(mmu->gmaps,
					lockdep_is_held(&mmu->maps_mutex));
	for (i = 0; old && i < old->n; i++) {
		if (old->map[i].gpa == args->gpa &&
		    old->map[i].size == args->size)
			break;
	}
	if (!old || i == old->n) {
		ret = -ENOENT;
		goto out;
	}
	if (old->n > 1) {
		new = kmalloc(struct_size(new, map, old->n - 1),
			      GFP_KERNEL_ACCOUNT);
		if (!new) {
			ret = -ENOMEM;
			goto out;
		}
		new->n = old->n - 1;
		memcpy(new->map, old->map, i * sizeof(new->map[0]));
		memcpy(&new->map[i], &old->map[i + 1],
		       (old->n - i - 1) * sizeof(new->map[0]));
	}
	rcu_assign_pointer(mmu->gmaps, new);
	mach->nram -= args->size;

	/*
	 * The translations go, and so do the tables left empty: a VMM that
	 * maps and unmaps at ever new addresses must not grow them.
	 */
	spin_lock(&mmu->lock);
	mmu->maps_gen++;
	zapped = pt_zap(mmu, args->gpa, args->gpa + args->size);
	pt_prune_level(mmu, page_address(mmu->root), mmu->ops->levels,
		       args->gpa, min_t(u64, args->gpa + args->size,
					NVMM_GPA_LIMIT), &freed);
	spin_unlock(&mmu->lock);
	if (zapped || !list_empty(&freed))
		nvmm_mmu_flush_remote(mach);
	list_for_each_entry_safe(page, tmp, &freed, lru) {
		list_del(&page->lru);
		nvmm_free_page(page);
	}
	kfree_rcu(old, rcu);
out:
	mutex_unlock(&mmu->maps_mutex);
	return ret;
}

/* -------------------------------------------------------------------------- */

int nvmm_mmu_init(struct nvmm_machine *mach)
{
	struct nvmm_mmu *mmu = &mach->mmu;
	int ret;

	memset(mmu, 0, sizeof(*mmu));
	mmu->ops = nvmm_impl->pt_ops;
	spin_lock_init(&mmu->lock);
	mutex_init(&mmu->maps_mutex);
	atomic64_set(&mmu->tlb_gen, 0);

	mmu->hmaps = kvcalloc(NVMM_MAX_HVA_MAPS, sizeof(*mmu->hmaps),
			      GFP_KERNEL_ACCOUNT);
	mmu->root = nvmm_alloc_page();
	if (!mmu->hmaps || !mmu->root) {
		ret = -ENOMEM;
		goto fail;
	}
	mmu->root_pa = page_to_phys(mmu->root);

	mmu->mn.ops = &nvmm_mn_ops;
	ret = mmu_notifier_register(&mmu->mn, current->mm);
	/* Given up for a pending signal: nothing was done, start over. */
	if (ret == -EINTR)
		ret = -ERESTARTNOINTR;
	if (ret)
		goto fail;
	mmu->mn_registered = true;
	return 0;

fail:
	nvmm_free_page(mmu->root);
	mmu->root = NULL;
	kvfree(mmu->hmaps);
	mmu->hmaps = NULL;
	mutex_destroy(&mmu->maps_mutex);
	return ret;
}

void nvmm_mmu_fini(struct nvmm_machine *mach)
{
	struct nvmm_mmu *mmu = &mach->mmu;
	struct nvmm_gmaps *gmaps;

	if (mmu->mn_registered)
		mmu_notifier_unregister(&mmu->mn, mach->mm);
	mmu->mn_registered = false;

	if (mmu->root) {
		pt_free_level(mmu, page_address(mmu->root), mmu->ops->levels);
		nvmm_free_page(mmu->root);
		mmu->root = NULL;
	}
	gmaps = rcu_dereference_protected(mmu->gmaps, true);
	RCU_INIT_POINTER(mmu->gmaps, NULL);
	kfree_rcu(gmaps, rcu);
	kvfree(mmu->hmaps);
	mmu->hmaps = NULL;
	mmu->nhmaps = 0;
	mutex_destroy(&mmu->maps_mutex);
}
