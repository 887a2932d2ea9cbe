/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Random hostile input for nvmm.ko and libvmm, run inside an emulated host:
 *
 *   states  valid states with random fields changed (bits flipped, values
 *           replaced), committed in random groups, each followed by a run;
 *   code    random instruction bytes run at CPL 3 in 32-bit (PAE),
 *           virtual-8086 and 64-bit mode, and on a real CPU also at CPL 0
 *           in real, 32-bit and 64-bit mode, every MEMORY and I/O exit
 *           through libvmm's assists;
 *   races   a VCPU thread running while the main thread unmaps and remaps
 *           guest RAM, takes its protection away, stops the VCPU, forks a
 *           child that tries the parent's machine, and finally destroys the
 *           machine under the running VCPU.
 *
 * usage: fuzz_vm [-s SEED] [-n STATES] [-c CODE] [-r RACES] [-t SECONDS]
 *
 * -t: a time limit, shared evenly by the modes with a count; a mode ends
 * at its count or its time, whichever comes first, and reports what ran.
 *
 * Prints TAP, one result per mode with its counts. A mode fails on what no
 * input may cause: a run or getstate failing with another errno than a
 * refusal (EINVAL for a refused state), a machine that cannot be destroyed,
 * a child that reaches the parent's machine. The emulated-host runner
 * fails the boot on any kernel oops, BUG or WARN, and libvmm crashing
 * kills this program (which the runner reports).
 *
 * Random code runs at CPL 3 with IOPL 0 in an emulated host (user_state():
 * PAE paging, virtual-8086 and long mode, the system tables on supervisor
 * pages, a TSS whose I/O bitmap lets every port exit): CLI faults and POPF
 * leaves IF alone, so an emulator that stops a looping guest only while
 * it has IF=1 (Bochs' VMX) can stop it, and every exception goes
 * through sound tables to a HLT at CPL 0, so no triple fault (Bochs' SVM
 * panics on one; it still did, twice in about 3,000 iterations, "3rd (14)
 * exception with no resolution", and the replayed iteration passed: make
 * check runs no code there). There a SHUTDOWN or INVALID exit fails the
 * mode. On a
 * real CPU (no NVMM_LANE) the code also runs at CPL 0 in real, protected
 * and long mode.
 *
 * Emulator limits (tools/emuhost/README.md): Bochs' SVM (svm-bochs) panics
 * on a guest triple fault, so there the states mode leaves segments,
 * descriptor tables and control registers alone; its VMRUN panics on a
 * virtual-8086 guest ("VM is set in long mode", the host's mode): no
 * virtual-8086 code there. QEMU 7.2's SVM freezes on EFER.LME=1 with
 * CR4.PAE=0 and CR0.PG=0: never committed; its TCG aborts on an event at
 * CPL > 0 through a busy 32-bit TSS (TR type 0xB), so the 32-bit user
 * modes there get TR type 0x9, which AMD's VMRUN does not check; states
 * keep CPL 0 on that lane and use the protected and long modes only (a
 * real-mode guest froze that emulated host at random). A long states run
 * there froze the emulated host when earlier states had made the guest's
 * low memory a loop that writes its own code page: the host's timer
 * interrupt stayed pending and deliverable in its local APIC, with INTR
 * intercepted, and QEMU never took the #VMEXIT (twice: a loop in the IVT
 * that wrote its own code page, and 16-bit code running through zeroed
 * RAM, wrapping IP). On that lane each state starts from fresh tables and
 * RAM filled with HLT, so stray code exits at once. QEMU 7.2's TCG also
 * sets the accessed bit (5) in legacy PAE PDPTEs, a bit the SDM reserves
 * there: once it has walked them, libvmm's walk finds a reserved bit, and
 * the assists of PAE and virtual-8086 code fail with EFAULT (counted by
 * mode in the report; FUZZ_EFAULT=1 shows each). Bochs 2.7's
 * VMX dies with SIGSEGV on random states, at random: make check does not
 * run the states mode on the vmx lane (run-suite).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvmm.h>
#include <nvmm/nvmm_dev.h>

#define RAM_SIZE	(2u << 20)
#define PT_BASE		0x70000u	/* PML4, PDPT, PD */
#define GDT_BASE	0x76000u
#define IDT64_BASE	0x77000u
#define IDT32_BASE	0x78000u
#define PAE_PDPT	(PT_BASE + 0x4000u)
#define TSS32_BASE	0x79000u	/* each TSS with an I/O bitmap */
#define TSS64_BASE	0x7C000u
#define TSS_LIMIT	0x2068u		/* 0x68 + 8 KiB of bitmap + 0xFF */
#define HANDLER		0x7F000u	/* every vector: HLT; stack below */
#define SYS_END		0x80000u	/* PT_BASE..SYS_END: supervisor-only */
#define VGA		0xA0000u	/* 128 KiB mapped past RAM (MMIO) */
#define CODE		0x1000u
#define DATA		0x20000u

/* CPL 0: real, protected, long. CPL 3, IOPL 0: PAE, virtual-8086, long. */
enum mode { M_REAL, M_PROT32, M_LONG, U_PROT32, U_VM86, U_LONG };

static uint64_t rng;
static bool lane_svm_bochs, lane_svm_qemu, lane_vmx, lane_known;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static unsigned int rndn(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

struct guest {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	uint8_t *ram;
};

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
static void guest_tables(uint8_t *ram)
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
static void base_state(struct nvmm_x64_state *st, enum mode m)
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
static void user_state(struct nvmm_x64_state *st, enum mode m,
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

static int guest_create(struct guest *g)
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

static void guest_destroy(struct guest *g)
{
	nvmm_machine_destroy(&g->mach);
	munmap(g->ram, RAM_SIZE);
}

/* The emulated host's CPU vendor and emulator, for their limits. */
static void lane_detect(void)
{
	const char *lane = getenv("NVMM_LANE");

	lane_svm_bochs = lane && strcmp(lane, "svm-bochs") == 0;
	lane_svm_qemu = lane && strcmp(lane, "svm") == 0;
	lane_vmx = lane && strcmp(lane, "vmx") == 0;
	lane_known = lane_svm_bochs || lane_svm_qemu || lane_vmx;
}

/* -------------------------------------------------------------------------- */
/* States. */

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

static struct nvmm_vcpu *watch_vcpu;
static atomic_ulong watch_gen;
static atomic_bool watch_quit;

/* Stops a run that takes more than 20 ms (a guest looping without exits). */
static void *watchdog(void *arg)
{
	unsigned long seen = 0;

	(void)arg;
	while (!atomic_load(&watch_quit)) {
		unsigned long gen = atomic_load(&watch_gen);

		usleep(20000);
		if (gen == seen && gen == atomic_load(&watch_gen) &&
		    watch_vcpu != NULL)
			nvmm_vcpu_stop(watch_vcpu);
		seen = gen;
	}
	return NULL;
}

struct counts {
	unsigned long runs, refused, exits[8], assists_ok, assists_err;
	unsigned long modes[6];		/* code: iterations per mode */
	unsigned long einval, enodev, efault;	/* the assists' refusals */
	unsigned long efault_mode[6];
	unsigned long done;			/* iterations run */
	unsigned long unexpected;
	char what[160];
};

static void unexpected(struct counts *c, const char *fmt, int err)
{
	if (!c->unexpected)
		snprintf(c->what, sizeof(c->what), fmt,
			 err ? strerror(err) : "");
	c->unexpected++;
}

static unsigned int exit_slot(uint64_t reason)
{
	switch (reason) {
	case NVMM_VCPU_EXIT_MEMORY: return 0;
	case NVMM_VCPU_EXIT_IO: return 1;
	case NVMM_VCPU_EXIT_HALTED: return 2;
	case NVMM_VCPU_EXIT_SHUTDOWN: return 3;
	case NVMM_VCPU_EXIT_INVALID: return 4;
	case NVMM_VCPU_EXIT_NONE: return 5;
	default: return 6;
	}
}

/* FUZZ_TRACE[=N]: print each state from iteration N (0) on. */
static bool trace;
static unsigned long trace_from;
/* FUZZ_FROM=N: draw the states before iteration N, but run none of them. */
static unsigned long run_from;
/* FUZZ_PROGRESS=K: a line every K iterations, to find where a host hangs. */
static unsigned long progress;

static void trace_state(unsigned long i, uint64_t flags,
			const struct nvmm_x64_state *st)
{
	uint64_t intr;
	unsigned int k;

	memcpy(&intr, &st->intr, sizeof(intr));
	printf("# %lu: flags %#" PRIx64 " rip %#" PRIx64 " rsp %#" PRIx64
	       " rfl %#" PRIx64 " cr0 %#" PRIx64 " cr3 %#" PRIx64 " cr4 %#"
	       PRIx64 " xcr0 %#" PRIx64 " efer %#" PRIx64 " pat %#" PRIx64
	       " intr %#" PRIx64 " dr7 %#" PRIx64 "\n", i, flags,
	       st->gprs[NVMM_X64_GPR_RIP], st->gprs[NVMM_X64_GPR_RSP],
	       st->gprs[NVMM_X64_GPR_RFLAGS], st->crs[NVMM_X64_CR_CR0],
	       st->crs[NVMM_X64_CR_CR3], st->crs[NVMM_X64_CR_CR4],
	       st->crs[NVMM_X64_CR_XCR0], st->msrs[NVMM_X64_MSR_EFER],
	       st->msrs[NVMM_X64_MSR_PAT], intr,
	       st->drs[NVMM_X64_DR_DR7]);
	printf("#   drs");
	for (k = 0; k < NVMM_X64_NDR; k++)
		printf(" %#" PRIx64, st->drs[k]);
	printf("\n#   msrs");
	for (k = 0; k < NVMM_X64_NMSR; k++)
		printf(" %#" PRIx64, st->msrs[k]);
	printf("\n#   gprs");
	for (k = 0; k < 16; k++)
		printf(" %#" PRIx64, st->gprs[k]);
	printf("\n");
	for (k = 0; k < NVMM_X64_NSEG; k++)
		printf("#   seg %u: sel %#x base %#" PRIx64 " limit %#x type %u "
		       "s %u dpl %u p %u avl %u l %u def %u g %u\n", k,
		       st->segs[k].selector, st->segs[k].base,
		       st->segs[k].limit, st->segs[k].attrib.type,
		       st->segs[k].attrib.s, st->segs[k].attrib.dpl,
		       st->segs[k].attrib.p, st->segs[k].attrib.avl,
		       st->segs[k].attrib.l, st->segs[k].attrib.def,
		       st->segs[k].attrib.g);
	fflush(stdout);
}

/* -t SECONDS: each mode also stops when its share of the time is over. */
static double mode_secs;
static struct timespec mode_start;

static void mode_begin(void)
{
	clock_gettime(CLOCK_MONOTONIC, &mode_start);
}

/* Whether iteration i may run; counts it in c->done if so. */
static bool more(unsigned long i, unsigned long n, struct counts *c)
{
	struct timespec now;

	if (i >= n)
		return false;
	if (mode_secs > 0 && i % 16 == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - mode_start.tv_sec) +
		    (double)(now.tv_nsec - mode_start.tv_nsec) / 1e9 >=
		    mode_secs)
			return false;
	}
	c->done = i + 1;
	return true;
}

static void fuzz_states(unsigned long n, struct counts *c)
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

/* -------------------------------------------------------------------------- */
/* Code. */

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

static void fuzz_code(unsigned long n, struct counts *c)
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

/* -------------------------------------------------------------------------- */
/* Races. */

struct racer {
	struct guest *g;
	atomic_bool quit;
	atomic_ulong runs;
	int err;			/* the errno that ended the runs */
};

static void *race_run(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->quit)) {
		if (nvmm_vcpu_run(&r->g->mach, &r->g->vcpu) != 0) {
			r->err = errno;
			if (errno != EINTR && errno != EAGAIN)
				break;
		}
		atomic_fetch_add(&r->runs, 1);
	}
	return NULL;
}

