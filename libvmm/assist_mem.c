/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: nvmm_assist_mem(), the emulation of the instruction behind a
 * MEMORY exit.
 *
 * Order of work: decode (the exit's bytes, or fetched through the guest
 * page tables), compute the operands' linear addresses, translate and
 * classify every byte of every memory operand (RAM with permission, or the
 * mem callback), and only then access anything. A failure before the first
 * access leaves the VCPU state untouched. The registers are changed in
 * place (the comm page's) once nothing can fail, and committed (what
 * setstate GPRS does, without a system call) at the end.
 *
 * String instructions with REP do a batch of elements per call: as many as
 * stay within the current page of each operand, at most X86_REP_MAX, and
 * stopping early when REPE/REPNE end the loop. RIP stays on the instruction
 * while the count is not exhausted, so the guest re-executes it.
 */
#include <errno.h>
#include <string.h>

#include "x86_emul.h"
#include "x86_ctx.h"
#include "x86_decode_inline.h"

/* Effective address of the ModRM/moffs operand, wrapped to the size. */
static inline uint64_t x86_effective(const struct x86_ctx *c,
				     const struct x86_insn *insn)
{
	const struct x86_ea *ea = &insn->ea;
	uint64_t a = (uint64_t)ea->disp;

	if (ea->base == X86_EA_RIP)
		a += c->gprs[NVMM_X64_GPR_RIP] + insn->len;
	else if (ea->base != X86_EA_NONE)
		a += c->gprs[ea->base];
	if (ea->index != X86_EA_NONE)
		a += c->gprs[ea->index] * ea->scale;
	if (insn->op >= X86_OP_BT && insn->op <= X86_OP_BTC)
		a += (uint64_t)x86_emul_bt_disp(insn, c->gprs);
	if (insn->adsize < 8)
		a &= x86_size_mask(insn->adsize);
	return a;
}

/* Do the instruction on its mapped memory operand g, then step RIP. */
static void assist_mem_do(struct x86_ctx *c, const struct x86_insn *insn,
			  const struct x86_gmem *g, unsigned int memacc)
{
	uint64_t val = 0;

	if (memacc & X86_MEM_R)
		x86_gmem_read(c, g, &val);
	x86_emul_exec(insn, c->gprs, &val);
	if (memacc & X86_MEM_W)
		x86_gmem_write(c, g, &val);
	x86_advance_rip(c, insn->len);
}

/*
 * The same for an operand of 1, 2, 4 or 8 bytes in one part (hva, or the
 * mem callback when NULL), with paths of their own for the common
 * operations: MOV (no flags) and the eight ALU ones.
 */
static inline __attribute__((always_inline)) void
assist_mem_do1(struct x86_ctx *c, const struct x86_insn *insn, uint64_t gpa,
	       uint8_t *hva, unsigned int size, unsigned int memacc)
{
	const bool dst_mem = insn->dst.kind == X86_OPND_MEM;
	uint64_t val = 0, r;

	if (insn->op == X86_OP_MOV) {
		if (dst_mem) {
			val = insn->src.kind == X86_OPND_REG ?
				x86_reg_get(c->gprs, &insn->src) :
				insn->imm & x86_size_mask(size);
			x86_part_rw(c, gpa, hva, &val, size, true);
		} else {
			x86_part_rw(c, gpa, hva, &val, size, false);
			x86_reg_set(c->gprs, &insn->dst, val);
		}
	} else if (insn->op <= X86_OP_CMP) {
		/* ADD OR ADC SBB AND SUB XOR CMP: E,G E,I G,E. */
		uint64_t *fl = &c->gprs[NVMM_X64_GPR_RFLAGS];

		x86_part_rw(c, gpa, hva, &val, size, false);
		if (dst_mem) {
			r = insn->src.kind == X86_OPND_REG ?
				x86_reg_get(c->gprs, &insn->src) : insn->imm;
			if (insn->op == X86_OP_OR || insn->op == X86_OP_AND ||
			    insn->op == X86_OP_XOR)
				r = x86_alu_logic(insn->op, val, r, size, fl);
			else
				r = x86_alu(insn->op, val, r, size, fl);
			if (insn->op != X86_OP_CMP)
				x86_part_rw(c, gpa, hva, &r, size, true);
		} else {
			r = x86_alu(insn->op, x86_reg_get(c->gprs, &insn->dst),
				    val, size, fl);
			if (insn->op != X86_OP_CMP)
				x86_reg_set(c->gprs, &insn->dst, r);
		}
	} else {
		struct x86_gmem g = {
			.s = { { gpa, hva, size }, { 0, NULL, 0 } }, .n = 1,
		};

		assist_mem_do(c, insn, &g, memacc);
		return;
	}
	x86_advance_rip(c, insn->len);
}

