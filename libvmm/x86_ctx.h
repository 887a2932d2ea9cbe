/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: the assists' context (the VCPU's state as they see it) and their
 * guest memory accesses.
 *
 * A guest memory operand is translated (linear -> guest-physical, page by
 * page) and classified before any access is made: a part that lies in a RAM
 * area whose protection allows the access is read or written directly
 * through the host mapping; any other part (no area: MMIO; or an area whose
 * protection forbids the access, e.g. a write to ROM) goes through the
 * VCPU's mem callback, one element of 1, 2, 4 or 8 bytes per call.
 */
#ifndef X86_CTX_H
#define X86_CTX_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vmm_internal.h"
#include "x86_decode.h"
#include "x86_walk.h"

/* The default operand/address size of the code the VCPU is running. */
static inline enum x86_cpu_mode x86_cpu_mode(const struct nvmm_x64_state *st)
{
	const struct nvmm_x64_state_seg *cs = &st->segs[NVMM_X64_SEG_CS];

	if (!(st->crs[NVMM_X64_CR_CR0] & X86_CR0_PE) ||
	    (st->gprs[NVMM_X64_GPR_RFLAGS] & (1ULL << 17)))	/* VM */
		return X86_MODE_16;
	if ((st->msrs[NVMM_X64_MSR_EFER] & X86_EFER_LMA) && cs->attrib.l)
		return X86_MODE_64;
	return cs->attrib.def ? X86_MODE_32 : X86_MODE_16;
}

/*
 * An assist's view of the VCPU. gprs are the comm page's: the assists
 * change them only once nothing can fail any more (after every operand is
 * translated and classified), so that a failure leaves the state as it was;
 * x86_ctx_commit() then marks the GPRS group for the next run.
 */
struct x86_ctx {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	struct nvmm_comm_page *comm;
	const struct nvmm_x64_state *st;
	uint64_t *gprs;
	enum x86_cpu_mode mode;
};

/* Linear address of seg:off, off already wrapped to the address size. */
static inline uint64_t x86_seg_linear(const struct x86_ctx *c,
				      unsigned int seg, uint64_t off)
{
	if (c->mode == X86_MODE_64) {
		if (seg == NVMM_X64_SEG_FS || seg == NVMM_X64_SEG_GS)
			return off + c->st->segs[seg].base;
		return off;
	}
	return (off + c->st->segs[seg].base) & 0xFFFFFFFFULL;
}

/* Linear address of seg:off, off wrapped to the address size. */
static inline uint64_t x86_linear(const struct x86_ctx *c, unsigned int seg,
				  uint64_t off, unsigned int adsize)
{
	off &= adsize >= 8 ? ~0ULL : (1ULL << (8 * adsize)) - 1;
	return x86_seg_linear(c, seg, off);
}

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
 * The host address of [gpa, gpa + len) when it is in one RAM area whose
 * protection allows the accesses memacc (X86_MEM_R/W); NULL when it must
 * go through the mem callback (MMIO, or e.g. a write to ROM).
 */
static inline uint8_t *x86_ram(struct x86_ctx *c, uint64_t gpa,
			       unsigned int len, unsigned int memacc)
{
	const struct vmm_area *a = vmm_area_get(c->mach, gpa);

	/* X86_MEM_R/W are NVMM_PROT_READ/WRITE (x86_ctx.c checks). */
	if (a == NULL || a->gpa + a->size - gpa < len ||
	    (a->prot & memacc) != memacc)
		return NULL;
	return (uint8_t *)(a->hva + (gpa - a->gpa));
}

/*
 * Translate and classify the operand [la, la + size) for the accesses
 * X86_MEM_R/W (x86_emul.h). Fails with EFAULT (translation) or EINVAL (the
 * mem callback is needed and NULL); nothing has been accessed then.
 */
int x86_gmem_map(struct x86_ctx *c, uint64_t la, unsigned int size,
		 unsigned int memacc, struct x86_gmem *g);

/* The mem callback for a part of 3, 5, 6 or 7 bytes: 4, 2 and 1 bytes. */
void x86_mmio_split(struct nvmm_mem *mem, unsigned int len);

/* len bytes at gpa through the mem callback: 8, 4, 2 or 1 at a time. */
static inline __attribute__((always_inline)) void
x86_mmio(struct x86_ctx *c, uint64_t gpa, uint8_t *buf, unsigned int len,
	 bool write)
{
	struct nvmm_mem mem;

	mem.mach = c->mach;
	mem.vcpu = c->vcpu;
	mem.gpa = gpa;
	mem.write = write;
	mem.size = len;
	mem.data = buf;
	if (__builtin_expect((len & (len - 1)) == 0 && len <= 8, 1))
		c->vcpu->cbs.mem(&mem);
	else
		x86_mmio_split(&mem, len);
}

