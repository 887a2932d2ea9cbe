/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: guest page walks: linear to guest-physical in the guest's paging
 * mode, with the access checks and #PF error code of the CPU.
 */
#ifndef X86_WALK_H
#define X86_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm_internal.h"

#define X86_PAGE_SIZE	4096ULL
#define X86_PAGE_MASK	(X86_PAGE_SIZE - 1)

/* Control bits. */
#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PSE	(1ULL << 4)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_CR4_LA57	(1ULL << 12)
#define X86_CR4_SMEP	(1ULL << 20)
#define X86_CR4_SMAP	(1ULL << 21)
#define X86_EFER_LME	(1ULL << 8)
#define X86_EFER_LMA	(1ULL << 10)
#define X86_EFER_NXE	(1ULL << 11)

/* Access kinds for x86_mmu_walk(). */
#define X86_ACC_READ	0x0
#define X86_ACC_WRITE	0x1
#define X86_ACC_EXEC	0x2
#define X86_ACC_CHECK	0x4	/* check the access (else translate only) */
#define X86_ACC_PROBE	0x8	/* probe the tables' host pages first */

/* #PF error code bits. */
#define X86_PFERR_P	0x01	/* protection violation (else not present) */
#define X86_PFERR_W	0x02
#define X86_PFERR_U	0x04
#define X86_PFERR_RSVD	0x08
#define X86_PFERR_I	0x10

/*
 * The guest's MAXPHYADDR for reserved-bit checks: the host's (CPUID
 * 0x80000008) unless set; tests set it.
 */
extern unsigned int x86_mmu_maxphyaddr;

/*
 * Translate linear address la with the paging mode of st (CR0, CR3, CR4,
 * EFER). With X86_ACC_CHECK the access (X86_ACC_WRITE/EXEC, CPL from
 * SS.dpl or 3 in virtual-8086 mode, CR0.WP, CR4.SMEP/SMAP with RFLAGS.AC)
 * is checked as well. Returns 0 (*pferr then unspecified); or -1 with
 * *pferr the #PF error code and errno EFAULT (not present, not allowed,
 * non-canonical, page table outside RAM) or EINVAL (reserved bit set).
 */
int x86_mmu_walk(struct nvmm_machine *mach, const struct nvmm_x64_state *st,
		 uint64_t la, unsigned int acc, uint64_t *gpa,
		 nvmm_prot_t *prot, uint32_t *pferr);

/* The same without the fast path for long mode (for tests). */
int x86_mmu_walk_generic(struct nvmm_machine *mach,
			 const struct nvmm_x64_state *st, uint64_t la,
			 unsigned int acc, uint64_t *gpa, nvmm_prot_t *prot,
			 uint32_t *pferr);

/*
 * Whether the host memory at [hva, hva + len) can be read (or written, with
 * write) now, asked of the kernel (it populates the pages): a page that is
 * unmapped, PROT_NONE, beyond the end of its file or read-only (for write)
 * gives false with errno EFAULT, where touching it would raise SIGSEGV or
 * SIGBUS in the VMM.
 */
bool x86_host_ok(const void *hva, size_t len, bool write);

#endif /* X86_WALK_H */
