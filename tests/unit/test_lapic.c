/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's local APIC model (tools/nvmm-run/lapic.c) against the SDM's
 * rules (vol. 3A ch. 11): reset state, priorities and EOI, illegal vectors
 * and registers in the ESR, what a guest may write, self IPIs and the IPIs
 * left to the VMM, and the timer in its three modes.
 */
#include <string.h>

#include "../../tools/nvmm-run/lapic.h"
#include "ksft.h"

static struct nr_lapic a;

static void enabled(void)
{
	nr_lapic_reset(&a, 3);
	nr_lapic_write(&a, NR_LAPIC_SVR, 0x1FF, 0);
}

START_TEST(reset_state)
{
	unsigned int off;

	nr_lapic_reset(&a, 3);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ID, 0), 3U << 24);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_VERSION, 0) & 0xFF,
			  0x14);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_VERSION, 0) >> 16, 5);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_DFR, 0), 0xFFFFFFFF);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_SVR, 0), 0xFF);
	for (off = NR_LAPIC_LVT_TIMER; off <= NR_LAPIC_LVT_ERROR; off += 16)
		ck_assert_uint_eq(nr_lapic_read(&a, off, 0),
				  NR_LAPIC_LVT_MASKED);
	/* Software-disabled: no fixed interrupt is taken, LVTs stay masked. */
	nr_lapic_raise(&a, 0x40, false);
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	nr_lapic_write(&a, NR_LAPIC_LVT_LINT0, 0x700, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_LVT_LINT0, 0),
			  0x700 | NR_LAPIC_LVT_MASKED);
}
END_TEST

START_TEST(priorities_and_eoi)
{
	enabled();
	nr_lapic_raise(&a, 0x51, false);
	nr_lapic_raise(&a, 0x80, false);
	ck_assert_int_eq(nr_lapic_pending(&a), 0x80);
	nr_lapic_accept(&a, 0x80);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ISR + 0x40, 0), 1);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_PPR, 0), 0x80);
	/* 0x51 is below the one in service. */
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	nr_lapic_raise(&a, 0x85, false);	/* same class: waits too */
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	nr_lapic_raise(&a, 0x91, false);
	ck_assert_int_eq(nr_lapic_pending(&a), 0x91);
	nr_lapic_accept(&a, 0x91);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, 0);		/* ends 0x91 */
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, 0);		/* ends 0x80 */
	ck_assert_int_eq(nr_lapic_pending(&a), 0x85);
	/* TPR holds back its class and below. */
	nr_lapic_write(&a, NR_LAPIC_TPR, 0x8F, 0);
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_PPR, 0), 0x8F);
	nr_lapic_write(&a, NR_LAPIC_TPR, 0x7FFFFF70, 0);	/* 8 bits */
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TPR, 0), 0x70);
	ck_assert_int_eq(nr_lapic_pending(&a), 0x85);
	/* A level interrupt sets TMR; its EOI clears it. */
	nr_lapic_raise(&a, 0xA0, true);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TMR + 0x50, 0), 1);
	nr_lapic_accept(&a, 0xA0);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TMR + 0x50, 0), 0);
	/* EOI with nothing in service changes nothing. */
	nr_lapic_accept(&a, 0x85);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, 0);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_PPR, 0), 0x70);
}
END_TEST

