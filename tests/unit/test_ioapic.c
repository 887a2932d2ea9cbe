/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's I/O APIC model (tools/nvmm-run/ioapic.c): what Linux reads
 * when it registers one (ID, version with 24 entries), entries that start
 * masked, and what a guest may and may not write.
 */
#include "../../tools/nvmm-run/ioapic.h"
#include "ksft.h"

static struct nr_ioapic io;

static uint32_t rd(uint32_t reg)
{
	nr_ioapic_write(&io, NR_IOAPIC_REGSEL, reg);
	return nr_ioapic_read(&io, NR_IOAPIC_WIN);
}

static void wr(uint32_t reg, uint32_t val)
{
	nr_ioapic_write(&io, NR_IOAPIC_REGSEL, reg);
	nr_ioapic_write(&io, NR_IOAPIC_WIN, val);
}

START_TEST(registers)
{
	uint8_t vec, dest;
	unsigned int pin;
	bool logical;

	nr_ioapic_reset(&io, 1);
	ck_assert_uint_eq(rd(0x00), 1U << 24);
	ck_assert_uint_eq(rd(0x01), 0x00170011);	/* 24 pins, 0x11 */
	for (pin = 0; pin < 24; pin++) {
		ck_assert_uint_eq(rd(0x10 + 2 * pin), 1U << 16);
		ck_assert(!nr_ioapic_route(&io, pin, &vec, &dest, &logical));
	}
	/* Pin 4: vector 0x24 to APIC 2, unmasked. */
	wr(0x10 + 8, 0x24);
	wr(0x11 + 8, 0x02000000);
	ck_assert(nr_ioapic_route(&io, 4, &vec, &dest, &logical));
	ck_assert_uint_eq(vec, 0x24);
	ck_assert_uint_eq(dest, 2);
	ck_assert(!logical);
	/* Logical destination mode (bit 11), as Linux's flat mode uses. */
	wr(0x10 + 8, 0x824);
	ck_assert(nr_ioapic_route(&io, 4, &vec, &dest, &logical));
	ck_assert(logical);
	/* Delivery status (12), remote IRR (14) and reserved bits: not ours. */
	wr(0x10 + 8, 0xFFFFFFFF);
	ck_assert_uint_eq(rd(0x10 + 8), 0x0001AFFF);
	wr(0x11 + 8, 0xFFFFFFFF);
	ck_assert_uint_eq(rd(0x11 + 8), 0xFF000000);
	ck_assert(!nr_ioapic_route(&io, 4, &vec, &dest, &logical));	/* masked */
	/* Past the table, and other offsets: nothing. */
	wr(0x10 + 48, 0x33);
	ck_assert_uint_eq(rd(0x10 + 48), 0);
	ck_assert(!nr_ioapic_route(&io, 24, &vec, &dest, &logical));
	nr_ioapic_write(&io, 0x20, 5);
	ck_assert_uint_eq(nr_ioapic_read(&io, 0x20), 0);
	/* The ID register keeps bits 27:24. */
	wr(0x00, 0xFFFFFFFF);
	ck_assert_uint_eq(rd(0x00), 0x0F000000);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(registers),
	};

	return ksft_run("ioapic", tests, 1, 30);
}
