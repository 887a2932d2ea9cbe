/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: nvmm_assist_mem() and nvmm_assist_io() on a mock VCPU
 * whose CPU mode, registers, exit, instruction bytes and guest RAM (page
 * tables included) come from the input.
 *
 * Input layout (missing bytes are zero):
 *   [0]      mode: bits 0-2 CPU mode / paging, bit 3 LA57, bit 4 NXE,
 *            bit 5 WP, bit 6 SMEP+SMAP, bit 7 RFLAGS.AC
 *   [1]      exit: bit 0 IO (else MEMORY), bit 1 bytes in the exit,
 *            bit 2 DF, bit 3 in, bit 4 rep, bit 5 str, bits 6-7 op size
 *   [2]      bits 0-1 address size, bits 2-4 segment (7: -1), bits 5-6
 *            CPL, bit 7 exit prot EXEC
 *   [3]      inst_len (mod 16)
 *   [4..19)  instruction bytes (also written at CS:RIP)
 *   [19..83) RAX RCX RDX RBX RSI RDI RBP R8 (R8 is also the exit's GPA)
 *   [83..)   XORed into guest RAM from address 0 (page tables first)
 *
 * Invariants checked (abort on violation): callbacks get 1/2/4/8 bytes
 * (io: 1/2/4); a failed assist leaves the state and the commit bits as
 * they were; a successful one commits GPRS; REP batches are bounded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nvmm.h>

#include "../unit/mock_device.h"

#define RAM_SIZE	0x10000ULL
#define ROM_GPA		0x10000ULL
#define ROM_SIZE	0x4000ULL
#define CODE		0xB000ULL

static struct nvmm_machine mach;
static struct nvmm_vcpu vcpu;
static uint8_t *ram, *rom, *ram_template;
static unsigned long ncb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mem_cb(struct nvmm_mem *mem)
{
	size_t i;

	if (mem->size != 1 && mem->size != 2 && mem->size != 4 &&
	    mem->size != 8)
		abort();
	if (!mem->write)
		for (i = 0; i < mem->size; i++)
			mem->data[i] = (uint8_t)(mem->gpa + i * 0x35);
	if (++ncb > 2 * 4096 + 16)
		abort();
}

static void io_cb(struct nvmm_io *io)
{
	size_t i;

	if (io->size != 1 && io->size != 2 && io->size != 4)
		abort();
	if (io->in)
		for (i = 0; i < io->size; i++)
			io->data[i] = (uint8_t)(io->port + i);
	if (++ncb > 2 * 4096 + 16)
		abort();
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram_template + gpa, &v, 8);
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(ram_template + gpa, &v, 4);
}

/* Identity page tables for each paging mode. */
static void build_template(void)
{
	int i;

	put64(0x1000, 0x2000 | 7);			/* 4-level: CR3 0x1000 */
	for (i = 0; i < 4; i++)
		put64(0x2000 + 8 * i, ((uint64_t)i << 30) | 0x87);
	for (i = 0; i < 1024; i++)			/* 32-bit: CR3 0x3000 */
		put32(0x3000 + 4 * i, ((uint32_t)i << 22) | 0x87);
	for (i = 0; i < 4; i++)				/* PAE: CR3 0x4000 */
		put64(0x4000 + 8 * i, (0x6000 + 0x1000 * (uint64_t)i) | 1);
	for (i = 0; i < 2048; i++)
		put64(0x6000 + 8 * i, ((uint64_t)i << 21) | 0x87);
	put64(0x5000, 0x1000 | 7);			/* 5-level: CR3 0x5000 */
}

static int init(void)
{
	struct nvmm_assist_callbacks cbs = { .io = io_cb, .mem = mem_cb };

	if (mock_machine(&mach) != 0 || mock_vcpu(&mach, 0, &vcpu) != 0)
		return -1;
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rom = mmap(NULL, ROM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ram_template = calloc(1, RAM_SIZE);
	if (ram == MAP_FAILED || rom == MAP_FAILED || ram_template == NULL)
		return -1;
	if (nvmm_gpa_map(&mach, (uintptr_t)ram, 0, RAM_SIZE,
			 PROT_READ | PROT_WRITE | PROT_EXEC) != 0 ||
	    nvmm_gpa_map(&mach, (uintptr_t)rom, ROM_GPA, ROM_SIZE,
			 PROT_READ) != 0 ||
	    nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_CALLBACKS,
				&cbs) != 0)
		return -1;
	build_template();
	return 0;
}

static void set_seg(struct nvmm_x64_state_seg *s, uint64_t base,
		    unsigned int def, unsigned int l, unsigned int dpl)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = 0xFFFFFFFF;
	s->attrib.p = 1;
	s->attrib.s = 1;
	s->attrib.type = 3;
	s->attrib.def = def & 1;
	s->attrib.l = l & 1;
	s->attrib.dpl = dpl & 3;
}

