/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: guest page walks (x86_mmu_walk, for the assists and for
 * nvmm_gva_to_gpa).
 *
 * Paging modes: 32-bit (4 KiB pages, 4 MiB pages with CR4.PSE, PSE-36
 * frames), PAE (4 KiB, 2 MiB), 4-level and 5-level (CR4.LA57) long mode
 * (4 KiB, 2 MiB, 1 GiB). The walk reads the page tables from guest RAM
 * (a table outside every RAM area fails), accumulates R/W and U/S (AND over
 * the levels) and XD (OR, with EFER.NXE), and reports reserved bits. PAE
 * PDPTEs are read from memory at each walk rather than cached at CR3 load.
 * Accessed and dirty bits are not set.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "x86_ctx.h"
#include "x86_walk.h"

unsigned int x86_mmu_maxphyaddr;

_Static_assert(NVMM_PROT_WRITE == 0x2 && NVMM_PROT_USER == 0x8,
	       "x86_walk_long() takes the prot bits from the PTE's R/W, U/S");

static __attribute__((noinline)) unsigned int x86_maxphy_init(void)
{
	unsigned int a, b, c, d, m = 36;

	if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000008 &&
	    __get_cpuid(0x80000008, &a, &b, &c, &d))
		m = a & 0xFF;
	if (m < 32 || m > 52)
		m = 52;
	__atomic_store_n(&x86_mmu_maxphyaddr, m, __ATOMIC_RELAXED);
	return m;
}

static inline unsigned int x86_maxphy(void)
{
	unsigned int m = __atomic_load_n(&x86_mmu_maxphyaddr,
					 __ATOMIC_RELAXED);

	return m != 0 ? m : x86_maxphy_init();
}

/* Bits hi..lo (inclusive) set; empty when lo > hi. */
static inline uint64_t x86_bits(unsigned int hi, unsigned int lo)
{
	if (lo > hi)
		return 0;
	return (~0ULL >> (63 - hi)) & (~0ULL << lo);
}

/* The RAM area the walk last read a table from (tables share one, mostly). */
struct x86_pt_area {
	uint64_t gpa;		/* [gpa, gpa + size): size 0 when none yet */
	uint64_t size;
	uintptr_t hva;
	bool probe;		/* X86_ACC_PROBE: host pages checked first */
	uintptr_t probed;	/* the host page last checked, or 0 */
};

/* A page of libvmm's own data, which MADV_POPULATE_READ always takes. */
static uint8_t x86_probe_page[X86_PAGE_SIZE]
	__attribute__((aligned(X86_PAGE_SIZE)));

/* 1 if the kernel has MADV_POPULATE_* (5.14 and later), 0 if not. */
static int x86_populate_support(void)
{
	static int support = -1;
	int s = __atomic_load_n(&support, __ATOMIC_RELAXED);

	if (s < 0) {
		s = madvise(x86_probe_page, X86_PAGE_SIZE,
			    MADV_POPULATE_READ) == 0 || errno != EINVAL;
		__atomic_store_n(&support, s, __ATOMIC_RELAXED);
	}
	return s;
}

bool x86_host_ok(const void *hva, size_t len, bool write)
{
	uintptr_t lo = (uintptr_t)hva & ~(uintptr_t)X86_PAGE_MASK;
	uintptr_t hi = ((uintptr_t)hva + len + X86_PAGE_MASK) &
		       ~(uintptr_t)X86_PAGE_MASK;
	int saved = errno;

	if (madvise((void *)lo, hi - lo, write ? MADV_POPULATE_WRITE :
		    MADV_POPULATE_READ) == 0)
		return true;
	/*
	 * ENOMEM: not mapped; EFAULT: SIGBUS or SIGSEGV had we touched it;
	 * EINVAL: PROT_NONE, read-only for a write, or a VM_PFNMAP/VM_IO
	 * mapping (which the kernel could not give the guest either), unless
	 * the kernel predates MADV_POPULATE_*: then nothing can be told.
	 */
	if (errno == EINVAL && !x86_populate_support()) {
		errno = saved;
		return true;
	}
	errno = EFAULT;
	return false;
}