START_TEST(errors_and_hostile_writes)
{
	unsigned int i;

	enabled();
	/* Vectors 0-15 are never accepted; the ESR says so after a write. */
	nr_lapic_raise(&a, 7, false);
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ESR, 0), 0);
	nr_lapic_write(&a, NR_LAPIC_ESR, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ESR, 0),
			  NR_LAPIC_ESR_ILLEGAL_VECTOR_RX);
	nr_lapic_write(&a, NR_LAPIC_ESR, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ESR, 0), 0);
	/* A reserved register. */
	ck_assert_uint_eq(nr_lapic_read(&a, 0x040, 0), 0);
	nr_lapic_write(&a, NR_LAPIC_ESR, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ESR, 0),
			  NR_LAPIC_ESR_ILLEGAL_REG);
	/* Read-only registers stay; misaligned accesses do nothing. */
	for (i = 0; i < 8; i++) {
		nr_lapic_write(&a, NR_LAPIC_IRR + 16 * i, ~0U, 0);
		nr_lapic_write(&a, NR_LAPIC_ISR + 16 * i, ~0U, 0);
	}
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_PPR, 0), 0);
	nr_lapic_write(&a, NR_LAPIC_ID, ~0U, 0);
	nr_lapic_write(&a, NR_LAPIC_VERSION, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ID, 0), 3U << 24);
	nr_lapic_write(&a, NR_LAPIC_TPR + 4, 0xFF, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TPR, 0), 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_SVR + 8, 0), 0);
	/* Only the defined bits of each register take. */
	nr_lapic_write(&a, NR_LAPIC_LVT_TIMER, ~0U, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_LVT_TIMER, 0),
			  0x000700FF);
	nr_lapic_write(&a, NR_LAPIC_LVT_LINT0, ~0U, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_LVT_LINT0, 0),
			  0x0001A7FF);
	nr_lapic_write(&a, NR_LAPIC_LDR, ~0U, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_LDR, 0), 0xFF000000);
	nr_lapic_write(&a, NR_LAPIC_DFR, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_DFR, 0), 0x0FFFFFFF);
	nr_lapic_write(&a, NR_LAPIC_TIMER_DIV, ~0U, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TIMER_DIV, 0), 0xB);
	/* Disabling the APIC masks every LVT. */
	nr_lapic_write(&a, NR_LAPIC_LVT_ERROR, 0xFE, 0);
	nr_lapic_write(&a, NR_LAPIC_SVR, 0xFF, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_LVT_ERROR, 0),
			  0xFE | NR_LAPIC_LVT_MASKED);
}
END_TEST

START_TEST(ipis)
{
	enabled();
	/* To itself by shorthand and by its own ID: taken here. */
	nr_lapic_write(&a, NR_LAPIC_ICR_LO, (1U << 18) | 0x41, 0);
	ck_assert_int_eq(nr_lapic_pending(&a), 0x41);
	ck_assert(!a.ipi_pending);
	nr_lapic_write(&a, NR_LAPIC_ICR_HI, 3U << 24, 0);
	nr_lapic_write(&a, NR_LAPIC_ICR_LO, 0x52, 0);
	ck_assert_int_eq(nr_lapic_pending(&a), 0x52);
	ck_assert(!a.ipi_pending);
	/* To another APIC: for the VMM, with its destination. */
	nr_lapic_write(&a, NR_LAPIC_ICR_HI, 0x01FFFFFF, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ICR_HI, 0), 1U << 24);
	nr_lapic_write(&a, NR_LAPIC_ICR_LO, 0x4500, 0);		/* INIT */
	ck_assert(a.ipi_pending);
	ck_assert_uint_eq(a.ipi.dest, 1);
	ck_assert_uint_eq((a.ipi.icr_lo >> 8) & 7, 5);
	a.ipi_pending = false;
	/* To all including self, fixed: here and for the VMM. */
	nr_lapic_write(&a, NR_LAPIC_ICR_LO, (2U << 18) | 0x63, 0);
	ck_assert(a.ipi_pending);
	nr_lapic_accept(&a, 0x52);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, 0);
	ck_assert_int_eq(nr_lapic_pending(&a), 0x63);
	/* A fixed IPI with vector < 16 is not sent: ESR send error. */
	a.ipi_pending = false;
	nr_lapic_write(&a, NR_LAPIC_ICR_LO, (3U << 18) | 0x0F, 0);
	ck_assert(!a.ipi_pending);
	nr_lapic_write(&a, NR_LAPIC_ESR, 0, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ESR, 0),
			  NR_LAPIC_ESR_ILLEGAL_VECTOR_TX);
	/* The delivery status bit (12) reads idle whatever was written. */
	nr_lapic_write(&a, NR_LAPIC_ICR_LO, 0x1000 | (1U << 18) | 0x70, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_ICR_LO, 0) & 0x1000, 0);
}
END_TEST

