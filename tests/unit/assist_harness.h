/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small guest for the assists' host tests: a mock machine and VCPU (no
 * kernel), guest RAM, a read-only area (ROM), an MMIO window backed by a
 * buffer through the mem callback, an I/O port space through the io
 * callback, and helpers to put the VCPU in each CPU mode.
 *
 * Guest-physical layout:
 *   0x000000-0x3FFFFF  RAM (RWX)    page tables at 0x1000.., code at 0x8000
 *   0x400000-0x40FFFF  ROM (R-X)
 *   0xF0000000-...     MMIO (no area), 64 KiB window, mirrored
 */
#ifndef ASSIST_HARNESS_H
#define ASSIST_HARNESS_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nvmm.h>

#include "mock_device.h"

#define G_RAM_GPA	0x0ULL
#define G_RAM_SIZE	0x400000ULL
#define G_ROM_GPA	0x400000ULL
#define G_ROM_SIZE	0x10000ULL
#define G_MMIO_GPA	0xF0000000ULL
#define G_MMIO_SIZE	0x10000ULL
#define G_CODE		0x8000ULL

#define G_LOG_MAX	64

struct g_access {
	uint64_t gpa;		/* or port */
	unsigned int size;
	bool write;		/* or OUT */
	uint64_t val;
};

struct guest {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	struct nvmm_x64_state *st;
	struct nvmm_x86_exit *exit;
	uint8_t *ram;
	uint8_t *rom;
	uint8_t mmio[G_MMIO_SIZE];
	uint8_t ports[0x10000];
	unsigned int nmem, nio;	/* callbacks made */
	struct g_access mem_log[G_LOG_MAX];
	struct g_access io_log[G_LOG_MAX];
};

static struct guest *g_cur;

static void g_mem_cb(struct nvmm_mem *mem)
{
	struct guest *g = g_cur;
	uint64_t off = (mem->gpa - G_MMIO_GPA) % G_MMIO_SIZE;
	uint64_t v = 0;
	size_t i;

	if (mem->size != 1 && mem->size != 2 && mem->size != 4 &&
	    mem->size != 8)
		abort();
	for (i = 0; i < mem->size; i++) {
		uint8_t *p = &g->mmio[(off + i) % G_MMIO_SIZE];

		if (mem->gpa >= G_ROM_GPA &&
		    mem->gpa < G_ROM_GPA + G_ROM_SIZE) {
			/* The device model ignores writes to ROM. */
			if (!mem->write)
				mem->data[i] = g->rom[mem->gpa - G_ROM_GPA + i];
		} else if (mem->write) {
			*p = mem->data[i];
		} else {
			mem->data[i] = *p;
		}
		v |= (uint64_t)mem->data[i] << (8 * i);
	}
	if (g->nmem < G_LOG_MAX)
		g->mem_log[g->nmem] = (struct g_access){
			mem->gpa, (unsigned int)mem->size, mem->write, v };
	g->nmem++;
}

static void g_io_cb(struct nvmm_io *io)
{
	struct guest *g = g_cur;
	uint64_t v = 0;
	size_t i;

	if (io->size != 1 && io->size != 2 && io->size != 4)
		abort();
	for (i = 0; i < io->size; i++) {
		uint8_t *p = &g->ports[(uint16_t)(io->port + i)];

		if (io->in)
			io->data[i] = *p;
		else
			*p = io->data[i];
		v |= (uint64_t)io->data[i] << (8 * i);
	}
	if (g->nio < G_LOG_MAX)
		g->io_log[g->nio] = (struct g_access){
			io->port, (unsigned int)io->size, !io->in, v };
	g->nio++;
}

static inline void *g_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Flat segment: base 0, 4 GiB limit, present, data RW or code. */
static inline void g_seg(struct nvmm_x64_state_seg *s, unsigned int type,
			 uint64_t base, unsigned int def, unsigned int l)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = 0xFFFFFFFF;
	s->attrib.type = type & 0xF;
	s->attrib.s = 1;
	s->attrib.p = 1;
	s->attrib.def = def & 1;
	s->attrib.l = l & 1;
	s->attrib.g = 1;
}

enum g_mode { GM_REAL, GM_PROT16, GM_PROT32, GM_LONG64, GM_COMPAT32 };

/* Identity-mapped 4-level tables: 1 GiB pages covering 0-4 GiB. */
static inline void g_long_tables(struct guest *g)
{
	uint64_t pml4e = 0x2000 | 0x7, pdpte;
	int i;

	memset(g->ram + 0x1000, 0, 0x2000);
	memcpy(g->ram + 0x1000, &pml4e, 8);
	for (i = 0; i < 4; i++) {
		pdpte = ((uint64_t)i << 30) | 0x87;
		memcpy(g->ram + 0x2000 + 8 * i, &pdpte, 8);
	}
}

