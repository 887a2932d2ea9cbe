/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's ACPI tables (tools/nvmm-run/acpi.c), walked as an OS walks
 * them: RSDP checksums, XSDT entries, the FADT's hardware-reduced flag,
 * its sleep and reset registers and DSDT pointers, the DSDT's \_S5 AML
 * object, and the MADT's entries; sizes and refusals. Then ACPICA's own
 * disassembler (iasl, acpica-tools) reads every table, as a second
 * opinion nobody here wrote: checksums, lengths, the DSDT's AML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/nvmm-run/acpi.h"
#include "ksft.h"

#define GPA	0xE0000U

static uint8_t buf[16384];
static const struct nr_acpi_mmio devs[2] = {
	{ 0xD0000000, 0x200, 16 },
	{ 0xD0001000, 0x200, 17 },
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The table at gpa, checked: signature, length inside buf, checksum. */
static const uint8_t *table(uint64_t gpa, const char *sig, size_t len)
{
	const uint8_t *t;

	ck_assert_uint_ge(gpa, GPA);
	ck_assert_uint_lt(gpa - GPA + 36, len + 1);
	t = buf + (gpa - GPA);
	ck_assert_mem_eq(t, sig, 4);
	ck_assert_uint_le(gpa - GPA + get32(t + 4), len);
	ck_assert_uint_eq(sum(t, get32(t + 4)), 0);
	return t;
}

START_TEST(tables_an_os_can_walk)
{
	static const unsigned int counts[] = { 1, 2, 64 };
	unsigned int k;

	for (k = 0; k < 3; k++) {
		unsigned int n = counts[k], lapics = 0, io = 0, iso = 0, nmi = 0;
		size_t len = nr_acpi_tables(buf, sizeof(buf), GPA, n, 9, devs,
					    1);
		const uint8_t *xsdt, *fadt, *dsdt, *madt, *e, *end;

		ck_assert_uint_eq(len, nr_acpi_size(n, devs, 1));
		/* RSDP 2.0: both checksums, the XSDT. */
		ck_assert_mem_eq(buf, "RSD PTR ", 8);
		ck_assert_uint_eq(sum(buf, 20), 0);
		ck_assert_uint_eq(buf[15], 2);
		ck_assert_uint_eq(get32(buf + 20), 36);
		ck_assert_uint_eq(sum(buf, 36), 0);
		xsdt = table(get64(buf + 24), "XSDT", len);
		ck_assert_uint_eq(get32(xsdt + 4), 36 + 16);
		fadt = table(get64(xsdt + 36), "FACP", len);
		madt = table(get64(xsdt + 44), "APIC", len);
		/* FADT 6.0: HW-reduced, reset supported, registers. */
		ck_assert_uint_eq(get32(fadt + 4), 276);
		ck_assert_uint_eq(fadt[8], 6);
		ck_assert(get32(fadt + 112) & (1U << 20));
		ck_assert(get32(fadt + 112) & (1U << 10));
		ck_assert_uint_eq(fadt[116], 1);		/* I/O */
		ck_assert_uint_eq(get64(fadt + 120), 0xCF9);
		ck_assert_uint_eq(fadt[128], 0x06);
		ck_assert_uint_eq(fadt[244], 1);
		ck_assert_uint_eq(fadt[245], 8);
		ck_assert_uint_eq(get64(fadt + 248), 0x600);
		ck_assert_uint_eq(get64(fadt + 260), 0x600);
		ck_assert_uint_eq(get64(fadt + 140), get32(fadt + 40));
		dsdt = table(get64(fadt + 140), "DSDT", len);
		/* NameOp "_S5_" PackageOp, 4 elements: 5, 5, 0, 0. */
		ck_assert_mem_eq(dsdt + 36, "\x08_S5_\x12\x08\x04\x0A\x05\x0A\x05",
				 12);
		/* Scope (\_SB) { Device (COM1) { _HID PNP0501 ... } } */
		ck_assert_uint_eq(dsdt[50], 0x10);
		ck_assert_ptr_nonnull(memmem(dsdt + 51, 8, "\\_SB_", 5));
		ck_assert_ptr_nonnull(memmem(dsdt + 36, get32(dsdt + 4) - 36,
			"COM1\x08_HID\x0C\x41\xD0\x05\x01", 14));
		ck_assert_ptr_nonnull(memmem(dsdt + 36, get32(dsdt + 4) - 36,
			"VR00\x08_HID\x0DLNRO0005", 18));
		/* MADT: n enabled local APICs 0..n-1, then the rest. */
		ck_assert_uint_eq(get32(madt + 36), 0xFEE00000);
		end = madt + get32(madt + 4);
		for (e = madt + 44; e < end; e += e[1]) {
			ck_assert_uint_ge(e[1], 2);
			switch (e[0]) {
			case 0:
				ck_assert_uint_eq(e[3], lapics);
				ck_assert_uint_eq(get32(e + 4), 1);
				lapics++;
				break;
			case 1:
				ck_assert_uint_eq(e[2], 9);
				ck_assert_uint_eq(get32(e + 4), 0xFEC00000);
				io++;
				break;
			case 2:
				ck_assert_uint_eq(e[3], 0);
				ck_assert_uint_eq(get32(e + 4), 2);
				iso++;
				break;
			case 4:
				ck_assert_uint_eq(e[5], 1);
				nmi++;
				break;
			default:
				ck_abort_msg("MADT entry type %u", e[0]);
			}
		}
		ck_assert(e == end);
		ck_assert_uint_eq(lapics, n);
		ck_assert_uint_eq(io, 1);
		ck_assert_uint_eq(iso, 1);
		ck_assert_uint_eq(nmi, 1);
	}
}
END_TEST

/* Run iasl -d on one table; its listing, or NULL (the test fails). */
static char *iasl(const char *dir, const char *name, const uint8_t *t,
		  size_t len)
{
	static char out[65536];
	char path[256], cmd[600];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(t, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1",
		 dir, name, name);
	ck_assert_msg(system(cmd) == 0, "iasl -d %s failed", name);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	fclose(f);
	return out;
}

#define HAS(text, what) ck_assert_msg(strstr(text, what) != NULL, \
				      "iasl's listing lacks: %s", what)