static void set_state(struct nvmm_x64_state *st, const uint8_t *in)
{
	unsigned int m = in[0] & 7, i, cpl = (in[2] >> 5) & 3;
	bool def32 = (m == 2 || m >= 4), lng = (m == 3 || m == 4);
	uint64_t cr0 = 0x10, cr4 = 0, efer = 0, cr3 = 0;

	if (m >= 1)
		cr0 |= 1;				/* PE */
	if (m == 6) {					/* 32-bit paging */
		cr0 |= 0x80000000;
		cr4 |= 0x10;				/* PSE */
		cr3 = 0x3000;
	} else if (m == 7) {				/* PAE */
		cr0 |= 0x80000000;
		cr4 |= 0x20;
		cr3 = 0x4000;
	} else if (lng) {
		cr0 |= 0x80000000;
		cr4 |= 0x20;
		efer |= 0x500;				/* LME LMA */
		cr3 = 0x1000;
		if (in[0] & 8) {
			cr4 |= 1ULL << 12;		/* LA57 */
			cr3 = 0x5000;
		}
	}
	if (in[0] & 0x10)
		efer |= 0x800;
	if (in[0] & 0x20)
		cr0 |= 1ULL << 16;
	if (in[0] & 0x40)
		cr4 |= (1ULL << 20) | (1ULL << 21);
	st->crs[NVMM_X64_CR_CR0] = cr0;
	st->crs[NVMM_X64_CR_CR3] = cr3;
	st->crs[NVMM_X64_CR_CR4] = cr4;
	st->msrs[NVMM_X64_MSR_EFER] = efer;
	for (i = 0; i < 6; i++)
		set_seg(&st->segs[i], (m == 3) ? 0 : (uint64_t)in[4 + i] << 4,
			def32 && !(m == 3), 0, cpl);
	st->segs[NVMM_X64_SEG_CS].attrib.l = (m == 3);
	st->segs[NVMM_X64_SEG_CS].base = 0;
	st->segs[NVMM_X64_SEG_FS].base = (uint64_t)in[10] << 12;
	memset(st->gprs, 0, sizeof(st->gprs));
	for (i = 0; i < 8; i++) {
		static const int map[8] = { 0, 1, 2, 3, 6, 7, 5, 8 };

		memcpy(&st->gprs[map[i]], in + 19 + 8 * i, 8);
	}
	st->gprs[NVMM_X64_GPR_RIP] = CODE;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2 | (st->gprs[NVMM_X64_GPR_RBP] &
					       0x8D5) |
		((in[1] & 4) ? 0x400 : 0) | ((in[0] & 0x80) ? 0x40000 : 0) |
		(m == 5 ? 0x20000 : 0);			/* VM86 */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const uint8_t sizes[4] = { 1, 2, 4, 1 };
	uint8_t in[83] = { 0 };
	struct nvmm_x64_state *st, before;
	struct nvmm_x86_exit *ex;
	uint64_t commit;
	size_t i;
	int r;

	if (!ready) {
		if (init() != 0)
			abort();
		ready = true;
	}
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	memcpy(ram, ram_template, RAM_SIZE);
	for (i = sizeof(in); i < size && i - sizeof(in) < RAM_SIZE; i++)
		ram[i - sizeof(in)] ^= data[i];
	memcpy(ram + CODE, in + 4, 15);

	st = vcpu.state;
	ex = vcpu.exit;
	set_state(st, in);
	memset(ex, 0, sizeof(*ex));
	if (in[1] & 1) {
		ex->reason = NVMM_VCPU_EXIT_IO;
		ex->u.io.in = (in[1] >> 3) & 1;
		ex->u.io.rep = (in[1] >> 4) & 1;
		ex->u.io.str = (in[1] >> 5) & 1;
		ex->u.io.operand_size = sizes[in[1] >> 6];
		ex->u.io.address_size = (uint8_t)(2u << (in[2] & 3));
		ex->u.io.seg = (int8_t)(((in[2] >> 2) & 7) == 7 ? -1 :
					((in[2] >> 2) & 7));
		ex->u.io.port = (uint16_t)st->gprs[NVMM_X64_GPR_RDX];
		ex->u.io.npc = CODE + (in[3] & 15);
	} else {
		ex->reason = NVMM_VCPU_EXIT_MEMORY;
		ex->u.mem.prot = (in[2] & 0x80) ? NVMM_PROT_EXEC :
			((in[1] & 8) ? NVMM_PROT_WRITE : NVMM_PROT_READ);
		ex->u.mem.gpa = st->gprs[NVMM_X64_GPR_R8];
		if (in[1] & 2) {
			ex->u.mem.inst_len = in[3] & 15;
			memcpy(ex->u.mem.inst_bytes, in + 4, 15);
		}
	}
	mach.pages[0]->state_cached = NVMM_X64_STATE_GPRS |
		NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS;
	mach.pages[0]->state_commit = 0;
	memcpy(&before, st, sizeof(before));
	commit = mach.pages[0]->state_commit;
	ncb = 0;

	if (in[1] & 1)
		r = nvmm_assist_io(&mach, &vcpu);
	else
		r = nvmm_assist_mem(&mach, &vcpu);

	if (r == -1) {
		if (errno != EINVAL && errno != EFAULT && errno != ENODEV)
			abort();
		if (memcmp(&before, st, sizeof(before)) != 0 ||
		    mach.pages[0]->state_commit != commit)
			abort();
	} else if (r != 0 || mach.pages[0]->state_commit !=
		   NVMM_X64_STATE_GPRS) {
		abort();
	}
	return 0;
}
