/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_vm's guest: 2 MiB of RAM at guest-physical 0, its tables (paging,
 * GDT, IDTs, IVT, TSSes), and the valid states each mode starts from.
 */
#include <string.h>
#include <sys/mman.h>

#include "fuzz_vm.h"

static void mem_cb(struct nvmm_mem *mem)
{
	if (!mem->write)
		memset(mem->data, 0xFF, mem->size);
}

static void io_cb(struct nvmm_io *io)
{
	if (io->in)
		memset(io->data, 0, io->size);
}

/* Tables every mode can use: paging (1 GiB identity), GDT, IDTs, IVT. */
void guest_tables(uint8_t *ram)
{
	uint64_t *pml4 = (uint64_t *)(ram + PT_BASE);
	uint64_t *pdpt = (uint64_t *)(ram + PT_BASE + 0x1000);
	uint64_t *pd = (uint64_t *)(ram + PT_BASE + 0x2000);
	uint64_t *pt = (uint64_t *)(ram + PT_BASE + 0x3000);
	uint64_t *pae = (uint64_t *)(ram + PAE_PDPT);
	uint64_t *gdt = (uint64_t *)(ram + GDT_BASE);
	uint32_t *ivt = (uint32_t *)ram;
	unsigned int i;

	pml4[0] = (PT_BASE + 0x1000) | 0x7;
	pdpt[0] = (PT_BASE + 0x2000) | 0x7;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x87;
	/*
	 * The first 2 MiB in 4 KiB pages: the system tables supervisor-only,
	 * so that code at CPL 3 cannot rewrite them, and a VGA-like window
	 * mapped past the end of RAM, which virtual-8086 code can reach.
	 */
	pd[0] = (PT_BASE + 0x3000) | 0x7;
	for (i = 0; i < 512; i++) {
		uint64_t a = (uint64_t)i << 12;

		pt[i] = (a >= PT_BASE && a < SYS_END) ? a | 0x3 :
			(a >= VGA && a < VGA + 0x20000) ? (a + RAM_SIZE) | 0x7 :
			a | 0x7;
	}
	pae[0] = (PT_BASE + 0x2000) | 0x1;	/* PAE: the first GiB */
	gdt[0] = 0;
	gdt[1] = 0x00CF9A000000FFFFULL;		/* 0x08 code32 */
	gdt[2] = 0x00CF92000000FFFFULL;		/* 0x10 data */
	gdt[3] = 0x00AF9A000000FFFFULL;		/* 0x18 code64 */
	gdt[4] = 0x00CFFA000000FFFFULL;		/* 0x20 user code32 */
	gdt[5] = 0x00CFF2000000FFFFULL;		/* 0x28 user data */
	gdt[6] = 0x00AFFA000000FFFFULL;		/* 0x30 user code64 */
	/*
	 * The TSSes: the handler's stack (SS0:ESP0, RSP0), and an I/O bitmap
	 * that lets CPL 3 reach every port, so that IN and OUT exit.
	 */
	*(uint32_t *)(ram + TSS32_BASE + 4) = HANDLER;
	*(uint16_t *)(ram + TSS32_BASE + 8) = 0x10;
	*(uint64_t *)(ram + TSS64_BASE + 4) = HANDLER;
	for (i = 0; i < 2; i++) {
		uint32_t tss = i ? TSS64_BASE : TSS32_BASE;

		*(uint16_t *)(ram + tss + 0x66) = 0x68;
		ram[tss + TSS_LIMIT] = 0xFF;
	}
	for (i = 0; i < 256; i++) {
		uint64_t *g64 = (uint64_t *)(ram + IDT64_BASE + 16 * i);
		uint64_t *g32 = (uint64_t *)(ram + IDT32_BASE + 8 * i);

		g64[0] = (HANDLER & 0xFFFF) | (0x18ULL << 16) |
			 (0x8E00ULL << 32) | ((uint64_t)(HANDLER >> 16) << 48);
		g64[1] = 0;
		g32[0] = (HANDLER & 0xFFFF) | (0x08ULL << 16) |
			 (0x8E00ULL << 32) | ((uint64_t)(HANDLER >> 16) << 48);
		ivt[i] = (HANDLER >> 4) << 16;		/* seg:0 */
	}
	ram[HANDLER] = 0xF4;				/* hlt */
	ram[HANDLER + 1] = 0xEB;			/* jmp hlt */
	ram[HANDLER + 2] = 0xFD;
}