/* libvmm's descriptor of /dev/nvmm (the machine's owner). */
static int nvmm_fd(void)
{
	char path[300], target[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int fd = -1;
	ssize_t n;

	while (dir && (d = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, "/dev/nvmm") == 0)
				fd = atoi(d->d_name);
		}
	}
	if (dir)
		closedir(dir);
	return fd;
}

static void fuzz_races(unsigned long n, struct counts *c)
{
	/* inc qword [DATA]; out 0xE9, al; jmp back (exits now and then). */
	static const uint8_t spin[] = { 0x48, 0xFF, 0x04, 0x25, 0x00, 0x00,
					0x02, 0x00, 0xE6, 0xE9, 0xEB, 0xF4 };
	unsigned long i;

	for (i = 0; more(i, n, c); i++) {
		struct racer r = { 0 };
		struct guest g;
		pthread_t tid;
		unsigned int k;
		int pid, status;

		if (guest_create(&g) != 0) {
			unexpected(c, "guest_create: %s", errno);
			return;
		}
		memcpy(g.ram + CODE, spin, sizeof(spin));
		base_state(g.vcpu.state, M_LONG);
		g.vcpu.state->gprs[NVMM_X64_GPR_RFLAGS] |= 0x200;
		nvmm_vcpu_setstate(&g.mach, &g.vcpu, NVMM_X64_STATE_ALL);
		r.g = &g;
		pthread_create(&tid, NULL, race_run, &r);
		for (k = 0; k < 8; k++) {
			usleep(rndn(3000));
			switch (rndn(5)) {
			case 0:
				nvmm_gpa_unmap(&g.mach, (uintptr_t)g.ram, 0,
					       RAM_SIZE);
				usleep(rndn(2000));
				nvmm_gpa_map(&g.mach, (uintptr_t)g.ram, 0,
					     RAM_SIZE, PROT_READ | PROT_WRITE |
					     PROT_EXEC);
				break;
			case 1:
				mprotect(g.ram, RAM_SIZE, PROT_NONE);
				usleep(rndn(2000));
				mprotect(g.ram, RAM_SIZE,
					 PROT_READ | PROT_WRITE);
				break;
			case 2:
				nvmm_vcpu_stop(&g.vcpu);
				break;
			case 3:
				/* Zeroed RAM triple-faults: not on svm-bochs. */
				if (!lane_svm_bochs)
					madvise(g.ram, RAM_SIZE,
						MADV_DONTNEED);
				break;
			default:
				pid = fork();
				if (pid == 0) {
					struct nvmm_ioc_vcpu_run run = {
						.machid = g.mach.machid,
						.cpuid = 0,
					};
					int fd = nvmm_fd();

					/* The parent's machine: never ours. */
					_exit(ioctl(fd, NVMM_IOC_VCPU_RUN,
						    &run) == -1 &&
					      errno == EPERM ? 0 : 1);
				}
				waitpid(pid, &status, 0);
				if (!WIFEXITED(status) ||
				    WEXITSTATUS(status) != 0)
					unexpected(c, "a fork child reached "
						   "the parent's machine (%s)",
						   0);
				break;
			}
		}
		/* The machine goes under the running VCPU. */
		{
			struct nvmm_ioc_machine_destroy d = {
				.machid = g.mach.machid,
			};

			if (ioctl(nvmm_fd(), NVMM_IOC_MACHINE_DESTROY, &d) != 0)
				unexpected(c, "destroy under a run: %s", errno);
		}
		atomic_store(&r.quit, true);
		pthread_join(tid, NULL);
		c->runs += atomic_load(&r.runs);
		if (r.err != ENOENT && r.err != EPERM && r.err != 0)
			unexpected(c, "the run under destroy ended with %s",
				   r.err);
		/* libvmm's own destroy finds it gone. */
		nvmm_machine_destroy(&g.mach);
		munmap(g.ram, RAM_SIZE);
	}
}