/* A page-table entry from guest RAM. */
static inline int x86_read_pte(struct nvmm_machine *mach,
			       struct x86_pt_area *pa, uint64_t gpa,
			       unsigned int size, uint64_t *pte)
{
	const uint8_t *p;
	uint32_t v32;

	if (gpa - pa->gpa >= pa->size || pa->gpa + pa->size - gpa < size) {
		const struct vmm_area *a = vmm_area_get(mach, gpa);

		if (a == NULL || gpa + size > a->gpa + a->size)
			return -1;
		pa->gpa = a->gpa;
		pa->size = a->size;
		pa->hva = a->hva;
	}
	p = (const uint8_t *)(pa->hva + (gpa - pa->gpa));
	if (pa->probe && ((uintptr_t)p & ~(uintptr_t)X86_PAGE_MASK) !=
			 pa->probed) {
		if (!x86_host_ok(p, size, false))
			return -1;
		pa->probed = (uintptr_t)p & ~(uintptr_t)X86_PAGE_MASK;
	}
	if (size == 4) {
		memcpy(&v32, p, 4);
		*pte = v32;
	} else {
		memcpy(pte, p, 8);
	}
	return 0;
}

enum x86_paging { PG_32, PG_PAE, PG_4L, PG_5L };

int x86_mmu_walk_generic(struct nvmm_machine *mach,
			 const struct nvmm_x64_state *st, uint64_t la,
			 unsigned int acc, uint64_t *gpa, nvmm_prot_t *prot,
			 uint32_t *pferr)
{
	const uint64_t cr0 = st->crs[NVMM_X64_CR_CR0];
	const uint64_t cr4 = st->crs[NVMM_X64_CR_CR4];
	const uint64_t efer = st->msrs[NVMM_X64_MSR_EFER];
	const bool nxe = (efer & X86_EFER_NXE) != 0;
	const bool wr = (acc & X86_ACC_WRITE) != 0;
	const bool ex = (acc & X86_ACC_EXEC) != 0;
	unsigned int maxphy;
	uint64_t frame, rsvd64;
	bool user, rw = true, us = true, xd = false, fault;
	unsigned int levels, level, shift;
	uint64_t table, pte = 0, rsvd, pa, cpl;
	struct x86_pt_area pta = {
		.probe = (acc & X86_ACC_PROBE) != 0,
	};
	enum x86_paging pg;

	*pferr = 0;
	if (!(cr0 & X86_CR0_PG)) {
		*gpa = (efer & X86_EFER_LMA) ? la : (la & 0xFFFFFFFFULL);
		*prot = NVMM_PROT_ALL;
		return 0;
	}
	maxphy = x86_maxphy();
	frame = x86_bits(maxphy - 1, 12);
	if (st->gprs[NVMM_X64_GPR_RFLAGS] & X86_VM)
		cpl = 3;
	else
		cpl = st->segs[NVMM_X64_SEG_SS].attrib.dpl;
	user = (cpl == 3);
	if (acc & X86_ACC_CHECK) {
		*pferr = (wr ? X86_PFERR_W : 0) | (user ? X86_PFERR_U : 0);
		if (ex && (nxe || (cr4 & X86_CR4_SMEP)))
			*pferr |= X86_PFERR_I;
	}

	if (!(cr4 & X86_CR4_PAE)) {
		pg = PG_32;
		levels = 2;
		la &= 0xFFFFFFFFULL;
		table = st->crs[NVMM_X64_CR_CR3] & 0xFFFFF000ULL;
	} else if (efer & X86_EFER_LMA) {
		unsigned int vbits = (cr4 & X86_CR4_LA57) ? 57 : 48;
		uint64_t top = la >> (vbits - 1);

		pg = (cr4 & X86_CR4_LA57) ? PG_5L : PG_4L;
		levels = (pg == PG_5L) ? 5 : 4;
		if (top != 0 && top != (~0ULL >> (vbits - 1))) {
			errno = EFAULT;	/* non-canonical: #GP, not #PF */
			return -1;
		}
		table = st->crs[NVMM_X64_CR_CR3] & frame;
	} else {
		pg = PG_PAE;
		levels = 3;
		la &= 0xFFFFFFFFULL;
		table = st->crs[NVMM_X64_CR_CR3] & 0xFFFFFFE0ULL;
	}
	/* Reserved bits of the 64-bit entries but PDPTEs, before PS. */
	rsvd64 = x86_bits(pg == PG_PAE ? 62 : 51, maxphy) |
		 (nxe ? 0 : 1ULL << 63);

	for (level = levels; level >= 1; level--) {
		bool large = false;
		uint64_t idx;

		if (pg == PG_32) {
			shift = 12 + 10 * (level - 1);
			idx = (la >> shift) & 0x3FF;
		} else {
			shift = 12 + 9 * (level - 1);
			idx = (pg == PG_PAE && level == 3) ? (la >> 30) & 3 :
			      (la >> shift) & 0x1FF;
		}
		if (x86_read_pte(mach, &pta,
				 table + idx * (pg == PG_32 ? 4 : 8),
				 pg == PG_32 ? 4 : 8, &pte) == -1) {
			errno = EFAULT;
			return -1;
		}
		if (!(pte & 1)) {
			errno = EFAULT;
			return -1;
		}

		/* Reserved bits. */
		if (pg == PG_32) {
			rsvd = 0;
			if (level == 2 && (pte & 0x80) && (cr4 & X86_CR4_PSE)) {
				large = true;
				/* PSE-36: bits 20:13 hold address bits 39:32. */
				rsvd = (1ULL << 21) |
				       x86_bits(20, 13 + (maxphy > 40 ? 8 :
							  maxphy - 32));
			}
		} else if (pg == PG_PAE && level == 3) {
			rsvd = 0x1E6ULL | x86_bits(63, maxphy);
		} else {
			rsvd = rsvd64;
			if (level >= 4)
				rsvd |= 0x80;	/* PS in PML4E, PML5E */
			else if ((level == 3 || level == 2) && (pte & 0x80)) {
				large = true;
				rsvd |= level == 3 ? x86_bits(29, 13) :
					x86_bits(20, 13);
			}
		}
		if (pte & rsvd) {
			*pferr |= X86_PFERR_P | X86_PFERR_RSVD;
			errno = EINVAL;
			return -1;
		}

		if (!(pg == PG_PAE && level == 3)) {
			rw = rw && (pte & 2);
			us = us && (pte & 4);
		}
		if (pg != PG_32 && nxe && (pte >> 63))
			xd = true;

		if (large || level == 1)
			break;
		table = (pg == PG_32) ? (pte & 0xFFFFF000ULL) : (pte & frame);
	}

	if (pg == PG_32 && level == 2) {
		pa = (pte & 0xFFC00000ULL) | (((pte >> 13) & 0xFF) << 32);
		pa |= la & 0x3FFFFFULL;
	} else if (pg == PG_32) {
		pa = (pte & 0xFFFFF000ULL) | (la & X86_PAGE_MASK);
	} else {
		uint64_t pmask = x86_bits(shift - 1, 0);

		pa = (pte & frame & ~pmask) | (la & pmask);
	}

	if (acc & X86_ACC_CHECK) {
		if (user)
			fault = !us || (wr && !rw);
		else
			fault = (us && ex && (cr4 & X86_CR4_SMEP)) ||
				(us && !ex && (cr4 & X86_CR4_SMAP) &&
				 !(st->gprs[NVMM_X64_GPR_RFLAGS] & X86_AC)) ||
				(wr && !rw && (cr0 & X86_CR0_WP));
		if (ex && xd)
			fault = true;
		if (fault) {
			*pferr |= X86_PFERR_P;
			errno = EFAULT;
			return -1;
		}
	}
	*gpa = pa;
	*prot = NVMM_PROT_READ | (rw ? NVMM_PROT_WRITE : 0) |
		(xd ? 0 : NVMM_PROT_EXEC) | (us ? NVMM_PROT_USER : 0);
	return 0;
}