static void seg(struct nvmm_x64_state_seg *s, uint16_t sel, uint64_t base,
		uint32_t limit, unsigned int type, int sbit, int l, int def,
		int g)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->attrib.type = type;
	s->attrib.s = sbit;
	s->attrib.p = 1;
	s->attrib.l = l;
	s->attrib.def = def;
	s->attrib.g = g;
}

/* A valid state of the mode, RIP at CODE, every exception to HANDLER. */
void base_state(struct nvmm_x64_state *st, enum mode m)
{
	static const int data[] = { NVMM_X64_SEG_ES, NVMM_X64_SEG_SS,
				    NVMM_X64_SEG_DS, NVMM_X64_SEG_FS,
				    NVMM_X64_SEG_GS };
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < 5; i++) {
		if (m == M_REAL)
			seg(&st->segs[data[i]], 0, 0, 0xFFFF, 3, 1, 0, 0, 0);
		else
			seg(&st->segs[data[i]], 0x10, 0, 0xFFFFFFFF, 3, 1, 0,
			    1, 1);
	}
	if (m == M_REAL)
		seg(&st->segs[NVMM_X64_SEG_CS], 0, 0, 0xFFFF, 0xB, 1, 0, 0, 0);
	else
		seg(&st->segs[NVMM_X64_SEG_CS], m == M_LONG ? 0x18 : 0x08, 0,
		    0xFFFFFFFF, 0xB, 1, m == M_LONG, m != M_LONG, 1);
	seg(&st->segs[NVMM_X64_SEG_TR], 0, 0, 0xFFFF, 0xB, 0, 0, 0, 0);
	seg(&st->segs[NVMM_X64_SEG_LDT], 0, 0, 0xFFFF, 2, 0, 0, 0, 0);
	st->segs[NVMM_X64_SEG_GDT].base = GDT_BASE;
	st->segs[NVMM_X64_SEG_GDT].limit = 4 * 8 - 1;
	if (m == M_REAL) {
		st->segs[NVMM_X64_SEG_IDT].limit = 0x3FF;
	} else {
		st->segs[NVMM_X64_SEG_IDT].base = m == M_LONG ? IDT64_BASE :
							       IDT32_BASE;
		st->segs[NVMM_X64_SEG_IDT].limit = m == M_LONG ? 4095 : 2047;
	}
	st->gprs[NVMM_X64_GPR_RIP] = CODE;
	st->gprs[NVMM_X64_GPR_RSP] = 0xF000;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->crs[NVMM_X64_CR_CR0] = 0x10 | (m != M_REAL ? 0x1 : 0) |
				   (m == M_LONG ? 0x80000000ULL : 0);
	st->crs[NVMM_X64_CR_CR3] = PT_BASE;
	st->crs[NVMM_X64_CR_CR4] = m == M_LONG ? 0x620 : 0x600;
	st->crs[NVMM_X64_CR_XCR0] = 1;
	st->msrs[NVMM_X64_MSR_EFER] = m == M_LONG ? 0xD00 : 0;
	st->msrs[NVMM_X64_MSR_PAT] = 0x0007040600070406ULL;
	st->fpu.fx_cw = 0x37F;
	st->fpu.fx_mxcsr = 0x1F80;
	st->fpu.fx_mxcsr_mask = 0xFFFF;
}

