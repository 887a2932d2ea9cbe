/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_vm's code mode: random instruction bytes run at CPL 3 (and at CPL 0
 * on a real CPU), every MEMORY and I/O exit through libvmm's assists.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_vm.h"

/*
 * FUZZ_EFAULT=1: an assist refused with EFAULT, with its exit and the walk
 * of CS:RIP (this found QEMU's accessed bit in the PAE PDPTE: header).
 */
static void efault_show(struct guest *g, enum mode m)
{
	const struct nvmm_vcpu_exit *x = g->vcpu.exit;
	struct nvmm_x64_state *st = g->vcpu.state;

	nvmm_vcpu_getstate(&g->mach, &g->vcpu, NVMM_X64_STATE_ALL);
	printf("# EFAULT mode %d reason %#" PRIx64 " rip %#" PRIx64
	       " cs.base %#" PRIx64 " cr3 %#" PRIx64, (int)m, x->reason,
	       st->gprs[NVMM_X64_GPR_RIP], st->segs[NVMM_X64_SEG_CS].base,
	       st->crs[NVMM_X64_CR_CR3]);
	if (x->reason == NVMM_VCPU_EXIT_IO)
		printf(" io port %#x in %d str %d rep %d seg %d as %u os %u "
		       "rsi %#" PRIx64 " rdi %#" PRIx64 " rcx %#" PRIx64,
		       x->u.io.port, x->u.io.in, x->u.io.str, x->u.io.rep,
		       x->u.io.seg, x->u.io.address_size,
		       x->u.io.operand_size, st->gprs[NVMM_X64_GPR_RSI],
		       st->gprs[NVMM_X64_GPR_RDI], st->gprs[NVMM_X64_GPR_RCX]);
	else
		printf(" mem gpa %#" PRIx64 " prot %d len %u", x->u.mem.gpa,
		       x->u.mem.prot, x->u.mem.inst_len);
	{
		gpaddr_t gpa = 0;
		nvmm_prot_t prot = 0;
		uint64_t la = st->segs[NVMM_X64_SEG_CS].base +
			      st->gprs[NVMM_X64_GPR_RIP];
		int r = nvmm_gva_to_gpa(&g->mach, &g->vcpu, la, &gpa, &prot);

		printf(" | pdpte %#" PRIx64, *(uint64_t *)(g->ram + PAE_PDPT));
		printf(" | walk(%#" PRIx64 ") = %d gpa %#" PRIx64 " prot %#x "
		       "errno %d efer %#" PRIx64 " cr0 %#" PRIx64 " cr4 %#"
		       PRIx64, la, r, gpa, (unsigned int)prot, r ? errno : 0,
		       st->msrs[NVMM_X64_MSR_EFER], st->crs[NVMM_X64_CR_CR0],
		       st->crs[NVMM_X64_CR_CR4]);
	}
	printf("\n");
}

void fuzz_code(unsigned long n, struct counts *c)
{
	struct nvmm_x64_state *st;
	struct guest g;
	unsigned long i;
	char what[100];

	if (guest_create(&g) != 0) {
		unexpected(c, "guest_create: %s", errno);
		return;
	}
	st = g.vcpu.state;
	watch_vcpu = &g.vcpu;
	for (i = 0; more(i, n, c); i++) {
		unsigned int e, k;
		enum mode m;

		if (progress && i % progress == 0) {
			printf("# code: at %lu\n", i);
			fflush(stdout);
		}
		for (k = 0; k < 0x1000; k += 8) {
			uint64_t v = rnd();

			memcpy(g.ram + CODE + k, &v, 8);
		}
		/*
		 * In an emulated host, CPL 3 only (the header says why); on
		 * hardware, CPL 0 too.
		 */
		m = (enum mode)(lane_known ? U_PROT32 + rndn(3) : rndn(6));
		if (m == U_VM86 && lane_svm_bochs)
			m = U_LONG;	/* Bochs' VMRUN panics on it */
		if (m >= U_PROT32) {
			user_state(st, m, lane_svm_qemu ? 0x9 : 0xB);
		} else {
			base_state(st, m);
			st->gprs[NVMM_X64_GPR_RFLAGS] |= 0x200;	/* IF */
		}
		c->modes[m]++;
		for (k = 0; k < 16; k++)
			if (k != NVMM_X64_GPR_RSP)
				st->gprs[k] = rndn(2) ? rnd() :
					      DATA + rndn(0x10000);
		if (nvmm_vcpu_setstate(&g.mach, &g.vcpu,
				       NVMM_X64_STATE_ALL) != 0) {
			unexpected(c, "setstate: %s", errno);
			break;
		}
		if (trace && i >= trace_from) {
			trace_state(i, NVMM_X64_STATE_ALL, st);
			printf("#   code");
			for (k = 0; k < 64; k++)
				printf(" %02x", g.ram[CODE + k]);
			printf("\n");
		}
		for (e = 0; e < 32; e++) {
			uint64_t reason;

			atomic_fetch_add(&watch_gen, 1);
			c->runs++;
			if (nvmm_vcpu_run(&g.mach, &g.vcpu) != 0) {
				unexpected(c, "run: %s", errno);
				break;
			}
			reason = g.vcpu.exit->reason;
			c->exits[exit_slot(reason)]++;
			if (trace && i >= trace_from) {
				printf("#   exit %#" PRIx64 "\n", reason);
				fflush(stdout);
			}
			/* Sound tables at CPL 3: no triple fault, no refusal. */
			if (m >= U_PROT32 &&
			    (reason == NVMM_VCPU_EXIT_SHUTDOWN ||
			     reason == NVMM_VCPU_EXIT_INVALID)) {
				snprintf(what, sizeof(what), "iteration %lu, "
					 "CPL 3 mode %d: exit %#" PRIx64 "%%s",
					 i, (int)m, reason);
				unexpected(c, what, 0);
			}
			if (reason == NVMM_VCPU_EXIT_MEMORY ||
			    reason == NVMM_VCPU_EXIT_IO) {
				int r = reason == NVMM_VCPU_EXIT_IO ?
					nvmm_assist_io(&g.mach, &g.vcpu) :
					nvmm_assist_mem(&g.mach, &g.vcpu);

				if (r == 0) {
					c->assists_ok++;
				} else {
					c->assists_err++;
					c->einval += errno == EINVAL;
					c->enodev += errno == ENODEV;
					c->efault += errno == EFAULT;
					c->efault_mode[m] += errno == EFAULT;
					if (errno == EFAULT &&
					    getenv("FUZZ_EFAULT"))
						efault_show(&g, m);
				}
				if (r != 0)
					break;
				continue;
			}
			if (reason != NVMM_VCPU_EXIT_NONE)
				break;
		}
	}
	watch_vcpu = NULL;
	guest_destroy(&g);
}
