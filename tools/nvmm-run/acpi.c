/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ACPI tables for a Linux guest (ACPI 6.0 layouts), built in a buffer:
 *
 *   RSDP (revision 2) -> XSDT -> FADT (revision 6, HW_REDUCED_ACPI)
 *                             -> MADT
 *   FADT -> DSDT: Name (_S5, Package () { 5, 5, 0, 0 })
 *
 * A hardware-reduced platform has no PM1 blocks, SCI or GPEs: the guest
 * powers off by writing SLP_TYP and SLP_EN to SLEEP_CONTROL_REG, an I/O
 * port here, and resets through RESET_REG. A pure function of its buffer.
 */
#include <string.h>

#include "bytes.h"
#include "acpi.h"

#define HDR_LEN		36
#define RSDP_LEN	36
#define FADT_LEN	276
#define FADT_HW_REDUCED	(1U << 20)
#define FADT_RESET_SUP	(1U << 10)
#define GAS_IO		1

/* Name (_S5_, Package (0x04) { 0x05, 0x05, Zero, Zero }) */
static const uint8_t s5_aml[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
	0x0A, NR_ACPI_S5, 0x0A, NR_ACPI_S5, 0x00, 0x00,
};

static size_t madt_len(unsigned int ncpus)
{
	/* Header, APIC address and flags, CPUs, I/O APIC, override, NMI. */
	return HDR_LEN + 8 + 8 * (size_t)ncpus + 12 + 10 + 6;
}

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

size_t nr_acpi_size(unsigned int ncpus)
{
	return align16(RSDP_LEN) + align16(HDR_LEN + 2 * 8) +
	       align16(FADT_LEN) + align16(HDR_LEN + sizeof(s5_aml)) +
	       align16(madt_len(ncpus));
}

/* A table's header; its checksum is set when the table is whole. */
static void header(uint8_t *t, const char *sig, size_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, (uint32_t)len);
	t[8] = rev;
	memcpy(t + 10, "NVMM  ", 6);		/* OEM ID */
	memcpy(t + 16, "NVMM-RUN", 8);		/* OEM table ID */
	put32(t + 24, 1);			/* OEM revision */
	memcpy(t + 28, "NVMM", 4);		/* creator */
	put32(t + 32, 1);
}

static void seal(uint8_t *t)
{
	uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 |
		       (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = checksum(t, len);
}

/* A Generic Address Structure for a byte-wide I/O port. */
static void gas_io(uint8_t *g, uint16_t port)
{
	g[0] = GAS_IO;
	g[1] = 8;		/* bit width */
	g[2] = 0;		/* bit offset */
	g[3] = 1;		/* byte access */
	put64(g + 4, port);
}

size_t nr_acpi_tables(uint8_t *buf, size_t size, uint32_t gpa,
		      unsigned int ncpus, uint8_t ioapic_id)
{
	size_t len = nr_acpi_size(ncpus);
	size_t o_xsdt = align16(RSDP_LEN);
	size_t o_fadt = o_xsdt + align16(HDR_LEN + 2 * 8);
	size_t o_dsdt = o_fadt + align16(FADT_LEN);
	size_t o_madt = o_dsdt + align16(HDR_LEN + sizeof(s5_aml));
	uint8_t *t, *e;
	unsigned int i;

	if (ncpus == 0 || ncpus > NR_ACPI_MAX_CPUS || (gpa & 15) ||
	    size < len)
		return 0;
	memset(buf, 0, len);

	/* DSDT: only \_S5. */
	t = buf + o_dsdt;
	header(t, "DSDT", HDR_LEN + sizeof(s5_aml), 2);
	memcpy(t + HDR_LEN, s5_aml, sizeof(s5_aml));
	seal(t);

	/* FADT: hardware-reduced; sleep and reset registers. */
	t = buf + o_fadt;
	header(t, "FACP", FADT_LEN, 6);
	put32(t + 40, gpa + (uint32_t)o_dsdt);		/* DSDT */
	put32(t + 112, FADT_HW_REDUCED | FADT_RESET_SUP);
	gas_io(t + 116, NR_ACPI_RESET_PORT);		/* RESET_REG */
	t[128] = NR_ACPI_RESET_VALUE;
	t[131] = 0;					/* minor version */
	put64(t + 140, gpa + o_dsdt);			/* X_DSDT */
	gas_io(t + 244, NR_ACPI_SLEEP_PORT);		/* SLEEP_CONTROL */
	gas_io(t + 256, NR_ACPI_SLEEP_PORT);		/* SLEEP_STATUS */
	memcpy(t + 268, "NVMMNVMM", 8);			/* hypervisor */
	seal(t);

	/* MADT: the local APICs, the I/O APIC, IRQ 0 on GSI 2, LINT1 NMI. */
	t = buf + o_madt;
	header(t, "APIC", madt_len(ncpus), 4);
	put32(t + 36, 0xFEE00000);
	put32(t + 40, 0);		/* no 8259 pair */
	e = t + 44;
	for (i = 0; i < ncpus; i++, e += 8) {
		e[0] = 0;		/* processor local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;	/* ACPI processor UID */
		e[3] = (uint8_t)i;	/* APIC ID */
		put32(e + 4, 1);	/* enabled */
	}
	e[0] = 1;			/* I/O APIC */
	e[1] = 12;
	e[2] = ioapic_id;
	put32(e + 4, 0xFEC00000);
	put32(e + 8, 0);		/* GSI base */
	e += 12;
	e[0] = 2;			/* interrupt source override */
	e[1] = 10;
	e[2] = 0;			/* ISA */
	e[3] = 0;			/* IRQ 0 */
	put32(e + 4, 2);		/* GSI 2 */
	put16(e + 8, 0);		/* as the bus says */
	e += 10;
	e[0] = 4;			/* local APIC NMI */
	e[1] = 6;
	e[2] = 0xFF;			/* every processor */
	put16(e + 3, 0);
	e[5] = 1;			/* LINT1 */
	seal(t);

	/* XSDT: the FADT and the MADT. */
	t = buf + o_xsdt;
	header(t, "XSDT", HDR_LEN + 2 * 8, 1);
	put64(t + HDR_LEN, gpa + o_fadt);
	put64(t + HDR_LEN + 8, gpa + o_madt);
	seal(t);

	/* RSDP, ACPI 2.0: the XSDT; the first 20 bytes and all 36 sum to 0. */
	memcpy(buf, "RSD PTR ", 8);
	memcpy(buf + 9, "NVMM  ", 6);
	buf[15] = 2;
	put32(buf + 20, RSDP_LEN);
	put64(buf + 24, gpa + o_xsdt);
	buf[8] = checksum(buf, 20);
	buf[32] = checksum(buf, RSDP_LEN);
	return len;
}
