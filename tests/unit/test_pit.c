/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's 8254 channel 2 (tools/nvmm-run/pit.c), driven as Linux's
 * TSC and CPU calibrations drive it (arch/x86/kernel/tsc.c): the gate
 * through port 0x61, mode 0 with LSB-then-MSB counts, the count read
 * back as it falls at 1.193182 MHz, OUT2 at terminal count; then the
 * latch command, a low gate that holds the count, a periodic mode, and
 * what is not there (channels 0 and 1).
 */
#include "../../tools/nvmm-run/pit.h"
#include "ksft.h"

#define MS	1000000ULL
#define T0	(1000 * MS)

static struct nr_pit p;

static void out(uint16_t port, uint8_t v, uint64_t now)
{
	nr_pit_io(&p, port, false, &v, now);
}

static uint8_t in(uint16_t port, uint64_t now)
{
	uint8_t v = 0;

	nr_pit_io(&p, port, true, &v, now);
	return v;
}

static uint16_t read16(uint64_t now)
{
	uint8_t lo = in(0x42, now);

	return (uint16_t)(lo | in(0x42, now) << 8);
}

START_TEST(counts_down_as_quick_pit_calibrate_expects)
{
	nr_pit_reset(&p);
	out(0x61, (uint8_t)((in(0x61, T0) & ~0x02) | 0x01), T0);
	out(0x43, 0xB0, T0);		/* channel 2, LSB then MSB, mode 0 */
	out(0x42, 0xFF, T0);
	out(0x42, 0xFF, T0);
	ck_assert_uint_eq(read16(T0), 0xFFFF);
	/* 1 ms: 1193 ticks. */
	ck_assert_uint_eq(read16(T0 + MS), 0xFFFF - 1193);
	/* The MSB alone, as pit_verify_msb() reads it (LSB first). */
	in(0x42, T0 + 10 * MS);
	ck_assert_uint_eq(in(0x42, T0 + 10 * MS), (0xFFFF - 11931) >> 8);
	ck_assert_uint_eq(in(0x61, T0 + 10 * MS) & 0x20, 0);
}
END_TEST

START_TEST(out2_rises_at_terminal_count)
{
	const uint16_t latch = 59659;	/* 50 ms, pit_calibrate_tsc() */

	nr_pit_reset(&p);
	out(0x61, 0x01, T0);
	out(0x43, 0xB0, T0);
	out(0x42, latch & 0xFF, T0);
	out(0x42, latch >> 8, T0);
	ck_assert_uint_eq(in(0x61, T0 + 49 * MS) & 0x21, 0x01);
	ck_assert_uint_eq(in(0x61, T0 + 51 * MS) & 0x21, 0x21);
	/* Past 0 the count goes on from 0xFFFF; OUT2 stays high. */
	ck_assert_uint_gt(read16(T0 + 51 * MS), 0xF000);
	ck_assert_uint_eq(in(0x61, T0 + 60 * MS) & 0x20, 0x20);
}
END_TEST

START_TEST(latch_and_gate_hold_the_count)
{
	nr_pit_reset(&p);
	out(0x61, 0x01, T0);
	out(0x43, 0xB0, T0);
	out(0x42, 0x00, T0);
	out(0x42, 0x80, T0);		/* 0x8000 */
	out(0x43, 0x80, T0 + MS);	/* latch channel 2 */
	out(0x43, 0x80, T0 + 5 * MS);	/* a second latch: ignored */
	ck_assert_uint_eq(read16(T0 + 9 * MS), 0x8000 - 1193);
	ck_assert_uint_eq(read16(T0 + 9 * MS), 0x8000 - 10738);
	/* Gate low at 10 ms: the count stops, and goes on when it rises. */
	out(0x61, 0x00, T0 + 10 * MS);
	ck_assert_uint_eq(read16(T0 + 20 * MS), 0x8000 - 11931);
	out(0x61, 0x01, T0 + 20 * MS);
	ck_assert_uint_eq(read16(T0 + 21 * MS), 0x8000 - 11931 - 1193);
}
END_TEST

START_TEST(periodic_modes_reload)
{
	nr_pit_reset(&p);
	out(0x61, 0x01, T0);
	out(0x43, 0xB6, T0);		/* channel 2, word, mode 3 */
	out(0x42, 0xE8, T0);
	out(0x42, 0x03, T0);		/* 1000 ticks */
	/* 1,257,200 ns: 1500 ticks, half way through the second period. */
	ck_assert_uint_eq(read16(T0 + 1257200), 500);
	/* A square wave: high for the first half of each period. */
	ck_assert_uint_eq(in(0x61, T0 + 100000) & 0x20, 0x20);	/* 119 */
	ck_assert_uint_eq(in(0x61, T0 + 600000) & 0x20, 0);	/* 715 */
	/* Channel 0 and 1 control words change nothing here. */
	out(0x43, 0x30, T0);
	out(0x43, 0x70, T0);
	ck_assert_uint_eq(in(0x61, T0 + 1000000) & 0x20, 0x20); /* 1193 */
	ck_assert_uint_eq(in(0x43, T0), 0xFF);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(counts_down_as_quick_pit_calibrate_expects),
		KSFT_TEST(out2_rises_at_terminal_count),
		KSFT_TEST(latch_and_gate_hold_the_count),
		KSFT_TEST(periodic_modes_reload),
	};

	return ksft_run("pit", tests, sizeof(tests) / sizeof(tests[0]), 30);
}
