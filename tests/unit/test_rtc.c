/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's CMOS clock (tools/nvmm-run/rtc.c) read as Linux's
 * mc146818_get_time() reads it: index at 0x70, data at 0x71, status A
 * without UIP, status B in BCD and 24-hour mode, the date and the
 * century of a known instant; the NMI bit of the index dropped; the RAM
 * keeping writes while the clock ignores them.
 */
#include "../../tools/nvmm-run/rtc.h"
#include "ksft.h"

static struct nr_rtc r;

static uint8_t rd(uint8_t index, time_t now)
{
	uint8_t v = index;

	nr_rtc_io(&r, 0x70, false, &v, now);
	nr_rtc_io(&r, 0x71, true, &v, now);
	return v;
}

static void wr(uint8_t index, uint8_t val)
{
	nr_rtc_io(&r, 0x70, false, &index, 0);
	nr_rtc_io(&r, 0x71, false, &val, 0);
}

START_TEST(reads_the_time_as_linux_does)
{
	/* 2026-12-07 09:58:07 UTC, a Monday. */
	const time_t t = 1796637487;

	nr_rtc_reset(&r);
	ck_assert_uint_eq(rd(0x0A, t) & 0x80, 0);	/* no UIP */
	ck_assert_uint_eq(rd(0x0B, t) & 0x06, 0x02);	/* BCD, 24 h */
	ck_assert_uint_eq(rd(0x0D, t), 0x80);		/* battery good */
	ck_assert_uint_eq(rd(0x00, t), 0x07);
	ck_assert_uint_eq(rd(0x02, t), 0x58);
	ck_assert_uint_eq(rd(0x04, t), 0x09);
	ck_assert_uint_eq(rd(0x06, t), 0x02);		/* Sunday = 1 */
	ck_assert_uint_eq(rd(0x07, t), 0x07);
	ck_assert_uint_eq(rd(0x08, t), 0x12);
	ck_assert_uint_eq(rd(0x09, t), 0x26);
	ck_assert_uint_eq(rd(0x32, t), 0x20);
	/* The NMI-disable bit of the index is not part of it. */
	ck_assert_uint_eq(rd(0x80 | 0x09, t), 0x26);
	/* The index port reads as nothing. */
	{
		uint8_t v = 0;

		nr_rtc_io(&r, 0x70, true, &v, t);
		ck_assert_uint_eq(v, 0xFF);
	}
}
END_TEST

START_TEST(ram_keeps_writes_the_clock_does_not)
{
	const time_t t = 1796637487;

	nr_rtc_reset(&r);
	wr(0x0E, 0x5A);
	wr(0x7F, 0xA5);
	ck_assert_uint_eq(rd(0x0E, t), 0x5A);
	ck_assert_uint_eq(rd(0x7F, t), 0xA5);
	wr(0x00, 0x33);			/* seconds */
	wr(0x0B, 0x04);			/* binary mode */
	wr(0x32, 0x19);			/* century */
	ck_assert_uint_eq(rd(0x00, t), 0x07);
	ck_assert_uint_eq(rd(0x0B, t) & 0x06, 0x02);
	ck_assert_uint_eq(rd(0x32, t), 0x20);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(reads_the_time_as_linux_does),
		KSFT_TEST(ram_keeps_writes_the_clock_does_not),
	};

	return ksft_run("rtc", tests, sizeof(tests) / sizeof(tests[0]), 30);
}
