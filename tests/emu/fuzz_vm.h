/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_vm's parts (fuzz_vm.c tells what it does and why): the guest they
 * share (fuzz_guest.c), the three modes (fuzz_states.c, fuzz_code.c,
 * fuzz_races.c) and what main() gives them (fuzz_vm.c).
 */
#ifndef FUZZ_VM_H
#define FUZZ_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

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

struct guest {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	uint8_t *ram;
};

struct counts {
	unsigned long runs, refused, exits[8], assists_ok, assists_err;
	unsigned long modes[6];		/* code: iterations per mode */
	unsigned long einval, enodev, efault;	/* the assists' refusals */
	unsigned long efault_mode[6];
	unsigned long done;			/* iterations run */
	unsigned long unexpected;
	char what[160];
};

/* fuzz_vm.c: the seeded generator, the lane, counting, tracing. */
extern uint64_t rng;
extern bool lane_svm_bochs, lane_svm_qemu, lane_vmx, lane_known;
uint64_t rnd(void);
unsigned int rndn(unsigned int n);
/* The VCPU the watchdog stops when watch_gen stays still for 20 ms. */
extern struct nvmm_vcpu *watch_vcpu;
extern atomic_ulong watch_gen;
void unexpected(struct counts *c, const char *fmt, int err);
unsigned int exit_slot(uint64_t reason);
extern bool trace;
extern unsigned long trace_from, run_from, progress;
void trace_state(unsigned long i, uint64_t flags,
		 const struct nvmm_x64_state *st);
bool more(unsigned long i, unsigned long n, struct counts *c);

/* fuzz_guest.c */
void guest_tables(uint8_t *ram);
void base_state(struct nvmm_x64_state *st, enum mode m);
void user_state(struct nvmm_x64_state *st, enum mode m, unsigned int tr_type);
int guest_create(struct guest *g);
void guest_destroy(struct guest *g);

/* The modes. */
void fuzz_states(unsigned long n, struct counts *c);
void fuzz_code(unsigned long n, struct counts *c);
void fuzz_races(unsigned long n, struct counts *c);

#endif /* FUZZ_VM_H */