START_TEST(acpica_reads_them_alike)
{
	char dir[] = "/tmp/test_acpi.XXXXXX", cmd[64], want[64];
	const uint8_t *xsdt, *fadt, *dsdt, *madt;
	size_t len = nr_acpi_tables(buf, sizeof(buf), GPA, 2, 2, devs, 2);
	char *l;

	if (system("command -v iasl >/dev/null 2>&1") != 0)
		ksft_skip("no iasl (make deps installs acpica-tools)");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	xsdt = buf + (get64(buf + 24) - GPA);
	fadt = buf + (get64(xsdt + 36) - GPA);
	madt = buf + (get64(xsdt + 44) - GPA);
	dsdt = buf + (get64(fadt + 140) - GPA);
	ck_assert_uint_gt(len, 0);

	/* (This iasl does not read an RSDP alone.) */
	l = iasl(dir, "xsdt", xsdt, get32(xsdt + 4));
	snprintf(want, sizeof(want), "ACPI Table Address   0 : %016llX",
		 (unsigned long long)get64(xsdt + 36));
	HAS(l, want);
	snprintf(want, sizeof(want), "ACPI Table Address   1 : %016llX",
		 (unsigned long long)get64(xsdt + 44));
	HAS(l, want);
	l = iasl(dir, "facp", fadt, get32(fadt + 4));
	HAS(l, "Hardware Reduced (V5) : 1");
	HAS(l, "Reset Register Supported (V2) : 1");
	HAS(l, "Value to cause reset : 06");
	HAS(l, "Address : 0000000000000CF9");
	HAS(l, "Address : 0000000000000600");
	l = iasl(dir, "apic", madt, get32(madt + 4));
	HAS(l, "Local Apic Address : FEE00000");
	HAS(l, "Address : FEC00000");
	HAS(l, "Interrupt : 00000002");
	l = iasl(dir, "dsdt", dsdt, get32(dsdt + 4));
	HAS(l, "Name (_S5, Package (0x04)");
	HAS(l, "Device (COM1)");
	HAS(l, "EisaId (\"PNP0501\")");
	HAS(l, "IO (Decode16,\n                    0x03F8,");
	HAS(l, "IRQNoFlags ()\n                    {4}");
	/* The virtio-mmio devices, as Linux's virtio_mmio matches them. */
	HAS(l, "Device (VR00)");
	HAS(l, "Device (VR01)");
	HAS(l, "Name (_HID, \"LNRO0005\")");
	HAS(l, "Memory32Fixed (ReadWrite,\n                    0xD0001000,"
	       "         // Address Base\n                    0x00000200,");
	HAS(l, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )"
	       "\n                {\n                    0x00000011,");
	/* A wrong checksum or length shows as a remark in the listing. */
	ck_assert_msg(strstr(l, "Incorrect") == NULL, "%s", l);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(what_does_not_fit_is_refused)
{
	memset(buf, 0xAA, sizeof(buf));
	ck_assert_uint_eq(nr_acpi_tables(buf, nr_acpi_size(2, devs, 2) - 1, GPA,
					 2, 2, devs, 2), 0);
	ck_assert_uint_eq(buf[0], 0xAA);
	ck_assert_uint_eq(nr_acpi_tables(buf, sizeof(buf), GPA, 0, 0, NULL, 0),
			  0);
	ck_assert_uint_eq(nr_acpi_tables(buf, sizeof(buf), GPA, 65, 65, NULL,
					 0), 0);
	ck_assert_uint_eq(nr_acpi_tables(buf, sizeof(buf), GPA + 8, 1, 1, NULL,
					 0), 0);
	ck_assert_uint_eq(nr_acpi_tables(buf, sizeof(buf), GPA, 1, 1, devs,
					 NR_ACPI_MAX_MMIO + 1), 0);
	ck_assert_uint_eq(buf[0], 0xAA);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(tables_an_os_can_walk),
		KSFT_TEST(acpica_reads_them_alike),
		KSFT_TEST(what_does_not_fit_is_refused),
	};

	return ksft_run("acpi", tests, sizeof(tests) / sizeof(tests[0]), 30);
}
