/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: guest page walks and guest memory accesses for the assists.
 *
 * A guest memory operand is translated (linear -> guest-physical, page by
 * page) and classified before any access is made: a part that lies in a RAM
 * area whose protection allows the access is read or written directly
 * through the host mapping; any other part (no area: MMIO; or an area whose
 * protection forbids the access, e.g. a write to ROM) goes through the
 * VCPU's mem callback, one element of 1, 2, 4 or 8 bytes per call.
 */
#ifndef X86_MMU_H
#define X86_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm_internal.h"
#include "x86_decode.h"

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
 * is checked as well. Returns 0; or -1 with *pferr the #PF error code and
 * errno EFAULT (not present, not allowed, non-canonical, page table
 * outside RAM) or EINVAL (reserved bit set).
 */
int x86_mmu_walk(struct nvmm_machine *mach, const struct nvmm_x64_state *st,
		 uint64_t la, unsigned int acc, uint64_t *gpa,
		 nvmm_prot_t *prot, uint32_t *pferr);

/* The default operand/address size of the code the VCPU is running. */
enum x86_cpu_mode x86_cpu_mode(const struct nvmm_x64_state *st);

/* An assist's view of the VCPU: the state is read-only, gprs a copy. */
struct x86_ctx {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	const struct nvmm_x64_state *st;
	enum x86_cpu_mode mode;
	uint64_t gprs[NVMM_X64_NGPR];
};

/* Linear address of seg:off, off wrapped to the address size. */
uint64_t x86_linear(const struct x86_ctx *c, unsigned int seg, uint64_t off,
		    unsigned int adsize);

/* A part of an operand within one page. */
struct x86_span {
	uint64_t gpa;
	uint8_t *hva;		/* NULL: through the mem callback */
	unsigned int len;
};

/* A guest memory operand: one span, two when it crosses a page. */
struct x86_gmem {
	struct x86_span s[2];
	unsigned int n;
};

/*
 * Translate and classify the operand [la, la + size) for the accesses
 * X86_MEM_R/W (x86_emul.h). hint is a guest-physical address known to be
 * where la's byte is (the exit's), or ~0 when none. Fails with EFAULT
 * (translation) or EINVAL (the mem callback is needed and NULL); nothing
 * has been accessed then.
 */
int x86_gmem_map(struct x86_ctx *c, uint64_t la, unsigned int size,
		 unsigned int memacc, uint64_t hint, struct x86_gmem *g);

void x86_gmem_read(struct x86_ctx *c, const struct x86_gmem *g, void *buf);
void x86_gmem_write(struct x86_ctx *c, const struct x86_gmem *g,
		    const void *buf);

/* Access len bytes at gpa (within a span classified as hva). */
void x86_span_rw(struct x86_ctx *c, uint64_t gpa, uint8_t *hva, void *buf,
		 unsigned int len, bool write);

/*
 * A string operand (MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS): a run of elements
 * of 'size' bytes from linear address la, going up or down, all in la's
 * page (mapped once), or a single element that may cross a page.
 */
struct x86_strop {
	struct x86_gmem g;
	uint64_t gpa0;		/* element 0 */
	uint8_t *hva0;		/* element 0, NULL: the mem callback */
	unsigned int size;
	bool down;		/* RFLAGS.DF */
	bool single;		/* one element, g as mapped */
};

/*
 * How many elements (at most max) starting at la (offset off in the
 * segment) stay inside la's page without the offset wrapping around the
 * address size; 0 when the first one crosses a page or wraps.
 */
uint64_t x86_str_room(uint64_t la, uint64_t off, unsigned int size,
		      bool down, uint64_t admask, uint64_t max);

/* Map n elements (n = 0: a single element, see x86_str_room()). */
int x86_strop_map(struct x86_ctx *c, struct x86_strop *o, uint64_t la,
		  unsigned int size, bool down, uint64_t n,
		  unsigned int memacc);

/* Read or write element k of a mapped string operand. */
void x86_strop_rw(struct x86_ctx *c, const struct x86_strop *o, uint64_t k,
		  void *buf, bool write);

/* The most elements a REP string instruction does per assist call. */
#define X86_REP_MAX	4096

/*
 * Fetch the instruction at CS:RIP (up to 15 bytes, fewer at the end of the
 * RAM it is in). Returns the number of bytes, or -1 with errno EFAULT.
 */
int x86_fetch_insn(struct x86_ctx *c, uint8_t *buf);

/*
 * Decode the instruction of the exit: the bytes the CPU gave (inst_len of
 * inst_bytes, if any), else those fetched from guest memory. -1 with errno
 * ENODEV (invalid or not emulated) or EFAULT (cannot fetch).
 */
int x86_get_insn(struct x86_ctx *c, const uint8_t *bytes, unsigned int n,
		 struct x86_insn *insn);

/* Set RIP past the instruction (wrapping as the code size does). */
void x86_advance_rip(struct x86_ctx *c, unsigned int len);

/* Load the context; commit the registers back (and setstate). */
int x86_ctx_init(struct x86_ctx *c, struct nvmm_machine *mach,
		 struct nvmm_vcpu *vcpu);
int x86_ctx_commit(struct x86_ctx *c);

#endif /* X86_MMU_H */
