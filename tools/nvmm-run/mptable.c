/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The MultiProcessor Specification 1.4 tables: how a Linux guest without
 * ACPI finds its CPUs (local APIC IDs 0..n-1, CPU 0 the boot one), one
 * I/O APIC (ID n), the ISA bus and how the ISA interrupts reach the I/O APIC's
 * pins, as on a PC: IRQ 0 on pin 2, IRQ n on pin n, the 8259's ExtINT on
 * pin 0, and LINT0/LINT1 as ExtINT/NMI. A pure function of its buffer.
 */
#include <string.h>

#include "bytes.h"
#include "mptable.h"

#define MP_SPEC_REV		4	/* 1.4 */
#define MP_LAPIC_VERSION	0x14
#define MP_IOAPIC_VERSION	0x11
#define MP_CPU_EN		0x01
#define MP_CPU_BP		0x02
#define MP_CPU_SIGNATURE	0x600	/* family 6 */
#define MP_CPU_FEATURES		0x201	/* FPU, APIC */

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IOINTR, MP_LINTR };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define FPS_LEN			16
#define HDR_LEN			44
#define CPU_LEN			20
#define ENTRY_LEN		8	/* every other entry */
#define ISA_IRQS		16

size_t nr_mptable_size(unsigned int ncpus)
{
	/* Bus, I/O APIC, 16 ISA IRQs, ExtINT on pin 0, LINT0 and LINT1. */
	return FPS_LEN + HDR_LEN + (size_t)ncpus * CPU_LEN +
	       (2 + ISA_IRQS + 1 + 2) * ENTRY_LEN;
}

static uint8_t *io_intr(uint8_t *e, unsigned int type, unsigned int irq,
			unsigned int ioapic, unsigned int pin)
{
	e[0] = MP_IOINTR;
	e[1] = (uint8_t)type;
	put16(e + 2, 0);		/* polarity and trigger: the bus's */
	e[4] = NR_MP_ISA_BUS;
	e[5] = (uint8_t)irq;
	e[6] = (uint8_t)ioapic;
	e[7] = (uint8_t)pin;
	return e + ENTRY_LEN;
}

size_t nr_mptable(uint8_t *buf, size_t size, uint32_t gpa, unsigned int ncpus)
{
	uint8_t *fps = buf, *hdr = buf + FPS_LEN, *e = hdr + HDR_LEN;
	unsigned int i, entries = 0;
	size_t len = nr_mptable_size(ncpus);

	if (ncpus == 0 || ncpus > NR_MP_MAX_CPUS || size < len)
		return 0;
	memset(buf, 0, len);

	for (i = 0; i < ncpus; i++, entries++) {
		e[0] = MP_PROCESSOR;
		e[1] = (uint8_t)i;			/* local APIC ID */
		e[2] = MP_LAPIC_VERSION;
		e[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		put32(e + 4, MP_CPU_SIGNATURE);
		put32(e + 8, MP_CPU_FEATURES);
		e += CPU_LEN;
	}
	e[0] = MP_BUS;
	e[1] = NR_MP_ISA_BUS;
	memcpy(e + 2, "ISA   ", 6);
	e += ENTRY_LEN;
	e[0] = MP_IOAPIC;
	e[1] = (uint8_t)ncpus;			/* the ID after the CPUs' */
	e[2] = MP_IOAPIC_VERSION;
	e[3] = 1;					/* enabled */
	put32(e + 4, NR_MP_IOAPIC_ADDR);
	e += ENTRY_LEN;
	entries += 2;
	e = io_intr(e, MP_EXTINT, 0, ncpus, 0);
	for (i = 0; i < ISA_IRQS; i++)
		e = io_intr(e, MP_INT, i, ncpus, i == 0 ? 2 : i);
	entries += 1 + ISA_IRQS;
	for (i = 0; i < 2; i++) {
		e[0] = MP_LINTR;
		e[1] = i == 0 ? MP_EXTINT : MP_NMI;
		e[4] = NR_MP_ISA_BUS;
		e[6] = 0xFF;				/* every local APIC */
		e[7] = (uint8_t)i;			/* LINT0, LINT1 */
		e += ENTRY_LEN;
		entries++;
	}

	memcpy(hdr, "PCMP", 4);
	put16(hdr + 4, (uint16_t)(len - FPS_LEN));
	hdr[6] = MP_SPEC_REV;
	memcpy(hdr + 8, "NVMM    ", 8);			/* OEM */
	memcpy(hdr + 16, "nvmm-run    ", 12);		/* product */
	put16(hdr + 34, (uint16_t)entries);
	put32(hdr + 36, NR_MP_LAPIC_ADDR);
	hdr[7] = checksum(hdr, len - FPS_LEN);

	memcpy(fps, "_MP_", 4);
	put32(fps + 4, gpa + FPS_LEN);			/* the table */
	fps[8] = 1;					/* 16 bytes */
	fps[9] = MP_SPEC_REV;
	fps[10] = checksum(fps, FPS_LEN);
	return len;
}
