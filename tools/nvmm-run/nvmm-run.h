/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run: a small VMM on libvmm. One machine, RAM at guest-physical 0,
 * a 16550 UART at 0x3F8 and a debug-exit port; either a 64-bit ELF guest
 * entered in long mode on every VCPU, or a Linux kernel (linux.c) with the
 * PC parts it needs: APICs and IPIs (intr.c, smp.c), ACPI, a CMOS clock,
 * the timer's channel 2, a virtio disk.
 */
#ifndef NVMM_RUN_H
#define NVMM_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

#define NR_MAX_VCPUS		64

#define NR_PORT_COM1		0x3F8	/* 8 registers */
#define NR_PORT_DEBUG_EXIT	0x501	/* a write ends the VMM with its value */

/* nvmm-run's own exit statuses (the guest's debug-exit value otherwise). */
#define NR_EXIT_ERROR		1	/* VMM error, unexpected exit, MMIO */
#define NR_EXIT_USAGE		2
#define NR_EXIT_SHUTDOWN	3	/* the guest shut down (triple fault) */
#define NR_EXIT_RESET		4	/* a Linux guest reset the machine */

struct nr_vm {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu[NR_MAX_VCPUS];
	unsigned int nvcpus;
	bool mach_created;
	uint8_t *ram;
	size_t ram_size;
	bool verbose;
	bool stats;		/* --stats: exits.c counts the exits */

	/* Filled by nr_elf_load() or nr_linux_load(). */
	uint64_t entry;
	uint64_t load_end;	/* ELF: first byte above every segment */
	bool linux_boot;	/* Linux: 64-bit boot protocol registers */
	bool pvh;		/* Linux: a vmlinux entered through PVH */
	uint64_t zero_page;	/* Linux: struct boot_params, or PVH's
				 * struct hvm_start_info */
	unsigned long tsc_khz;	/* Linux: the TSC's frequency */
	bool disk;		/* Linux: a virtio disk (virtio_blk.c) */

	/* Filled by nr_boot_setup(): the boot area at the top of RAM. */
	uint64_t boot_base;	/* page tables, GDT, command line */
	uint64_t pml4;
	uint64_t gdt;
	uint64_t cmdline;
};

/* elf_load.c: PT_LOAD segments of path at their p_paddr, below limit. */
int nr_elf_load(struct nr_vm *vm, const char *path, uint64_t limit);
/* The same for a Linux vmlinux; vm->entry is its PVH entry point. */
int nr_elf_load_pvh(struct nr_vm *vm, const char *path, uint64_t limit);

/* linux.c: a bzImage, an initramfs and a command line, to boot Linux. */
int nr_linux_load(struct nr_vm *vm, const char *kernel, const char *initrd,
		  const char *cmdline);

/* paging.c: the boot area (identity page tables, GDT, command line). */
uint64_t nr_boot_size(size_t ram_size);
int nr_boot_setup(struct nr_vm *vm, const char *cmdline);
/* A VCPU in long mode at the entry point, with the boot registers. */
int nr_vcpu_boot(struct nr_vm *vm, unsigned int cpu);

/* serial.c: the 16550 UART at NR_PORT_COM1. */
void nr_serial_init(void);
void nr_serial_io(uint16_t reg, bool in, uint8_t *data);
void nr_serial_flush(void);
/*
 * Linux guests: the UART's IRQ (4) goes to irq on each rising edge, and a
 * thread of its own raises it when stdin has a byte for the guest.
 */
int nr_serial_set_irq(void (*irq)(void));
/* Whether the UART may still interrupt (stdin open: input may come). */
bool nr_serial_may_interrupt(void);

/* run.c: the VCPU threads, their exits, the end of the machine. */
int nr_run(struct nr_vm *vm);
bool nr_vm_ending(void);
/* Make VCPU cpu look at its APIC: out of the guest, or out of its HLT. */
void nr_vcpu_kick(unsigned int cpu);

/* exits.c: the exits by kind, for --stats. */
void nr_exits_start(void);
void nr_exits_count(const struct nvmm_vcpu_exit *exit);
void nr_exits_report(void);

/* intr.c: Linux guests' local APICs, interrupt delivery and idle. */
int nr_intr_init(struct nr_vm *vm);
int nr_intr_tsc_deadline(struct nr_vm *vm, struct nvmm_vcpu *vcpu,
			 uint64_t deadline);
int nr_intr_vcpu_start(struct nr_vm *vm, struct nvmm_vcpu *vcpu, int sig);
void nr_intr_vcpu_end(struct nvmm_vcpu *vcpu);
bool nr_intr_mmio(struct nvmm_mem *mem);
int nr_intr_before_run(struct nr_vm *vm, struct nvmm_vcpu *vcpu);
bool nr_intr_halt(struct nr_vm *vm, struct nvmm_vcpu *vcpu);
uint64_t nr_intr_apic_base(unsigned int cpu);
/* An edge on I/O APIC input gsi, from any thread. */
void nr_intr_edge(unsigned int gsi);

/* virtio_blk.c: a virtio-mmio disk on a raw image, for Linux guests. */
#define NR_DISK_BASE		0xD0000000ULL	/* its register page */
#define NR_DISK_GSI		16
#define NR_LINUX_MAX_RAM_MIB	3072		/* RAM ends below it */
int nr_disk_open(struct nr_vm *vm, const char *path);
bool nr_disk_mmio(struct nvmm_mem *mem);
void nr_disk_close(void);

/*
 * smp.c: a Linux guest's other VCPUs, started by INIT and start-up IPIs.
 * VCPU 0 runs from the start, the others wait for their start-up IPI.
 */
void nr_smp_init(struct nr_vm *vm);
void nr_smp_send_init(unsigned int cpu);
void nr_smp_send_sipi(unsigned int cpu, uint8_t vector);
/* An NMI for cpu: it leaves a halt with interrupts off. */
void nr_smp_send_nmi(unsigned int cpu);
/* cpu halted with interrupts off; true if no VCPU runs any more. */
bool nr_smp_park(unsigned int cpu);
/*
 * Before each run: wait while cpu may not run; enter it at its start-up
 * vector if one came. 0 to run, 1 when no VCPU runs any more, -1 on error.
 */
int nr_smp_wait(struct nr_vm *vm, struct nvmm_vcpu *vcpu);
/* The machine ends: wake every waiting VCPU thread. */
void nr_smp_end(void);

/* main.c */
void nr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nr_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* NVMM_RUN_H */