/* Access len bytes at gpa (within a span classified as hva). */
static inline __attribute__((always_inline)) void
x86_span_rw(struct x86_ctx *c, uint64_t gpa, uint8_t *hva, void *buf,
	    unsigned int len, bool write)
{
	if (hva == NULL) {
		x86_mmio(c, gpa, (uint8_t *)buf, len, write);
		return;
	}
	/* Constant sizes: single loads and stores, not a call. */
	switch (len) {
	case 1:
		if (write)
			*hva = *(uint8_t *)buf;
		else
			*(uint8_t *)buf = *hva;
		return;
	case 2:
		if (write)
			memcpy(hva, buf, 2);
		else
			memcpy(buf, hva, 2);
		return;
	case 4:
		if (write)
			memcpy(hva, buf, 4);
		else
			memcpy(buf, hva, 4);
		return;
	case 8:
		if (write)
			memcpy(hva, buf, 8);
		else
			memcpy(buf, hva, 8);
		return;
	default:
		if (write)
			memcpy(hva, buf, len);
		else
			memcpy(buf, hva, len);
		return;
	}
}

/*
 * An operand part of 1, 2, 4 or 8 bytes (a whole operand in one page):
 * like x86_span_rw(), one callback at most.
 */
static inline __attribute__((always_inline)) void
x86_part_rw(struct x86_ctx *c, uint64_t gpa, uint8_t *hva, void *buf,
	    unsigned int len, bool write)
{
	struct nvmm_mem mem;

	if (hva != NULL) {
		x86_span_rw(c, gpa, hva, buf, len, write);
		return;
	}
	mem.mach = c->mach;
	mem.vcpu = c->vcpu;
	mem.gpa = gpa;
	mem.write = write;
	mem.size = len;
	mem.data = (uint8_t *)buf;
	c->vcpu->cbs.mem(&mem);
}

/* An operand in two pages: both parts. */
void x86_gmem_rw2(struct x86_ctx *c, const struct x86_gmem *g, void *buf,
		  bool write);

/* Read or write the operand; buf holds its bytes in guest order. */
static inline __attribute__((always_inline)) void
x86_gmem_rw(struct x86_ctx *c, const struct x86_gmem *g, void *buf,
	    bool write)
{
	if (__builtin_expect(g->n == 1, 1))
		x86_span_rw(c, g->s[0].gpa, g->s[0].hva, buf, g->s[0].len,
			    write);
	else
		x86_gmem_rw2(c, g, buf, write);
}

static inline __attribute__((always_inline)) void
x86_gmem_read(struct x86_ctx *c, const struct x86_gmem *g, void *buf)
{
	x86_gmem_rw(c, g, buf, false);
}

static inline __attribute__((always_inline)) void
x86_gmem_write(struct x86_ctx *c, const struct x86_gmem *g, void *buf)
{
	x86_gmem_rw(c, g, buf, true);
}

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
 * Decode the instruction of the exit: the bytes the CPU gave (inst_len of
 * inst_bytes, if any), else those fetched from guest memory. -1 with errno
 * ENODEV (invalid or not emulated) or EFAULT (cannot fetch).
 */
int x86_get_insn(struct x86_ctx *c, const uint8_t *bytes, unsigned int n,
		 struct x86_insn *insn);

/* Offsets in code of each mode (enum x86_cpu_mode) wrap at these. */
static const uint64_t x86_mode_mask[3] = { 0xFFFF, 0xFFFFFFFF, ~0ULL };

/* Set RIP past the instruction (wrapping as the code size does). */
static inline void x86_advance_rip(struct x86_ctx *c, unsigned int len)
{
	c->gprs[NVMM_X64_GPR_RIP] = (c->gprs[NVMM_X64_GPR_RIP] + len) &
				    x86_mode_mask[c->mode];
}

/* Move RIP to a next-instruction pointer, wrapped to the code size. */
static inline void x86_set_npc(struct x86_ctx *c, uint64_t npc)
{
	c->gprs[NVMM_X64_GPR_RIP] = npc & x86_mode_mask[c->mode];
}

/* The groups the assists read, as the kernel gives them with the exit. */
#define X86_CTX_STATE	(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS | \
			 NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS)

/* Check the arguments and load the context (getstate if not cached). */
static inline int x86_ctx_init(struct x86_ctx *c, struct nvmm_machine *mach,
			       struct nvmm_vcpu *vcpu)
{
	struct nvmm_comm_page *comm;

	if (mach == NULL || vcpu == NULL || mach->areas == NULL ||
	    mach->pages == NULL || vcpu->state == NULL || vcpu->exit == NULL ||
	    vcpu->cpuid >= vmm_cap.max_vcpus ||
	    (comm = mach->pages[vcpu->cpuid]) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((comm->state_cached & X86_CTX_STATE) != X86_CTX_STATE &&
	    nvmm_vcpu_getstate(mach, vcpu, X86_CTX_STATE) == -1)
		return -1;
	c->mach = mach;
	c->vcpu = vcpu;
	c->comm = comm;
	c->st = vcpu->state;
	c->gprs = vcpu->state->gprs;
	c->mode = x86_cpu_mode(c->st);
	return 0;
}

/* The GPRs changed: what nvmm_vcpu_setstate(GPRS) does. */
static inline int x86_ctx_commit(struct x86_ctx *c)
{
	c->comm->state_commit |= NVMM_X64_STATE_GPRS;
	c->comm->state_cached |= NVMM_X64_STATE_GPRS;
	return 0;
}

#endif /* X86_CTX_H */
