/* SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "x64_flat.h"

void x64_seg_flat(struct nvmm_x64_state_seg *s, uint16_t sel,
		  unsigned int type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->attrib.type = type & 0xF;
	s->attrib.s = 1;
	s->attrib.p = 1;
	s->attrib.l = code64;
	s->attrib.def = !code64;
	s->attrib.g = 1;
	s->limit = 0xFFFFFFFF;
}

void x64_seg_system(struct nvmm_x64_state_seg *s, unsigned int type)
{
	memset(s, 0, sizeof(*s));
	s->attrib.type = type & 0xF;
	s->attrib.p = 1;
	s->limit = 0xFFFF;
}

void x64_flat_state(struct nvmm_x64_state *st, const struct x64_flat *f)
{
	static const int data[] = {
		NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_DS,
		NVMM_X64_SEG_FS, NVMM_X64_SEG_GS,
	};
	unsigned int i;

	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		x64_seg_flat(&st->segs[data[i]], f->data_sel, 0x3, false);
	x64_seg_flat(&st->segs[NVMM_X64_SEG_CS], f->code_sel, 0xB, f->code64);
	x64_seg_system(&st->segs[NVMM_X64_SEG_TR], 0xB);
	x64_seg_system(&st->segs[NVMM_X64_SEG_LDT], 0x2);
	memset(&st->segs[NVMM_X64_SEG_GDT], 0, sizeof(st->segs[0]));
	st->segs[NVMM_X64_SEG_GDT].base = f->gdt_base;
	st->segs[NVMM_X64_SEG_GDT].limit = f->gdt_limit;
	memset(&st->segs[NVMM_X64_SEG_IDT], 0, sizeof(st->segs[0]));

	st->crs[NVMM_X64_CR_CR0] = f->cr0;
	st->crs[NVMM_X64_CR_CR2] = 0;
	st->crs[NVMM_X64_CR_CR3] = f->cr3;
	st->crs[NVMM_X64_CR_CR4] = f->cr4;
	st->crs[NVMM_X64_CR_CR8] = 0;
	st->msrs[NVMM_X64_MSR_EFER] = f->efer;
}
