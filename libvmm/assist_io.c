/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libvmm: nvmm_assist_io(), the emulation of IN, OUT, INS and OUTS behind
 * an IO exit.
 *
 * The exit says what the instruction is (port, direction, sizes, REP,
 * string, the segment of OUTS's source); for INS and OUTS the instruction
 * is fetched and decoded when the kernel could not decode it (seg -1, no
 * decode assists): for OUTS's segment, and for the address size, which
 * not every CPU reports then (QEMU's SVM leaves it out).
 * REP INS/OUTS do a batch per call: as many elements as stay in the current
 * page of the memory operand, at most X86_REP_MAX (4096 elements, up to
 * 16 KiB), one io callback per element. RIP moves to npc once the count is
 * exhausted, and stays on the instruction otherwise.
 */
#include <errno.h>
#include <string.h>

#include "x86_emul.h"
#include "x86_ctx.h"

static int assist_io_string(struct x86_ctx *c,
			    const struct nvmm_x86_exit_io *io,
			    struct nvmm_io *req)
{
	const unsigned int size = (unsigned int)req->size;
	unsigned int adsize = io->address_size;
	uint64_t admask;
	const bool down = (c->gprs[NVMM_X64_GPR_RFLAGS] & X86_DF) != 0;
	const unsigned int reg = io->in ? NVMM_X64_GPR_RDI : NVMM_X64_GPR_RSI;
	unsigned int seg = NVMM_X64_SEG_ES;
	uint64_t cnt, n, k, off, la, delta, data;
	struct x86_strop mo;

	if (adsize != 2 && adsize != 4 && adsize != 8) {
		errno = EINVAL;
		return -1;
	}
	if (io->seg == -1) {
		struct x86_insn insn;

		/*
		 * No decode information in the exit: the segment of OUTS is
		 * in the instruction, and so is the address size (QEMU's SVM
		 * leaves EXITINFO1's address-size bits clear).
		 */
		if (x86_get_insn(c, NULL, 0, &insn) == -1)
			return -1;
		if (insn.op != (io->in ? X86_OP_INS : X86_OP_OUTS) ||
		    insn.opsize != size) {
			errno = ENODEV;
			return -1;
		}
		adsize = insn.adsize;
		if (!io->in)
			seg = insn.ea.seg;
	} else if (!io->in) {
		if (io->seg < NVMM_X64_SEG_ES || io->seg > NVMM_X64_SEG_GS) {
			errno = EINVAL;
			return -1;
		}
		seg = (unsigned int)io->seg;
	}
	admask = x86_size_mask(adsize);

	cnt = io->rep ? (c->gprs[NVMM_X64_GPR_RCX] & admask) : 1;
	if (cnt == 0) {
		x86_set_npc(c, io->npc);
		return 0;
	}
	off = c->gprs[reg] & admask;
	la = x86_linear(c, seg, off, adsize);
	n = x86_str_room(la, off, size, down, admask,
			 cnt < X86_REP_MAX ? cnt : X86_REP_MAX);
	if (x86_strop_map(c, &mo, la, size, down, n,
			  io->in ? X86_MEM_W : X86_MEM_R) == -1)
		return -1;
	if (n == 0)
		n = 1;

	for (k = 0; k < n; k++) {
		data = 0;
		req->data = (uint8_t *)&data;
		if (io->in) {
			c->vcpu->cbs.io(req);
			x86_strop_rw(c, &mo, k, &data, true);
		} else {
			x86_strop_rw(c, &mo, k, &data, false);
			c->vcpu->cbs.io(req);
		}
	}

	delta = n * size;
	if (down)
		delta = -delta;
	x86_gpr_set(c->gprs, reg, adsize, off + delta);
	if (io->rep) {
		cnt -= n;
		x86_gpr_set(c->gprs, NVMM_X64_GPR_RCX, adsize, cnt);
		if (cnt != 0)
			return 0;	/* not done: run it again */
	}
	x86_set_npc(c, io->npc);
	return 0;
}

VMM_EXPORT int nvmm_assist_io(struct nvmm_machine *mach,
			      struct nvmm_vcpu *vcpu)
{
	const struct nvmm_x86_exit_io *io;
	struct nvmm_io req;
	struct x86_ctx c;
	uint64_t data = 0;

	if (x86_ctx_init(&c, mach, vcpu) == -1)
		return -1;
	io = &vcpu->exit->u.io;
	if (vcpu->exit->reason != NVMM_VCPU_EXIT_IO ||
	    vcpu->cbs.io == NULL || (io->operand_size != 1 &&
	    io->operand_size != 2 && io->operand_size != 4)) {
		errno = EINVAL;
		return -1;
	}
	req.mach = mach;
	req.vcpu = vcpu;
	req.port = io->port;
	req.in = io->in;
	req.size = io->operand_size;
	req.data = (uint8_t *)&data;

	if (io->str) {
		if (assist_io_string(&c, io, &req) == -1)
			return -1;
	} else {
		if (!io->in)
			data = c.gprs[NVMM_X64_GPR_RAX] &
			       x86_size_mask(io->operand_size);
		vcpu->cbs.io(&req);
		if (io->in)
			x86_gpr_set(c.gprs, NVMM_X64_GPR_RAX,
				    io->operand_size, data);
		x86_set_npc(&c, io->npc);
	}
	return x86_ctx_commit(&c);
}