START_TEST(timer_one_shot_and_periodic)
{
	const uint64_t t0 = 1000000;

	enabled();
	/* One-shot, divide by 2 (DCR 0), 1000 counts: 2 us. */
	nr_lapic_write(&a, NR_LAPIC_LVT_TIMER, 0xEC, t0);
	nr_lapic_write(&a, NR_LAPIC_TIMER_DIV, 0, t0);
	nr_lapic_write(&a, NR_LAPIC_TIMER_INIT, 1000, t0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TIMER_CUR, t0), 1000);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TIMER_CUR, t0 + 1000),
			  500);
	ck_assert_uint_eq(nr_lapic_timer(&a, t0 + 1999), t0 + 2000);
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	ck_assert_uint_eq(nr_lapic_timer(&a, t0 + 2000), 0);
	ck_assert_int_eq(nr_lapic_pending(&a), 0xEC);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TIMER_CUR, t0 + 5000),
			  0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TIMER_INIT, t0), 1000);
	nr_lapic_accept(&a, 0xEC);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, t0);
	/* Fires once only. */
	ck_assert_uint_eq(nr_lapic_timer(&a, t0 + 9000), 0);
	ck_assert_int_eq(nr_lapic_pending(&a), -1);

	/* Periodic, divide by 1 (DCR 0xB): every 100 ns from t0. */
	nr_lapic_write(&a, NR_LAPIC_LVT_TIMER, (1U << 17) | 0xEC, t0);
	nr_lapic_write(&a, NR_LAPIC_TIMER_DIV, 0xB, t0);
	nr_lapic_write(&a, NR_LAPIC_TIMER_INIT, 100, t0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TIMER_CUR, t0 + 130),
			  70);
	ck_assert_uint_eq(nr_lapic_timer(&a, t0 + 100), t0 + 200);
	ck_assert_int_eq(nr_lapic_pending(&a), 0xEC);
	nr_lapic_accept(&a, 0xEC);
	/* Missed periods fire once, and the next is on the old grid. */
	ck_assert_uint_eq(nr_lapic_timer(&a, t0 + 1050), t0 + 1100);
	/* Masked: it counts, nothing is raised. */
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, t0);
	nr_lapic_accept(&a, 0xEC);
	nr_lapic_write(&a, NR_LAPIC_EOI, 0, t0);
	nr_lapic_write(&a, NR_LAPIC_LVT_TIMER,
		       (1U << 17) | NR_LAPIC_LVT_MASKED | 0xEC, t0);
	ck_assert_uint_eq(nr_lapic_timer(&a, t0 + 1100), t0 + 1200);
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
}
END_TEST

START_TEST(timer_deadline)
{
	enabled();
	nr_lapic_write(&a, NR_LAPIC_LVT_TIMER, (2U << 17) | 0xEF, 0);
	/* TMICT is ignored in TSC-deadline mode. */
	nr_lapic_write(&a, NR_LAPIC_TIMER_INIT, 5, 0);
	ck_assert_uint_eq(nr_lapic_read(&a, NR_LAPIC_TIMER_INIT, 0), 0);
	nr_lapic_set_deadline(&a, 5000);
	ck_assert_uint_eq(nr_lapic_timer(&a, 4999), 5000);
	ck_assert_int_eq(nr_lapic_pending(&a), -1);
	ck_assert_uint_eq(nr_lapic_timer(&a, 5000), 0);
	ck_assert_int_eq(nr_lapic_pending(&a), 0xEF);
	/* A mode change disarms it. */
	nr_lapic_set_deadline(&a, 9000);
	nr_lapic_write(&a, NR_LAPIC_LVT_TIMER, 0xEF, 0);
	ck_assert_uint_eq(nr_lapic_timer(&a, 10000), 0);
	/* Outside deadline mode the MSR write is ignored. */
	nr_lapic_set_deadline(&a, 20000);
	ck_assert_uint_eq(a.deadline, 0);
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(reset_state),
		KSFT_TEST(priorities_and_eoi),
		KSFT_TEST(errors_and_hostile_writes),
		KSFT_TEST(ipis),
		KSFT_TEST(timer_one_shot_and_periodic),
		KSFT_TEST(timer_deadline),
	};

	return ksft_run("lapic", tests, sizeof(tests) / sizeof(tests[0]), 30);
}