/*
 * A state at CPL 3 with IOPL 0, IF=1: the guest's CLI faults and its POPF
 * leaves IF alone, so IF stays 1 until an exception takes the guest to
 * HANDLER at CPL 0, whose HLT exits. No user page holds a system table.
 * For the emulators that stop a looping guest only with IF=1, or die on
 * a guest triple fault (none happens here: the tables are sound).
 * tr_type: 0xB (busy), or 0x9 where QEMU's TCG refuses a busy 32-bit TSS.
 */
void user_state(struct nvmm_x64_state *st, enum mode m,
		       unsigned int tr_type)
{
	static const int segs[] = { NVMM_X64_SEG_ES, NVMM_X64_SEG_CS,
				    NVMM_X64_SEG_SS, NVMM_X64_SEG_DS,
				    NVMM_X64_SEG_FS, NVMM_X64_SEG_GS };
	struct nvmm_x64_state_seg *s;
	unsigned int i;

	base_state(st, m == U_LONG ? M_LONG : M_PROT32);
	for (i = 0; i < 6; i++) {
		s = &st->segs[segs[i]];
		s->attrib.dpl = 3;
		if (m == U_VM86) {
			/* Real-mode addressing: base = selector * 16. */
			uint16_t sel = DATA >> 4;

			if (segs[i] == NVMM_X64_SEG_CS)
				sel = CODE >> 4;
			else if (segs[i] == NVMM_X64_SEG_SS)
				sel = 0;
			else if (segs[i] == NVMM_X64_SEG_ES && rndn(2))
				sel = VGA >> 4;
			seg(s, sel, (uint64_t)sel << 4, 0xFFFF, 3, 1, 0, 0, 0);
			s->attrib.dpl = 3;
		} else if (segs[i] == NVMM_X64_SEG_CS) {
			s->selector = m == U_LONG ? 0x33 : 0x23;
		} else {
			s->selector = 0x2B;
		}
	}
	s = &st->segs[NVMM_X64_SEG_TR];
	seg(s, 0, m == U_LONG ? TSS64_BASE : TSS32_BASE, TSS_LIMIT,
	    m == U_LONG ? 0xB : tr_type, 0, 0, 0, 0);
	st->segs[NVMM_X64_SEG_GDT].limit = 7 * 8 - 1;
	if (m != U_LONG) {
		/* PAE paging: the user/supervisor split of long mode. */
		st->crs[NVMM_X64_CR_CR0] |= 0x80000000ULL;
		st->crs[NVMM_X64_CR_CR3] = PAE_PDPT;
		st->crs[NVMM_X64_CR_CR4] |= 0x20;
	}
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x202 | (m == U_VM86 ? 0x20000 : 0);
	if (m == U_VM86)
		st->gprs[NVMM_X64_GPR_RIP] = 0;
}

int guest_create(struct guest *g)
{
	struct nvmm_assist_callbacks cbs = { .io = io_cb, .mem = mem_cb };

	g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->ram == MAP_FAILED)
		return -1;
	if (nvmm_machine_create(&g->mach) != 0)
		return -1;
	if (nvmm_vcpu_create(&g->mach, 0, &g->vcpu) != 0 ||
	    nvmm_hva_map(&g->mach, (uintptr_t)g->ram, RAM_SIZE) != 0 ||
	    nvmm_gpa_map(&g->mach, (uintptr_t)g->ram, 0, RAM_SIZE,
			 PROT_READ | PROT_WRITE | PROT_EXEC) != 0 ||
	    nvmm_vcpu_configure(&g->mach, &g->vcpu, NVMM_VCPU_CONF_CALLBACKS,
				&cbs) != 0)
		return -1;
	guest_tables(g->ram);
	return 0;
}

void guest_destroy(struct guest *g)
{
	nvmm_machine_destroy(&g->mach);
	munmap(g->ram, RAM_SIZE);
}
