/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal VMM for the emulated-host tests: one machine, guest RAM at
 * guest-physical 0, guest programs loaded from build/tests/guests/, and
 * the CPU put in real, 32-bit protected or 64-bit long mode.
 *
 * Guest programs talk to the test through I/O ports (see guests/guest.h):
 *   OUT to VM_PORT_REPORT   a 32-bit value the test checks, in order
 *   OUT to VM_PORT_CHAR     a character for the log
 *   HLT                     the end
 */
#ifndef VM_H
#define VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

#define VM_PORT_REPORT	0xF0
#define VM_PORT_CHAR	0xE9

/* Where vm_mode_long() builds its page tables, and what they map. */
#define VM_PT_BASE	0x70000ULL
#define VM_PT_MAPPED	(4ULL << 30)	/* identity, 2 MiB pages */

/* The GDT of the protected and long modes: 0x08 code32, 0x10 data,
 * 0x18 code64. */
#define VM_GDT_BASE	(VM_PT_BASE + 0x6000)
#define VM_SEL_CODE32	0x08
#define VM_SEL_DATA	0x10
#define VM_SEL_CODE64	0x18

/* Where guest programs are loaded and start. */
#define VM_CODE		0x1000ULL

#define VM_MAX_VCPUS	16
#define VM_MAX_REPORTS	4096

struct vm {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu[VM_MAX_VCPUS];
	bool has_vcpu[VM_MAX_VCPUS];
	uint8_t *ram;
	size_t ram_size;

	/* What the guest reported through VM_PORT_REPORT, per VCPU. */
	uint32_t reports[VM_MAX_VCPUS][VM_MAX_REPORTS];
	unsigned int nreports[VM_MAX_VCPUS];
	char log[4096];
	size_t loglen;
};

/* Machine, VCPU 0, ram_size bytes of RAM at GPA 0. Fails the test on error. */
void vm_create(struct vm *vm, size_t ram_size);
void vm_add_vcpu(struct vm *vm, unsigned int cpu);
void vm_destroy(struct vm *vm);

/* Copy a guest program (build/tests/guests/<name>.bin) to GPA VM_CODE. */
void vm_load(struct vm *vm, const char *name);
/* The bytes of a guest program, malloc()ed, and their number. */
void *vm_read_guest(const char *name, size_t *size);

/* The segments of real mode: 64 KiB at 0; GDT and IDT limits 0xFFFF. */
void vm_segs_real(struct nvmm_x64_state *st);

/* Put a VCPU in a mode, at rip, with a stack below VM_CODE. */
void vm_mode_real(struct vm *vm, unsigned int cpu, uint64_t rip);
void vm_mode_prot32(struct vm *vm, unsigned int cpu, uint64_t rip);
void vm_mode_long(struct vm *vm, unsigned int cpu, uint64_t rip);

/*
 * Run until an exit the VMM does not handle itself. I/O to the report and
 * char ports is handled (and RIP advanced); the reason of the exit that
 * stopped the loop is returned.
 */
uint64_t vm_run(struct vm *vm, unsigned int cpu);
/* Run once, handling nothing. */
uint64_t vm_run_once(struct vm *vm, unsigned int cpu);

/* Run to HLT and check the reports against expected[]. */
void vm_run_expect(struct vm *vm, unsigned int cpu, const uint32_t *expected,
		   unsigned int n);

static inline struct nvmm_x64_state *vm_state(struct vm *vm, unsigned int cpu)
{
	return vm->vcpu[cpu].state;
}

/* getstate/setstate, failing the test on error. */
void vm_get(struct vm *vm, unsigned int cpu, uint64_t flags);
void vm_set(struct vm *vm, unsigned int cpu, uint64_t flags);

/* Advance RIP to npc (after an I/O or MSR exit the test handled). */
void vm_skip(struct vm *vm, unsigned int cpu, uint64_t npc);

#endif /* VM_H */
