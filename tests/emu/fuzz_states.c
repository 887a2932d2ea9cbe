/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_vm's states mode: valid states with random fields changed, committed
 * in random groups, each followed by a run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_vm.h"

static void flip(void *p, size_t size)
{
	uint8_t *b = p;

	b[rndn((unsigned int)size)] ^= (uint8_t)(1u << rndn(8));
}

static void replace(void *p, size_t size)
{
	uint64_t v = rnd();

	/* Mostly small or sign-extended values: nearer the edges. */
	switch (rndn(4)) {
	case 0:
		v &= 0xFF;
		break;
	case 1:
		v = (uint64_t)(int64_t)(int32_t)v;
		break;
	default:
		break;
	}
	memcpy(p, &v, size < 8 ? size : 8);
}

static void mutate(struct nvmm_x64_state *st)
{
	unsigned int n = 1 + rndn(4), k;

	for (k = 0; k < n; k++) {
		unsigned int what = rndn(lane_svm_bochs ? 5 : 9);
		void *p;
		size_t size;

		/*
		 * Bochs 2.7's VMX died (SIGSEGV) on a real-mode state with
		 * a random segment register (seed 0x5eed, state 275):
		 * segments stay valid on the vmx lane.
		 */
		if (lane_vmx && what == 5)
			what = 6;

		switch (what) {
		case 0:
			/*
			 * On svm-bochs RIP stays on the HLTs and RSP in RAM:
			 * a loop there could not be stopped, and a fault
			 * with a bad stack ends in a triple fault.
			 */
			p = &st->gprs[lane_svm_bochs ?
				      (rndn(15) + 5) % 16 : rndn(NVMM_X64_NGPR)];
			size = 8;
			break;
		case 1:
			p = &st->drs[rndn(NVMM_X64_NDR)];
			size = 8;
			break;
		case 2:
			p = &st->intr;
			size = sizeof(st->intr);
			break;
		case 3:
			p = &st->fpu;
			size = sizeof(st->fpu);
			break;
		case 4:
			p = &st->crs[rndn(2) ? NVMM_X64_CR_XCR0 :
					       NVMM_X64_CR_CR8];
			size = 8;
			break;
		case 5:
			p = &st->segs[rndn(NVMM_X64_NSEG)];
			size = sizeof(st->segs[0]);
			break;
		case 6:
			p = &st->crs[rndn(NVMM_X64_NCR)];
			size = 8;
			break;
		default:
			p = &st->msrs[rndn(NVMM_X64_NMSR)];
			size = 8;
			break;
		}
		if (rndn(2))
			flip(p, size);
		else
			replace(p, size);
	}
	/*
	 * QEMU 7.2's TCG aborts the whole emulator ("invalid tss type") when a
	 * 32-bit guest at CPL > 0 takes an event through a busy 32-bit TSS,
	 * the TR type VM entry requires: on the svm lane CPL stays 0.
	 */
	if (lane_svm_qemu) {
		st->segs[NVMM_X64_SEG_SS].attrib.dpl = 0;
		st->segs[NVMM_X64_SEG_CS].attrib.dpl = 0;
	}
	/* Bochs' VMX stops a looping guest only with IF=1. */
	if (lane_vmx)
		st->gprs[NVMM_X64_GPR_RFLAGS] |= 0x200;
	if (lane_svm_qemu && (st->msrs[NVMM_X64_MSR_EFER] & 0x100) &&
	    !(st->crs[NVMM_X64_CR_CR4] & 0x20) &&
	    !(st->crs[NVMM_X64_CR_CR0] & 0x80000000ULL))
		st->msrs[NVMM_X64_MSR_EFER] &= ~0x100ULL;
}

void fuzz_states(unsigned long n, struct counts *c)
{
	static const uint64_t groups[] = {
		NVMM_X64_STATE_SEGS, NVMM_X64_STATE_GPRS, NVMM_X64_STATE_CRS,
		NVMM_X64_STATE_DRS, NVMM_X64_STATE_MSRS, NVMM_X64_STATE_INTR,
		NVMM_X64_STATE_FPU,
	};
	struct nvmm_x64_state *st;
	struct guest g;
	unsigned long i;

	if (guest_create(&g) != 0) {
		unexpected(c, "guest_create: %s", errno);
		return;
	}
	memset(g.ram + CODE, 0xF4, 0x1000);	/* hlt */
	st = g.vcpu.state;
	watch_vcpu = &g.vcpu;
	for (i = 0; more(i, n, c); i++) {
		uint64_t flags = 0;
		unsigned int k;

		base_state(st, (enum mode)(lane_svm_qemu ? 1 + rndn(2) :
							   rndn(3)));
		if (i >= run_from && nvmm_vcpu_setstate(&g.mach, &g.vcpu,
						NVMM_X64_STATE_ALL) != 0) {
			unexpected(c, "setstate: %s", errno);
			break;
		}
		mutate(st);
		for (k = 0; k < 7; k++)
			if (rndn(2))
				flags |= groups[k];
		if (!flags || rndn(4) == 0)
			flags = NVMM_X64_STATE_ALL;
		/* What mutate() checked is what is in effect (svm lane). */
		if (flags & (NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS))
			flags |= NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS;
		if (i < run_from)
			continue;
		if (lane_svm_qemu) {
			/* HLT everywhere but in the tables: see the header. */
			memset(g.ram, 0xF4, RAM_SIZE);
			memset(g.ram + PT_BASE, 0, SYS_END - PT_BASE);
			guest_tables(g.ram);
		}
		nvmm_vcpu_setstate(&g.mach, &g.vcpu, flags);
		if (trace && i >= trace_from)
			trace_state(i, flags, st);
		if (progress && i % progress == 0) {
			printf("# states: at %lu\n", i);
			fflush(stdout);
		}
		c->runs++;
		atomic_fetch_add(&watch_gen, 1);
		if (nvmm_vcpu_run(&g.mach, &g.vcpu) != 0) {
			if (errno == EINVAL)
				c->refused++;
			else
				unexpected(c, "run: %s", errno);
			continue;
		}
		c->exits[exit_slot(g.vcpu.exit->reason)]++;
		if (nvmm_vcpu_getstate(&g.mach, &g.vcpu,
				       NVMM_X64_STATE_ALL) != 0)
			unexpected(c, "getstate: %s", errno);
	}
	watch_vcpu = NULL;
	guest_destroy(&g);
}