/* The access bits of the #PF error code (W, U, I) of a checked access. */
static __attribute__((noinline)) uint32_t
x86_pf_access(const struct nvmm_x64_state *st, unsigned int acc)
{
	uint32_t pf;

	if (!(acc & X86_ACC_CHECK))
		return 0;
	pf = (acc & X86_ACC_WRITE) ? X86_PFERR_W : 0;
	if ((st->gprs[NVMM_X64_GPR_RFLAGS] & X86_VM) ||
	    st->segs[NVMM_X64_SEG_SS].attrib.dpl == 3)
		pf |= X86_PFERR_U;
	if ((acc & X86_ACC_EXEC) &&
	    ((st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_NXE) ||
	     (st->crs[NVMM_X64_CR_CR4] & X86_CR4_SMEP)))
		pf |= X86_PFERR_I;
	return pf;
}

/*
 * 4-level and 5-level paging, the common case, walked as
 * x86_mmu_walk_generic() does it (test_mmu compares them). The error code
 * is made only when the walk fails.
 */
static int x86_walk_long(struct nvmm_machine *mach,
			 const struct nvmm_x64_state *st, uint64_t la,
			 unsigned int acc, uint64_t *gpa, nvmm_prot_t *prot,
			 uint32_t *pferr)
{
	const uint64_t cr4 = st->crs[NVMM_X64_CR_CR4];
	const unsigned int vshift = (cr4 & X86_CR4_LA57) ? 56 : 47;
	const uint64_t low = (1ULL << x86_maxphy()) - 1;
	const uint64_t frame = low & ~X86_PAGE_MASK;
	/* Reserved in every entry: 51..MAXPHYADDR, and XD without NXE. */
	const uint64_t rsvd0 = (0x000FFFFFFFFFFFFFULL & ~low) |
		((st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_NXE) ? 0 : 1ULL << 63);
	struct x86_pt_area pta = {
		.probe = (acc & X86_ACC_PROBE) != 0,
	};
	uint64_t table, pte, rsvd, pmask, bits = 6, any = 0;
	unsigned int shift = vshift - 8;	/* 48 (PML5) or 39 (PML4) */
	uint32_t pf = 0;
	bool rw, us, xd;

	/* Canonical: bits 63..vshift all equal. */
	if ((uint64_t)((int64_t)la >> vshift) + 1 > 1)
		goto fault;	/* non-canonical: #GP, not #PF */
	table = st->crs[NVMM_X64_CR_CR3] & frame;
	for (;;) {
		if (x86_read_pte(mach, &pta, table + ((la >> shift) & 0x1FF) * 8,
				 8, &pte) == -1 || !(pte & 1))
			goto fault;
		rsvd = rsvd0;
		if (shift >= 39) {
			rsvd |= 0x80;	/* PS in PML4E, PML5E */
		} else if (shift > 12 && (pte & 0x80)) {
			/* A 1 GiB or 2 MiB page: its frame's low bits. */
			rsvd |= (1ULL << shift) - (1ULL << 13);
			if (pte & rsvd)
				goto reserved;
			bits &= pte;
			any |= pte;
			break;
		}
		if (pte & rsvd)
			goto reserved;
		bits &= pte;
		any |= pte;
		if (shift == 12)
			break;
		table = pte & frame;
		shift -= 9;
	}
	pmask = (1ULL << shift) - 1;
	rw = (bits & 2) != 0;
	us = (bits & 4) != 0;
	xd = (int64_t)any < 0;	/* bit 63: set only with NXE (else reserved) */

	if (acc & X86_ACC_CHECK) {
		const bool wr = (acc & X86_ACC_WRITE) != 0;
		const bool ex = (acc & X86_ACC_EXEC) != 0;
		bool user, denied;

		user = (st->gprs[NVMM_X64_GPR_RFLAGS] & X86_VM) ||
		       st->segs[NVMM_X64_SEG_SS].attrib.dpl == 3;
		if (user)
			denied = !us || (wr && !rw);
		else
			denied = (us && ex && (cr4 & X86_CR4_SMEP)) ||
				 (us && !ex && (cr4 & X86_CR4_SMAP) &&
				  !(st->gprs[NVMM_X64_GPR_RFLAGS] & X86_AC)) ||
				 (wr && !rw &&
				  (st->crs[NVMM_X64_CR_CR0] & X86_CR0_WP));
		if (denied || (ex && xd)) {
			pf = X86_PFERR_P;
			goto fault;
		}
	}
	*gpa = (pte & frame & ~pmask) | (la & pmask);
	/* R/W is bit 1 as NVMM_PROT_WRITE is, U/S bit 2: USER is bit 3. */
	*prot = NVMM_PROT_READ | (bits & 2) | ((bits & 4) << 1) |
		(xd ? 0 : NVMM_PROT_EXEC);
	return 0;

fault:
	*pferr = x86_pf_access(st, acc) | pf;
	errno = EFAULT;
	return -1;
reserved:
	*pferr = x86_pf_access(st, acc) | X86_PFERR_P | X86_PFERR_RSVD;
	errno = EINVAL;
	return -1;
}

int x86_mmu_walk(struct nvmm_machine *mach, const struct nvmm_x64_state *st,
		 uint64_t la, unsigned int acc, uint64_t *gpa,
		 nvmm_prot_t *prot, uint32_t *pferr)
{
	if ((st->crs[NVMM_X64_CR_CR0] & X86_CR0_PG) &&
	    (st->crs[NVMM_X64_CR_CR4] & X86_CR4_PAE) &&
	    (st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_LMA))
		return x86_walk_long(mach, st, la, acc, gpa, prot, pferr);
	return x86_mmu_walk_generic(mach, st, la, acc, gpa, prot, pferr);
}

VMM_EXPORT int nvmm_gva_to_gpa(struct nvmm_machine *mach,
			       struct nvmm_vcpu *vcpu, gvaddr_t gva,
			       gpaddr_t *gpa, nvmm_prot_t *prot)
{
	uint32_t pferr;

	if (mach == NULL || vcpu == NULL || gpa == NULL || prot == NULL ||
	    mach->areas == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_CRS |
			       NVMM_X64_STATE_MSRS) == -1)
		return -1;
	return x86_mmu_walk(mach, vcpu->state, gva, X86_ACC_READ | X86_ACC_PROBE,
			    gpa, prot, &pferr);
}