static inline void g_set_mode(struct guest *g, enum g_mode m)
{
	struct nvmm_x64_state *st = g->st;
	int i;

	for (i = 0; i < 6; i++)
		g_seg(&st->segs[i], i == NVMM_X64_SEG_CS ? 0xB : 0x3, 0,
		      m == GM_PROT32 || m == GM_COMPAT32, 0);
	st->crs[NVMM_X64_CR_CR0] = 0x10;	/* ET */
	st->crs[NVMM_X64_CR_CR4] = 0;
	st->crs[NVMM_X64_CR_CR3] = 0;
	st->msrs[NVMM_X64_MSR_EFER] = 0;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	if (m == GM_REAL) {
		for (i = 0; i < 6; i++)
			st->segs[i].limit = 0xFFFF;
		return;
	}
	st->crs[NVMM_X64_CR_CR0] |= 1;	/* PE */
	if (m == GM_LONG64 || m == GM_COMPAT32) {
		g_long_tables(g);
		st->crs[NVMM_X64_CR_CR0] |= 0x80010000;	/* PG WP */
		st->crs[NVMM_X64_CR_CR4] = 0x20;	/* PAE */
		st->crs[NVMM_X64_CR_CR3] = 0x1000;
		st->msrs[NVMM_X64_MSR_EFER] = 0xD00;	/* NXE LMA LME */
		st->segs[NVMM_X64_SEG_CS].attrib.l = (m == GM_LONG64);
		if (m == GM_LONG64)
			st->segs[NVMM_X64_SEG_CS].attrib.def = 0;
	}
}

static inline int g_init(struct guest *g)
{
	struct nvmm_assist_callbacks cbs = { .io = g_io_cb, .mem = g_mem_cb };

	memset(g, 0, sizeof(*g));
	g_cur = g;
	mock_reset();
	if (mock_machine(&g->mach) != 0 ||
	    mock_vcpu(&g->mach, 0, &g->vcpu) != 0)
		return -1;
	g->ram = g_alloc(G_RAM_SIZE);
	g->rom = g_alloc(G_ROM_SIZE);
	if (g->ram == NULL || g->rom == NULL)
		return -1;
	if (nvmm_gpa_map(&g->mach, (uintptr_t)g->ram, G_RAM_GPA, G_RAM_SIZE,
			 PROT_READ | PROT_WRITE | PROT_EXEC) != 0 ||
	    nvmm_gpa_map(&g->mach, (uintptr_t)g->rom, G_ROM_GPA, G_ROM_SIZE,
			 PROT_READ | PROT_EXEC) != 0)
		return -1;
	if (nvmm_vcpu_configure(&g->mach, &g->vcpu, NVMM_VCPU_CONF_CALLBACKS,
				&cbs) != 0)
		return -1;
	g->st = g->vcpu.state;
	g->exit = g->vcpu.exit;
	/* What the kernel does on a MEMORY or IO exit. */
	g->mach.pages[0]->state_cached = NVMM_X64_STATE_GPRS |
		NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS;
	g_set_mode(g, GM_LONG64);
	g->st->gprs[NVMM_X64_GPR_RIP] = G_CODE;
	return 0;
}

static inline void g_fini(struct guest *g)
{
	munmap(g->ram, G_RAM_SIZE);
	munmap(g->rom, G_ROM_SIZE);
	mock_machine_free(&g->mach);
}

/* A MEMORY exit at gpa; the instruction bytes given (n > 0) or in RAM. */
static inline void g_mem_exit(struct guest *g, int prot, uint64_t gpa,
			      const uint8_t *bytes, size_t n, bool give)
{
	memset(g->exit, 0, sizeof(*g->exit));
	g->exit->reason = NVMM_VCPU_EXIT_MEMORY;
	g->exit->u.mem.prot = prot;
	g->exit->u.mem.gpa = gpa;
	if (give) {
		g->exit->u.mem.inst_len = (uint8_t)n;
		memcpy(g->exit->u.mem.inst_bytes, bytes, n);
	}
	/* The bytes are in guest memory too, at CS.base + RIP, if RAM. */
	{
		uint64_t la = (g->st->segs[NVMM_X64_SEG_CS].base +
			       g->st->gprs[NVMM_X64_GPR_RIP]) & 0xFFFFFFFF;

		if (la + n <= G_RAM_SIZE)
			memcpy(g->ram + la, bytes, n);
	}
	g->nmem = 0;
	g->nio = 0;
}

static inline uint64_t g_mmio_get(struct guest *g, uint64_t gpa,
				  unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, &g->mmio[gpa - G_MMIO_GPA], size);
	return v;
}

static inline void g_mmio_set(struct guest *g, uint64_t gpa, uint64_t v,
			      unsigned int size)
{
	memcpy(&g->mmio[gpa - G_MMIO_GPA], &v, size);
}

/* A register of the test guest, by NVMM_X64_GPR_* index. */
#define GPR(g, r)	((g)->st->gprs[(r)])

#endif /* ASSIST_HARNESS_H */
