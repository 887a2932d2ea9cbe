/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * acpi.c: the smallest ACPI tables a Linux guest powers off and resets
 * with: RSDP, XSDT, a hardware-reduced FADT (sleep control register,
 * reset register), a DSDT holding \_S5, the serial port and virtio-mmio
 * devices, and a MADT
 * (local APICs, the I/O APIC, IRQ 0 on GSI 2).
 */
#ifndef NR_ACPI_H
#define NR_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define NR_ACPI_SLEEP_PORT	0x600	/* SLEEP_CONTROL_REG (and status) */
#define NR_ACPI_RESET_PORT	0xCF9	/* RESET_REG */
#define NR_ACPI_RESET_VALUE	0x06
#define NR_ACPI_S5		5	/* SLP_TYP of \_S5 */
#define NR_ACPI_MAX_CPUS	64
#define NR_ACPI_COM1_PORT	0x3F8	/* \_SB.COM1, a 16550 */
#define NR_ACPI_COM1_IRQ	4
#define NR_ACPI_MAX_MMIO	8

/* A virtio-mmio device for the DSDT: its register window and GSI. */
struct nr_acpi_mmio {
	uint32_t base, size;
	uint32_t gsi;
};

/* Bytes the tables take for ncpus CPUs and ndevs devices (0: too many). */
size_t nr_acpi_size(unsigned int ncpus, const struct nr_acpi_mmio *devs,
		    unsigned int ndevs);

/*
 * Write the tables into buf, which the guest sees at guest-physical gpa
 * (16-byte aligned, below 1 MiB for the RSDP search: 0xE0000-0xFFFFF).
 * The RSDP is first. Returns the bytes written, or 0 if ncpus is 0 or
 * above NR_ACPI_MAX_CPUS, ndevs above NR_ACPI_MAX_MMIO, gpa is not
 * 16-byte aligned, or buf is too small.
 */
size_t nr_acpi_tables(uint8_t *buf, size_t size, uint32_t gpa,
		      unsigned int ncpus, uint8_t ioapic_id,
		      const struct nr_acpi_mmio *devs, unsigned int ndevs);

#endif /* NR_ACPI_H */
