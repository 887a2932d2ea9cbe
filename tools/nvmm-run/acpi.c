/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ACPI tables for a Linux guest (ACPI 6.0 layouts), built in a buffer:
 *
 *   RSDP (revision 2) -> XSDT -> FADT (revision 6, HW_REDUCED_ACPI)
 *                             -> MADT
 *   FADT -> DSDT: Name (_S5, Package () { 5, 5, 0, 0 })
 *                 Scope (\_SB) { Device (COM1) { PNP0501: I/O, IRQ 4 }
 *                                Device (VRnn) { LNRO0005: MMIO, GSI } }
 *
 * A hardware-reduced platform has no PM1 blocks, SCI or GPEs: the guest
 * powers off by writing SLP_TYP and SLP_EN to SLEEP_CONTROL_REG, an I/O
 * port here, and resets through RESET_REG. It has no 8259 either, so
 * Linux maps no ISA IRQ to a GSI by itself: a legacy device's interrupt
 * reaches a driver only if the DSDT describes the device (COM1 here, found
 * by 8250_pnp). A pure function of its buffer.
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

#define DSDT_MAX	1024	/* AML bytes; dsdt_aml() stays below */

/* AML opcodes and the resource descriptors _CRS holds (ACPI 6.0 19, 6.4). */
#define AML_ZERO	0x00
#define AML_NAME	0x08
#define AML_BYTE	0x0A
#define AML_DWORD	0x0C
#define AML_STRING	0x0D
#define AML_SCOPE	0x10
#define AML_BUFFER	0x11
#define AML_PACKAGE	0x12
#define AML_EXT		0x5B
#define AML_DEVICE	0x82	/* after AML_EXT */
#define AML_ROOT	0x5C	/* a backslash: the root */
#define RES_IRQ		0x22	/* small IRQ, 2 bytes: no flags, edge high */
#define RES_IO		0x47	/* small I/O port, 7 bytes */
#define RES_END		0x79	/* end tag, 1 byte: checksum 0 (none) */
#define RES_MEM32_FIXED	0x86	/* large, 9 bytes: RW, base, length */
#define RES_INTERRUPT	0x89	/* large extended interrupt: 6 bytes */
#define RES_INT_FLAGS	0x03	/* consumer, edge, active high, exclusive */
#define EISA_PNP0501	0x0105D041U	/* EisaId ("PNP0501"): 16550 */

/* An AML byte stream under construction (DSDT_MAX bytes at most). */
struct aml {
	uint8_t b[DSDT_MAX];
	size_t n;
};

static void emit(struct aml *a, const void *p, size_t len)
{
	memcpy(a->b + a->n, p, len);
	a->n += len;
}

static void emit8(struct aml *a, uint8_t v)
{
	a->b[a->n++] = v;
}

/* Open a package (PkgLength first): returns where it starts. */
static size_t pkg_open(struct aml *a)
{
	a->n += 4;		/* room for the longest PkgLength */
	return a->n - 4;
}

