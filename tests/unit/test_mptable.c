/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-run's MP Specification tables (tools/nvmm-run/mptable.c), read back
 * the way a guest's MP parser reads them: floating pointer, checksums,
 * entry counts, the CPUs, the I/O APIC and the ISA interrupt routing.
 */
#include <string.h>

#include "../../tools/nvmm-run/mptable.h"
#include "ksft.h"

#define GPA	0xF0000U

static uint8_t buf[8192];

static unsigned int get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Parse as a guest would; returns the table, checked. */
static const uint8_t *parse(size_t len, unsigned int ncpus)
{
	const uint8_t *t;
	unsigned int tlen;

	ck_assert_mem_eq(buf, "_MP_", 4);
	ck_assert_uint_eq(buf[8], 1);			/* 16 bytes */
	ck_assert_uint_eq(buf[9], 4);			/* MP 1.4 */
	ck_assert_uint_eq(sum(buf, 16), 0);
	ck_assert_uint_eq(buf[11], 0);			/* a table, no default */
	ck_assert_uint_ge(get32(buf + 4), GPA);
	t = buf + (get32(buf + 4) - GPA);
	ck_assert_mem_eq(t, "PCMP", 4);
	tlen = get16(t + 4);
	ck_assert_uint_eq(16 + tlen, len);
	ck_assert_uint_eq(sum(t, tlen), 0);
	ck_assert_uint_eq(get32(t + 36), 0xFEE00000);	/* local APIC */
	ck_assert_uint_eq(get16(t + 34), ncpus + 2 + 17 + 2);
	return t;
}

START_TEST(tables_a_guest_can_read)
{
	static const unsigned int counts[] = { 1, 2, 64 };
	unsigned int k;

	for (k = 0; k < 3; k++) {
		unsigned int n = counts[k], cpus = 0, bsp = 0, irq0_pin = 99;
		unsigned int ioapic = 0, ioapic_id = 0, isa = 0, lint = 0;
		size_t len = nr_mptable(buf, sizeof(buf), GPA, n);
		const uint8_t *t, *e, *end;

		ck_assert_uint_eq(len, nr_mptable_size(n));
		t = parse(len, n);
		end = t + get16(t + 4);
		for (e = t + 44; e < end; e += e[0] == 0 ? 20 : 8) {
			switch (e[0]) {
			case 0:		/* processor */
				ck_assert_uint_eq(e[1], cpus);
				ck_assert(e[3] & 1);
				bsp += (e[3] & 2) != 0;
				if (e[3] & 2)
					ck_assert_uint_eq(e[1], 0);
				cpus++;
				break;
			case 1:		/* bus */
				ck_assert_mem_eq(e + 2, "ISA   ", 6);
				isa++;
				break;
			case 2:		/* I/O APIC */
				ck_assert_uint_eq(get32(e + 4), 0xFEC00000);
				ck_assert(e[3] & 1);
				ioapic_id = e[1];
				ioapic++;
				break;
			case 3:		/* I/O interrupt */
				ck_assert_uint_eq(e[6], ioapic_id);
				if (e[1] == 0 && e[5] == 0)
					irq0_pin = e[7];
				break;
			case 4:		/* local interrupt */
				lint++;
				break;
			default:
				ck_abort_msg("entry type %u", e[0]);
			}
		}
		ck_assert(e == end);
		ck_assert_uint_eq(cpus, n);
		ck_assert_uint_eq(bsp, 1);
		ck_assert_uint_eq(isa, 1);
		ck_assert_uint_eq(ioapic, 1);
		ck_assert_uint_ge(ioapic_id, n);	/* no clash with a CPU */
		ck_assert_uint_eq(irq0_pin, 2);		/* as on a PC */
		ck_assert_uint_eq(lint, 2);
	}
}
END_TEST

START_TEST(what_does_not_fit_is_refused)
{
	memset(buf, 0xAA, sizeof(buf));
	ck_assert_uint_eq(nr_mptable(buf, nr_mptable_size(4) - 1, GPA, 4), 0);
	ck_assert_uint_eq(buf[0], 0xAA);		/* nothing written */
	ck_assert_uint_eq(nr_mptable(buf, sizeof(buf), GPA, 0), 0);
	ck_assert_uint_eq(nr_mptable(buf, sizeof(buf), GPA, 65), 0);
	ck_assert_uint_eq(nr_mptable(buf, nr_mptable_size(4), GPA, 4),
			  nr_mptable_size(4));
}
END_TEST

int main(void)
{
	const struct ksft_test tests[] = {
		KSFT_TEST(tables_a_guest_can_read),
		KSFT_TEST(what_does_not_fit_is_refused),
	};

	return ksft_run("mptable", tests, sizeof(tests) / sizeof(tests[0]),
			30);
}