static int assist_mem_one(struct x86_ctx *c, const struct x86_insn *insn,
			  uint64_t hint)
{
	const unsigned int memacc = x86_emul_mem_access(insn);
	const unsigned int size = insn->dst.kind == X86_OPND_MEM ?
				  insn->dst.size : insn->src.size;
	struct x86_gmem g;
	uint64_t la;
	uint8_t *hva;

	la = x86_seg_linear(c, insn->ea.seg, x86_effective(c, insn));
	/*
	 * In one page at the exit's address (its page offset is the
	 * operand's): no page walk.
	 */
	if ((la & X86_PAGE_MASK) + size <= X86_PAGE_SIZE &&
	    ((hint ^ la) & X86_PAGE_MASK) == 0 && hint != ~0ULL &&
	    (c->st->crs[NVMM_X64_CR_CR0] & X86_CR0_PG)) {
		hva = x86_ram(c, hint, size, memacc);
		if (hva == NULL && c->vcpu->cbs.mem == NULL) {
			errno = EINVAL;
			return -1;
		}
		/*
		 * RAM at the exit's own address: the kernel could not use the
		 * host memory behind it (unmapped, PROT_NONE, beyond EOF...).
		 */
		if (hva != NULL && !x86_host_ok(hva, size, memacc & X86_MEM_W))
			return -1;
		assist_mem_do1(c, insn, hint, hva, size, memacc);
		return 0;
	}
	if (x86_gmem_map(c, la, size, memacc, &g) == -1)
		return -1;
	if (g.n == 1)
		assist_mem_do1(c, insn, g.s[0].gpa, g.s[0].hva, size, memacc);
	else
		assist_mem_do(c, insn, &g, memacc);
	return 0;
}

/*
 * MOVS (src) or STOS (src NULL: from acc) over n elements of 'size' bytes,
 * both operands mapped as runs in one page each (not single elements):
 * one access of the element size per element and operand, in order.
 */
static inline __attribute__((always_inline)) void
assist_str_move_n(struct x86_ctx *c, const struct x86_strop *src,
		  const struct x86_strop *dst, uint64_t n, unsigned int size,
		  uint64_t acc)
{
	/* Element k is at offset k * step of element 0 (in the run). */
	const int64_t step = dst->down ? -(int64_t)size : (int64_t)size;
	const uint64_t sg = src ? src->gpa0 : 0, dg = dst->gpa0;
	uint8_t *sh = src ? src->hva0 : NULL, *dh = dst->hva0;
	void (*cb)(struct nvmm_mem *) = c->vcpu->cbs.mem;
	struct nvmm_mem mem;
	uint64_t v = acc, k;
	int64_t off = 0;

	if (sh != NULL && dh == NULL) {
		/* RAM to MMIO, the usual one: read, then the callback. */
		for (k = 0; k < n; k++, off += step) {
			x86_span_rw(c, sg + (uint64_t)off, sh + off, &v, size,
				    false);
			mem.mach = c->mach;
			mem.vcpu = c->vcpu;
			mem.gpa = dg + (uint64_t)off;
			mem.write = true;
			mem.size = size;
			mem.data = (uint8_t *)&v;
			cb(&mem);
		}
		return;
	}
	for (k = 0; k < n; k++, off += step) {
		if (src)
			x86_part_rw(c, sg + (uint64_t)off,
				    sh != NULL ? sh + off : NULL, &v, size,
				    false);
		x86_part_rw(c, dg + (uint64_t)off,
			    dh != NULL ? dh + off : NULL, &v, size, true);
	}
}

/* The same, made for each element size. */
static __attribute__((noinline)) void
assist_str_move(struct x86_ctx *c, const struct x86_strop *src,
		const struct x86_strop *dst, uint64_t n, uint64_t acc)
{
	switch (dst->size) {
	case 1:
		assist_str_move_n(c, src, dst, n, 1, acc);
		break;
	case 2:
		assist_str_move_n(c, src, dst, n, 2, acc);
		break;
	case 4:
		assist_str_move_n(c, src, dst, n, 4, acc);
		break;
	default:
		assist_str_move_n(c, src, dst, n, 8, acc);
		break;
	}
}