/* Close it: the shortest PkgLength, which counts itself, then the body. */
static void pkg_close(struct aml *a, size_t at)
{
	size_t body = a->n - at - 4, len, k;

	for (k = 1; k < 4; k++)
		if (body + k < ((k == 1) ? 0x40U : 1U << (4 + 8 * (k - 1))))
			break;
	len = body + k;
	memmove(a->b + at + k, a->b + at + 4, body);
	if (k == 1) {
		a->b[at] = (uint8_t)len;
	} else {
		a->b[at] = (uint8_t)((k - 1) << 6 | (len & 0xF));
		for (size_t i = 1; i < k; i++)
			a->b[at + i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
	}
	a->n = at + k + body;
}

/* Name (NAME, <what the caller emits next>) */
static void name(struct aml *a, const char *seg)
{
	emit8(a, AML_NAME);
	emit(a, seg, 4);
}

/* Name (_CRS, ResourceTemplate () { crs }) */
static void name_crs(struct aml *a, const uint8_t *crs, size_t len)
{
	size_t buf;

	name(a, "_CRS");
	emit8(a, AML_BUFFER);
	buf = pkg_open(a);
	emit8(a, AML_BYTE);
	emit8(a, (uint8_t)len);
	emit(a, crs, len);
	pkg_close(a, buf);
}

/* \_SB.COM1: a 16550 at NR_ACPI_COM1_PORT with ISA IRQ NR_ACPI_COM1_IRQ. */
static void com1(struct aml *a)
{
	uint8_t hid[5] = { AML_DWORD };
	const uint8_t crs[] = {
		RES_IO, 0x01,			/* 16-bit decode */
		NR_ACPI_COM1_PORT & 0xFF, NR_ACPI_COM1_PORT >> 8, /* min */
		NR_ACPI_COM1_PORT & 0xFF, NR_ACPI_COM1_PORT >> 8, /* max */
		0x01, 0x08,			/* alignment, length */
		RES_IRQ, 1U << NR_ACPI_COM1_IRQ, 0x00,
		RES_END, 0x00,
	};
	size_t dev;

	emit8(a, AML_EXT);
	emit8(a, AML_DEVICE);
	dev = pkg_open(a);
	emit(a, "COM1", 4);
	name(a, "_HID");
	put32(hid + 1, EISA_PNP0501);
	emit(a, hid, sizeof(hid));
	name(a, "_UID");
	emit8(a, AML_ZERO);
	name_crs(a, crs, sizeof(crs));
	pkg_close(a, dev);
}

/* \_SB.VRnn: a virtio-mmio device (Linux's virtio_mmio: LNRO0005). */
static void virtio_mmio(struct aml *a, unsigned int i,
			const struct nr_acpi_mmio *d)
{
	uint8_t crs[12 + 9 + 2] = {
		RES_MEM32_FIXED, 9, 0, 0x01,		/* read-write */
	};
	char seg[4];
	size_t dev;

	put32(crs + 4, d->base);
	put32(crs + 8, d->size);
	crs[12] = RES_INTERRUPT;
	put16(crs + 13, 6);
	crs[15] = RES_INT_FLAGS;
	crs[16] = 1;					/* one GSI */
	put32(crs + 17, d->gsi);
	crs[21] = RES_END;
	crs[22] = 0;

	emit8(a, AML_EXT);
	emit8(a, AML_DEVICE);
	dev = pkg_open(a);
	seg[0] = 'V';
	seg[1] = 'R';
	seg[2] = (char)('0' + i / 10);
	seg[3] = (char)('0' + i % 10);
	emit(a, seg, 4);
	name(a, "_HID");
	emit8(a, AML_STRING);
	emit(a, "LNRO0005", 9);				/* with its NUL */
	name(a, "_UID");
	emit8(a, AML_BYTE);
	emit8(a, (uint8_t)i);
	name_crs(a, crs, sizeof(crs));
	pkg_close(a, dev);
}

/* The DSDT's AML: \_S5 and the devices. */
static void dsdt_aml(struct aml *a, const struct nr_acpi_mmio *devs,
		     unsigned int ndevs)
{
	unsigned int i;

	const uint8_t s5[] = {
		AML_BYTE, NR_ACPI_S5, AML_BYTE, NR_ACPI_S5, AML_ZERO, AML_ZERO,
	};
	size_t at;

	a->n = 0;
	name(a, "_S5_");
	emit8(a, AML_PACKAGE);
	at = pkg_open(a);
	emit8(a, 4);				/* elements */
	emit(a, s5, sizeof(s5));
	pkg_close(a, at);

	emit8(a, AML_SCOPE);
	at = pkg_open(a);
	emit8(a, AML_ROOT);
	emit(a, "_SB_", 4);
	com1(a);
	for (i = 0; i < ndevs; i++)
		virtio_mmio(a, i, &devs[i]);
	pkg_close(a, at);
}

static size_t madt_len(unsigned int ncpus)
{
	/* Header, APIC address and flags, CPUs, I/O APIC, override, NMI. */
	return HDR_LEN + 8 + 8 * (size_t)ncpus + 12 + 10 + 6;
}

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static size_t dsdt_len(const struct nr_acpi_mmio *devs, unsigned int ndevs)
{
	struct aml a;

	dsdt_aml(&a, devs, ndevs);
	return HDR_LEN + a.n;
}

size_t nr_acpi_size(unsigned int ncpus, const struct nr_acpi_mmio *devs,
		    unsigned int ndevs)
{
	if (ndevs > NR_ACPI_MAX_MMIO)
		return 0;
	return align16(RSDP_LEN) + align16(HDR_LEN + 2 * 8) +
	       align16(FADT_LEN) + align16(dsdt_len(devs, ndevs)) +
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
		      unsigned int ncpus, uint8_t ioapic_id,
		      const struct nr_acpi_mmio *devs, unsigned int ndevs)
{
	size_t len = nr_acpi_size(ncpus, devs, ndevs);
	size_t o_xsdt = align16(RSDP_LEN);
	size_t o_fadt = o_xsdt + align16(HDR_LEN + 2 * 8);
	size_t o_dsdt = o_fadt + align16(FADT_LEN);
	size_t o_madt = o_dsdt + align16(dsdt_len(devs, ndevs));
	struct aml aml;
	uint8_t *t, *e;
	unsigned int i;

	if (ncpus == 0 || ncpus > NR_ACPI_MAX_CPUS || (gpa & 15) ||
	    ndevs > NR_ACPI_MAX_MMIO || size < len)
		return 0;
	memset(buf, 0, len);

	/* DSDT: \_S5 and the devices. */
	t = buf + o_dsdt;
	dsdt_aml(&aml, devs, ndevs);
	header(t, "DSDT", HDR_LEN + aml.n, 2);
	memcpy(t + HDR_LEN, aml.b, aml.n);
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
