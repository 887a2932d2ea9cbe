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

#include "x86_emul.h"
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

/* A walk in progress: the paging mode and what the levels gathered. */
struct x86_walk {
	enum x86_paging pg;
	unsigned int levels;
	uint64_t la;		/* truncated to 32 bits but in long mode */
	uint64_t table;		/* the table of the level being read */
	uint64_t frame;		/* address bits of a 64-bit entry */
	uint64_t rsvd64;	/* reserved bits of 64-bit entries */
	unsigned int maxphy;
	bool nxe, pse;
	bool rw, us, xd;	/* AND of R/W and U/S, OR of XD */
};

/*
 * The paging mode of st for la: the levels and the first table. Returns
 * false if la is not canonical in long mode (#GP, not #PF).
 */
static bool x86_walk_mode(const struct nvmm_x64_state *st, uint64_t la,
			  struct x86_walk *w)
{
	const uint64_t cr3 = st->crs[NVMM_X64_CR_CR3];
	const uint64_t cr4 = st->crs[NVMM_X64_CR_CR4];

	w->maxphy = x86_maxphy();
	w->frame = x86_bits(w->maxphy - 1, 12);
	w->nxe = (st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_NXE) != 0;
	w->pse = (cr4 & X86_CR4_PSE) != 0;
	w->rw = w->us = true;
	w->xd = false;
	w->la = la & 0xFFFFFFFFULL;
	if (!(cr4 & X86_CR4_PAE)) {
		w->pg = PG_32;
		w->levels = 2;
		w->table = cr3 & 0xFFFFF000ULL;
	} else if (st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_LMA) {
		unsigned int vbits = (cr4 & X86_CR4_LA57) ? 57 : 48;
		uint64_t top = la >> (vbits - 1);

		if (top != 0 && top != (~0ULL >> (vbits - 1)))
			return false;
		w->pg = (cr4 & X86_CR4_LA57) ? PG_5L : PG_4L;
		w->levels = (w->pg == PG_5L) ? 5 : 4;
		w->la = la;
		w->table = cr3 & w->frame;
	} else {
		w->pg = PG_PAE;
		w->levels = 3;
		w->table = cr3 & 0xFFFFFFE0ULL;
	}
	/* Reserved bits of the 64-bit entries but PDPTEs, before PS. */
	w->rsvd64 = x86_bits(w->pg == PG_PAE ? 62 : 51, w->maxphy) |
		    (w->nxe ? 0 : 1ULL << 63);
	return true;
}

/* The shift of the linear-address bits a level's index takes. */
static unsigned int x86_walk_shift(const struct x86_walk *w,
				   unsigned int level)
{
	return w->pg == PG_32 ? 12 + 10 * (level - 1) : 12 + 9 * (level - 1);
}

/* Where the level's entry for la is. */
static uint64_t x86_walk_entry(const struct x86_walk *w, unsigned int level)
{
	unsigned int shift = x86_walk_shift(w, level);

	if (w->pg == PG_32)
		return w->table + ((w->la >> shift) & 0x3FF) * 4;
	if (w->pg == PG_PAE && level == 3)
		return w->table + ((w->la >> 30) & 3) * 8;
	return w->table + ((w->la >> shift) & 0x1FF) * 8;
}

/*
 * The reserved bits of a present entry at level, and whether it maps a
 * large page (PS where the mode allows one).
 */
static uint64_t x86_pte_rsvd(const struct x86_walk *w, unsigned int level,
			     uint64_t pte, bool *large)
{
	uint64_t rsvd;

	*large = false;
	if (w->pg == PG_32) {
		if (level != 2 || !(pte & 0x80) || !w->pse)
			return 0;
		*large = true;
		/* PSE-36: bits 20:13 hold address bits 39:32. */
		return (1ULL << 21) |
		       x86_bits(20, 13 + (w->maxphy > 40 ? 8 :
					  w->maxphy - 32));
	}
	if (w->pg == PG_PAE && level == 3)	/* a PDPTE */
		return 0x1E6ULL | x86_bits(63, w->maxphy);
	rsvd = w->rsvd64;
	if (level >= 4) {
		rsvd |= 0x80;	/* PS in PML4E, PML5E */
	} else if ((level == 3 || level == 2) && (pte & 0x80)) {
		*large = true;
		rsvd |= level == 3 ? x86_bits(29, 13) : x86_bits(20, 13);
	}
	return rsvd;
}