/* -------------------------------------------------------------------------- */

static int report(unsigned int no, const char *name, const struct counts *c)
{
	printf("# %s: %lu iterations, %lu runs, %lu refused (EINVAL); exits "
	       "MEMORY %lu IO %lu HALTED %lu SHUTDOWN %lu INVALID %lu NONE "
	       "%lu other %lu; assists %lu ok, %lu errno\n", name, c->done,
	       c->runs,
	       c->refused, c->exits[0], c->exits[1], c->exits[2], c->exits[3],
	       c->exits[4], c->exits[5], c->exits[6], c->assists_ok,
	       c->assists_err);
	if (c->modes[0] + c->modes[1] + c->modes[2] + c->modes[3] +
	    c->modes[4] + c->modes[5])
		printf("# %s: CPL 0 real %lu, protected %lu, long %lu; CPL 3 "
		       "PAE %lu, virtual-8086 %lu, long %lu\n", name,
		       c->modes[0], c->modes[1], c->modes[2], c->modes[3],
		       c->modes[4], c->modes[5]);
	if (c->assists_err)
		printf("# %s: the assists refused with EINVAL %lu, ENODEV %lu, "
		       "EFAULT %lu, other %lu\n", name, c->einval, c->enodev,
		       c->efault, c->assists_err - c->einval - c->enodev -
		       c->efault);
	if (c->efault)
		printf("# %s: EFAULT by mode: %lu %lu %lu %lu %lu %lu\n", name,
		       c->efault_mode[0], c->efault_mode[1], c->efault_mode[2],
		       c->efault_mode[3], c->efault_mode[4], c->efault_mode[5]);
	if (c->unexpected) {
		printf("not ok %u %s\n# %lu unexpected, the first: %s\n", no,
		       name, c->unexpected, c->what);
		return 1;
	}
	printf("ok %u %s\n", no, name);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long nstates = 2000, ncode = 2000, nraces = 20;
	struct counts cs = { 0 }, cc = { 0 }, cr = { 0 };
	int opt, nmodes, fail = 0;
	pthread_t tid;

	rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL | 1;
	while ((opt = getopt(argc, argv, "s:n:c:r:t:")) != -1) {
		switch (opt) {
		case 's':
			rng = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'n':
			nstates = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			ncode = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			nraces = strtoul(optarg, NULL, 0);
			break;
		case 't':
			mode_secs = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: fuzz_vm [-s SEED] [-n STATES] "
				"[-c CODE] [-r RACES] [-t SECONDS]\n");
			return 2;
		}
	}
	/* The time, shared by the modes that run. */
	nmodes = (nstates > 0) + (ncode > 0) + (nraces > 0);
	if (nmodes)
		mode_secs /= nmodes;
	printf("TAP version 13\n");
	if (access("/dev/nvmm", F_OK) != 0 || nvmm_init() != 0) {
		printf("1..0 # SKIP /dev/nvmm is absent\n");
		return 4;
	}
	lane_detect();
	trace = getenv("FUZZ_TRACE") != NULL;
	if (trace)
		trace_from = strtoul(getenv("FUZZ_TRACE"), NULL, 0);
	if (getenv("FUZZ_FROM"))
		run_from = strtoul(getenv("FUZZ_FROM"), NULL, 0);
	if (getenv("FUZZ_PROGRESS"))
		progress = strtoul(getenv("FUZZ_PROGRESS"), NULL, 0);
	printf("1..3\n# seed %#" PRIx64 " (-s to replay)\n", rng);
	fflush(stdout);
	if (getenv("FUZZ_NO_WATCHDOG") == NULL)
		pthread_create(&tid, NULL, watchdog, NULL);
	else
		atomic_store(&watch_quit, true);
	mode_begin();
	fuzz_states(nstates, &cs);
	fail |= report(1, "states", &cs);
	fflush(stdout);
	{
		mode_begin();
		fuzz_code(ncode, &cc);
		fail |= report(2, "code", &cc);
	}
	fflush(stdout);
	mode_begin();
	fuzz_races(nraces, &cr);
	fail |= report(3, "races", &cr);
	if (!atomic_load(&watch_quit)) {
		atomic_store(&watch_quit, true);
		pthread_join(tid, NULL);
	}
	return fail;
}
