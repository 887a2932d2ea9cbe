/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: the assists' guest memory accesses. An operand is translated
 * (x86_walk.c) and classified page by page before any access is made: RAM
 * the area's protection allows is accessed through the host mapping, the
 * rest (MMIO, ROM written) through the VCPU's mem callback. Also the
 * instruction fetch for the assists.
 */
#include <errno.h>
#include <string.h>

#include "x86_ctx.h"
#include "x86_decode_inline.h"
#include "x86_emul.h"

/* -------------------------------------------------------------------------- */
/* Guest memory operands. */

_Static_assert(X86_MEM_R == NVMM_PROT_READ && X86_MEM_W == NVMM_PROT_WRITE,
	       "x86_ram() takes X86_MEM_* for NVMM_PROT_*");

/* The guest-physical address of the operand's part at pla. */
static int x86_gmem_translate(struct x86_ctx *c, uint64_t pla,
			      unsigned int memacc, uint64_t *gpa)
{
	nvmm_prot_t prot;
	uint32_t pferr;

	if (!(c->st->crs[NVMM_X64_CR_CR0] & X86_CR0_PG)) {
		*gpa = pla;
		return 0;
	}
	if (x86_mmu_walk(c->mach, c->st, pla, X86_ACC_CHECK | X86_ACC_PROBE |
			 ((memacc & X86_MEM_W) ? X86_ACC_WRITE : X86_ACC_READ),
			 gpa, &prot, &pferr) == -1) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

int x86_gmem_map(struct x86_ctx *c, uint64_t la, unsigned int size,
		 unsigned int memacc, struct x86_gmem *g)
{
	unsigned int first = (unsigned int)(X86_PAGE_SIZE - (la & X86_PAGE_MASK));
	unsigned int i;

	if (c->mode != X86_MODE_64)
		la &= 0xFFFFFFFFULL;
	if (size <= first) {
		g->n = 1;
		g->s[0].len = size;
		g->s[1].len = 0;
	} else {
		g->n = 2;
		g->s[0].len = first;
		g->s[1].len = size - first;
	}
	for (i = 0; i < g->n; i++) {
		struct x86_span *sp = &g->s[i];
		uint64_t pla = (i == 0) ? la : la + first;

		if (c->mode != X86_MODE_64)
			pla &= 0xFFFFFFFFULL;
		if (x86_gmem_translate(c, pla, memacc, &sp->gpa) == -1)
			return -1;
		sp->hva = x86_ram(c, sp->gpa, sp->len, memacc);
		if (sp->hva == NULL && c->vcpu->cbs.mem == NULL) {
			errno = EINVAL;
			return -1;
		}
		/* RAM the CPU has not touched for this instruction. */
		if (sp->hva != NULL &&
		    !x86_host_ok(sp->hva, sp->len, memacc & X86_MEM_W))
			return -1;
	}
	return 0;
}

void x86_mmio_split(struct nvmm_mem *mem, unsigned int len)
{
	void (*cb)(struct nvmm_mem *) = mem->vcpu->cbs.mem;
	uint64_t gpa = mem->gpa;
	uint8_t *data = mem->data;
	const bool write = mem->write;

	while (len > 0) {
		unsigned int k = len >= 8 ? 8 : len >= 4 ? 4 : len >= 2 ? 2 : 1;

		mem->gpa = gpa;
		mem->data = data;
		mem->write = write;
		mem->size = k;
		cb(mem);
		gpa += k;
		data += k;
		len -= k;
	}
}

void x86_gmem_rw2(struct x86_ctx *c, const struct x86_gmem *g, void *buf,
		  bool write)
{
	unsigned int i, off = 0;

	for (i = 0; i < g->n; i++) {
		x86_span_rw(c, g->s[i].gpa, g->s[i].hva, (uint8_t *)buf + off,
			    g->s[i].len, write);
		off += g->s[i].len;
	}
}

/* -------------------------------------------------------------------------- */
/* String operands. */

uint64_t x86_str_room(uint64_t la, uint64_t off, unsigned int size,
		      bool down, uint64_t admask, uint64_t max)
{
	uint64_t po = la & X86_PAGE_MASK, n, room;

	if (po + size > X86_PAGE_SIZE || off > admask - (size - 1))
		return 0;
	if (down) {
		n = po / size + 1;
		room = off / size + 1;
	} else {
		n = (X86_PAGE_SIZE - po) / size;
		room = (admask - off - (size - 1)) / size + 1;
		if (room == 0)	/* 64-bit address size: no wrap */
			room = max;
	}
	if (n > room)
		n = room;
	return n < max ? n : max;
}

int x86_strop_map(struct x86_ctx *c, struct x86_strop *o, uint64_t la,
		  unsigned int size, bool down, uint64_t n,
		  unsigned int memacc)
{
	uint64_t lo = la, span = size;

	o->size = size;
	o->down = down;
	o->single = (n == 0);
	if (n > 0) {
		span = n * size;
		if (down)
			lo = la - (n - 1) * size;
	}
	if (x86_gmem_map(c, lo, (unsigned int)span, memacc, &o->g) == -1)
		return -1;
	o->gpa0 = o->g.s[0].gpa + (la - lo);
	o->hva0 = o->g.s[0].hva ? o->g.s[0].hva + (la - lo) : NULL;
	return 0;
}

void x86_strop_rw(struct x86_ctx *c, const struct x86_strop *o, uint64_t k,
		  void *buf, bool write)
{
	int64_t off = (int64_t)(k * o->size);

	if (o->single) {
		if (write)
			x86_gmem_write(c, &o->g, buf);
		else
			x86_gmem_read(c, &o->g, buf);
		return;
	}
	if (o->down)
		off = -off;
	x86_span_rw(c, o->gpa0 + (uint64_t)off, o->hva0 ? o->hva0 + off : NULL,
		    buf, o->size, write);
}

/* -------------------------------------------------------------------------- */
/* Instructions. */

/*
 * Fetch the instruction at CS:RIP (up to 15 bytes, fewer at the end of the
 * RAM it is in). Returns the number of bytes, or -1 with errno EFAULT.
 */
static inline int x86_fetch_insn(struct x86_ctx *c, uint8_t *buf)
{
	uint64_t rip = c->st->gprs[NVMM_X64_GPR_RIP], la, gpa;
	unsigned int n = 0, k;
	const struct vmm_area *a;
	nvmm_prot_t prot;
	uint32_t pferr;

	if (c->mode == X86_MODE_16)
		rip &= 0xFFFF;
	else if (c->mode == X86_MODE_32)
		rip &= 0xFFFFFFFFULL;
	la = x86_linear(c, NVMM_X64_SEG_CS, rip, 8);
	while (n < X86_MAX_INSN_LEN) {
		if (x86_mmu_walk(c->mach, c->st, la,
				 X86_ACC_CHECK | X86_ACC_EXEC, &gpa, &prot,
				 &pferr) == -1 ||
		    (a = vmm_area_get(c->mach, gpa)) == NULL ||
		    !(a->prot & (NVMM_PROT_READ | NVMM_PROT_EXEC)))
			break;
		k = (unsigned int)(X86_PAGE_SIZE - (la & X86_PAGE_MASK));
		if (k > X86_MAX_INSN_LEN - n)
			k = X86_MAX_INSN_LEN - n;
		if (k == X86_MAX_INSN_LEN) {	/* usually: two loads */
			const uint8_t *p = (const uint8_t *)(a->hva +
							     (gpa - a->gpa));

			memcpy(buf, p, 8);
			memcpy(buf + 7, p + 7, 8);
		} else {
			memcpy(buf + n, (const uint8_t *)(a->hva +
							  (gpa - a->gpa)), k);
		}
		n += k;
		la += k;
		if (c->mode != X86_MODE_64)
			la &= 0xFFFFFFFFULL;
	}
	if (n == 0) {
		errno = EFAULT;
		return -1;
	}
	return (int)n;
}

int x86_get_insn(struct x86_ctx *c, const uint8_t *bytes, unsigned int n,
		 struct x86_insn *insn)
{
	uint8_t buf[X86_MAX_INSN_LEN];
	int r, got;

	if (n > X86_MAX_INSN_LEN)
		n = X86_MAX_INSN_LEN;
	if (n > 0) {
		r = x86_decode(bytes, n, c->mode, insn);
		if (r == X86_DEC_OK)
			return 0;
		if (r == X86_DEC_INVALID || n == X86_MAX_INSN_LEN) {
			errno = ENODEV;
			return -1;
		}
		/* The CPU gave too few bytes: fetch them. */
	}
	got = x86_fetch_insn(c, buf);
	if (got < 0)
		return -1;
	r = x86_decode_cached_inline(buf, (size_t)got, c->mode, insn);
	if (r == X86_DEC_OK)
		return 0;
	errno = (r == X86_DEC_SHORT) ? EFAULT : ENODEV;
	return -1;
}
