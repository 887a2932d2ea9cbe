/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flat protected-mode and long-mode VCPU states that nvmm-run, vmbench
 * and the emulated-host tests start their guests in, set up one way.
 */
#ifndef NVMM_TOOLS_X64_FLAT_H
#define NVMM_TOOLS_X64_FLAT_H

#include <stdbool.h>
#include <stdint.h>

#include <nvmm.h>

/* GDT descriptors of the flat segments x64_flat_state() loads. */
#define X64_DESC_CODE32	0x00CF9A000000FFFFULL	/* 4 GiB, 32-bit code */
#define X64_DESC_CODE64	0x00AF9A000000FFFFULL	/* 64-bit code */
#define X64_DESC_DATA	0x00CF92000000FFFFULL	/* 4 GiB, read/write data */

struct x64_flat {
	uint16_t code_sel;	/* CS */
	uint16_t data_sel;	/* DS, ES, FS, GS, SS */
	bool code64;		/* CS.L (64-bit code), else CS.D (32-bit) */
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint64_t cr0, cr3, cr4, efer;
};

/* A code or data segment: base 0, limit 4 GiB, present, DPL 0. */
void x64_seg_flat(struct nvmm_x64_state_seg *s, uint16_t sel,
		  unsigned int type, bool code64);

/* A system segment (TSS, LDT) of type, selector 0, limit 0xFFFF. */
void x64_seg_system(struct nvmm_x64_state_seg *s, unsigned int type);

/*
 * The segments (a busy TSS and an LDT of selector 0, no IDT) and the
 * control registers of f; CR2 and CR8 0. GPRs, DRs, MSRs other than EFER
 * and the interrupt state are the caller's.
 */
void x64_flat_state(struct nvmm_x64_state *st, const struct x64_flat *f);

#endif