/* The guest-physical address of la in the page the walk ended on. */
static uint64_t x86_walk_pa(const struct x86_walk *w, unsigned int level,
			    uint64_t pte)
{
	uint64_t pmask;

	if (w->pg == PG_32 && level == 2)
		return (pte & 0xFFC00000ULL) | (((pte >> 13) & 0xFF) << 32) |
		       (w->la & 0x3FFFFFULL);
	if (w->pg == PG_32)
		return (pte & 0xFFFFF000ULL) | (w->la & X86_PAGE_MASK);
	pmask = x86_bits(x86_walk_shift(w, level) - 1, 0);
	return (pte & w->frame & ~pmask) | (w->la & pmask);
}

/*
 * Whether a checked access to a page with R/W rw, U/S us and XD xd is
 * denied: CPL 3 (or virtual-8086) needs U/S and, to write, R/W; the
 * supervisor is held by SMEP, SMAP (unless RFLAGS.AC) and CR0.WP.
 */
static inline __attribute__((always_inline)) bool
x86_walk_denied(const struct nvmm_x64_state *st, unsigned int acc, bool rw,
		bool us, bool xd)
{
	const uint64_t cr4 = st->crs[NVMM_X64_CR_CR4];
	const bool wr = (acc & X86_ACC_WRITE) != 0;
	const bool ex = (acc & X86_ACC_EXEC) != 0;
	bool user = (st->gprs[NVMM_X64_GPR_RFLAGS] & X86_VM) ||
		    st->segs[NVMM_X64_SEG_SS].attrib.dpl == 3;
	bool denied;

	if (user)
		denied = !us || (wr && !rw);
	else
		denied = (us && ex && (cr4 & X86_CR4_SMEP)) ||
			 (us && !ex && (cr4 & X86_CR4_SMAP) &&
			  !(st->gprs[NVMM_X64_GPR_RFLAGS] & X86_AC)) ||
			 (wr && !rw && (st->crs[NVMM_X64_CR_CR0] & X86_CR0_WP));
	return denied || (ex && xd);
}

static uint32_t x86_pf_access(const struct nvmm_x64_state *st,
			      unsigned int acc);

/* Every paging mode, level by level (the reference for x86_walk_long()). */
int x86_mmu_walk_generic(struct nvmm_machine *mach,
			 const struct nvmm_x64_state *st, uint64_t la,
			 unsigned int acc, uint64_t *gpa, nvmm_prot_t *prot,
			 uint32_t *pferr)
{
	struct x86_pt_area pta = {
		.probe = (acc & X86_ACC_PROBE) != 0,
	};
	struct x86_walk w;
	unsigned int level;
	uint64_t pte = 0;
	bool large = false;

	*pferr = x86_pf_access(st, acc);
	if (!(st->crs[NVMM_X64_CR_CR0] & X86_CR0_PG)) {
		*gpa = (st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_LMA) ? la :
		       (la & 0xFFFFFFFFULL);
		*prot = NVMM_PROT_ALL;
		*pferr = 0;
		return 0;
	}
	if (!x86_walk_mode(st, la, &w)) {
		errno = EFAULT;	/* non-canonical: #GP, not #PF */
		return -1;
	}
	for (level = w.levels; level >= 1; level--) {
		if (x86_read_pte(mach, &pta, x86_walk_entry(&w, level),
				 w.pg == PG_32 ? 4 : 8, &pte) == -1 ||
		    !(pte & 1)) {
			errno = EFAULT;
			return -1;
		}
		if (pte & x86_pte_rsvd(&w, level, pte, &large)) {
			*pferr |= X86_PFERR_P | X86_PFERR_RSVD;
			errno = EINVAL;
			return -1;
		}
		if (!(w.pg == PG_PAE && level == 3)) {	/* PDPTEs have neither */
			w.rw = w.rw && (pte & 2);
			w.us = w.us && (pte & 4);
		}
		if (w.pg != PG_32 && w.nxe && (pte >> 63))
			w.xd = true;
		if (large || level == 1)
			break;
		w.table = (w.pg == PG_32) ? (pte & 0xFFFFF000ULL) :
					    (pte & w.frame);
	}
	if ((acc & X86_ACC_CHECK) && x86_walk_denied(st, acc, w.rw, w.us, w.xd)) {
		*pferr |= X86_PFERR_P;
		errno = EFAULT;
		return -1;
	}
	*gpa = x86_walk_pa(&w, level, pte);
	*prot = NVMM_PROT_READ | (w.rw ? NVMM_PROT_WRITE : 0) |
		(w.xd ? 0 : NVMM_PROT_EXEC) | (w.us ? NVMM_PROT_USER : 0);
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

	if ((acc & X86_ACC_CHECK) && x86_walk_denied(st, acc, rw, us, xd)) {
		pf = X86_PFERR_P;
		goto fault;
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