static __attribute__((noinline)) int assist_mem_string(struct x86_ctx *c,
						     const struct x86_insn *insn)
{
	const unsigned int size = insn->opsize, op = insn->op;
	const uint64_t admask = x86_size_mask(insn->adsize);
	const bool down = (c->gprs[NVMM_X64_GPR_RFLAGS] & X86_DF) != 0;
	const bool rep = insn->rep != X86_REP_NONE;
	const bool has_src = op == X86_OP_MOVS || op == X86_OP_LODS ||
			     op == X86_OP_CMPS;
	const bool has_dst = op != X86_OP_LODS;
	const bool cmp = op == X86_OP_CMPS || op == X86_OP_SCAS;
	uint64_t *fl = &c->gprs[NVMM_X64_GPR_RFLAGS];
	uint64_t cnt, n, k, si, di, las = 0, lad = 0, acc, delta;
	struct x86_strop src, dst;
	bool stop = false;

	cnt = rep ? (c->gprs[NVMM_X64_GPR_RCX] & admask) : 1;
	if (cnt == 0) {
		x86_advance_rip(c, insn->len);
		return 0;
	}
	si = c->gprs[NVMM_X64_GPR_RSI] & admask;
	di = c->gprs[NVMM_X64_GPR_RDI] & admask;
	n = cnt < X86_REP_MAX ? cnt : X86_REP_MAX;
	if (has_src) {
		las = x86_linear(c, insn->ea.seg, si, insn->adsize);
		n = x86_str_room(las, si, size, down, admask, n);
	}
	if (has_dst && n > 0) {
		lad = x86_linear(c, NVMM_X64_SEG_ES, di, insn->adsize);
		n = x86_str_room(lad, di, size, down, admask, n);
	} else if (has_dst) {
		lad = x86_linear(c, NVMM_X64_SEG_ES, di, insn->adsize);
	}

	/* Map both operands before the first access. */
	if (has_src && x86_strop_map(c, &src, las, size, down, n,
				     X86_MEM_R) == -1)
		return -1;
	if (has_dst && x86_strop_map(c, &dst, lad, size, down, n,
				     cmp ? X86_MEM_R : X86_MEM_W) == -1)
		return -1;
	if (n == 0)
		n = 1;

	acc = c->gprs[NVMM_X64_GPR_RAX] & x86_size_mask(size);
	k = 0;
	if ((op == X86_OP_MOVS && !src.single && !dst.single) ||
	    (op == X86_OP_STOS && !dst.single)) {
		/* The common ones: a loop of their own. */
		assist_str_move(c, op == X86_OP_MOVS ? &src : NULL, &dst, n,
				acc);
		k = n;
	}
	for (; k < n && !stop; k++) {
		uint64_t sv = 0, dv = 0;

		if (has_src)
			x86_strop_rw(c, &src, k, &sv, false);
		switch (op) {
		case X86_OP_MOVS:
			x86_strop_rw(c, &dst, k, &sv, true);
			break;
		case X86_OP_STOS:
			x86_strop_rw(c, &dst, k, &acc, true);
			break;
		case X86_OP_LODS:
			x86_gpr_set(c->gprs, NVMM_X64_GPR_RAX, size, sv);
			break;
		default:	/* CMPS: [rSI] - [rDI]; SCAS: acc - [rDI] */
			x86_strop_rw(c, &dst, k, &dv, false);
			x86_alu(X86_OP_CMP, op == X86_OP_CMPS ? sv : acc, dv,
				size, fl);
			if (rep && ((insn->rep == X86_REP_E) !=
				    ((*fl & X86_ZF) != 0)))
				stop = true;
			break;
		}
	}

	delta = k * size;
	if (down)
		delta = -delta;
	if (has_src)
		x86_gpr_set(c->gprs, NVMM_X64_GPR_RSI, insn->adsize,
			    si + delta);
	if (has_dst)
		x86_gpr_set(c->gprs, NVMM_X64_GPR_RDI, insn->adsize,
			    di + delta);
	if (rep) {
		cnt -= k;
		x86_gpr_set(c->gprs, NVMM_X64_GPR_RCX, insn->adsize, cnt);
		if (cnt != 0 && !stop)
			return 0;	/* not done: run it again */
	}
	x86_advance_rip(c, insn->len);
	return 0;
}

VMM_EXPORT int nvmm_assist_mem(struct nvmm_machine *mach,
			       struct nvmm_vcpu *vcpu)
{
	const struct nvmm_x86_exit_memory *em;
	struct x86_insn insn;
	struct x86_ctx c;
	int ret;

	if (x86_ctx_init(&c, mach, vcpu) == -1)
		return -1;
	if (vcpu->exit->reason != NVMM_VCPU_EXIT_MEMORY) {
		errno = EINVAL;
		return -1;
	}
	em = &vcpu->exit->u.mem;
	if (em->prot == NVMM_PROT_EXEC) {
		errno = EFAULT;	/* code in MMIO or unmapped: cannot be run */
		return -1;
	}
	/* The bytes the CPU gave, usually enough; else see x86_get_insn(). */
	if ((em->inst_len == 0 || em->inst_len > X86_MAX_INSN_LEN ||
	     x86_decode_cached_inline(em->inst_bytes, em->inst_len, c.mode,
				      &insn) !=
	     X86_DEC_OK) &&
	    x86_get_insn(&c, em->inst_bytes, em->inst_len, &insn) == -1)
		return -1;

	if (x86_op_is_string(insn.op)) {
		if (insn.op == X86_OP_INS || insn.op == X86_OP_OUTS) {
			errno = ENODEV;	/* I/O: nvmm_assist_io */
			return -1;
		}
		ret = assist_mem_string(&c, &insn);
	} else {
		if (!x86_insn_has_mem(&insn)) {
			errno = ENODEV;
			return -1;
		}
		ret = assist_mem_one(&c, &insn, em->gpa);
	}
	if (ret == -1)
		return -1;
	return x86_ctx_commit(&c);
}
