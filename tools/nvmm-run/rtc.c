/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CMOS real-time clock: see rtc.h. Without it, a Linux guest reads
 * all ones at 0x71, takes the update-in-progress bit as set for good and
 * polls about 40,000 times before it gives up on the time of day.
 */
#include <string.h>

#include "rtc.h"

#define REG_SECONDS	0x00
#define REG_MINUTES	0x02
#define REG_HOURS	0x04
#define REG_WEEKDAY	0x06
#define REG_DAY		0x07
#define REG_MONTH	0x08
#define REG_YEAR	0x09
#define REG_A		0x0A	/* UIP, divider, rate */
#define REG_B		0x0B	/* SET, interrupts, DM (binary), 24/12 */
#define REG_C		0x0C	/* interrupt flags: read clears */
#define REG_D		0x0D	/* VRT: the battery is good */
#define REG_RAM		0x0E	/* CMOS RAM from here */
#define REG_CENTURY	0x32	/* as ACPI's FADT and Linux assume */

#define A_32KHZ		0x20	/* divider: the usual time base */
#define A_1024HZ	0x06
#define B_24H		0x02
#define D_VRT		0x80

static uint8_t bcd(unsigned int v)
{
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

void nr_rtc_reset(struct nr_rtc *r)
{
	memset(r, 0, sizeof(*r));
}

static uint8_t rtc_read(const struct nr_rtc *r, time_t now)
{
	struct tm tm;

	switch (r->index) {
	case REG_A:
		return A_32KHZ | A_1024HZ;	/* UIP clear */
	case REG_B:
		return B_24H;			/* BCD, no interrupts */
	case REG_C:
		return 0;
	case REG_D:
		return D_VRT;
	}
	if (r->index >= REG_RAM && r->index != REG_CENTURY)
		return r->ram[r->index];
	if (gmtime_r(&now, &tm) == NULL)
		return 0;
	switch (r->index) {
	case REG_SECONDS: return bcd((unsigned int)tm.tm_sec % 60);
	case REG_MINUTES: return bcd((unsigned int)tm.tm_min);
	case REG_HOURS: return bcd((unsigned int)tm.tm_hour);
	case REG_WEEKDAY: return bcd((unsigned int)tm.tm_wday + 1);
	case REG_DAY: return bcd((unsigned int)tm.tm_mday);
	case REG_MONTH: return bcd((unsigned int)tm.tm_mon + 1);
	case REG_YEAR: return bcd((unsigned int)(tm.tm_year + 1900) % 100);
	case REG_CENTURY: return bcd((unsigned int)(tm.tm_year + 1900) / 100);
	default: return 0;	/* the alarm registers: never set */
	}
}

void nr_rtc_io(struct nr_rtc *r, uint16_t port, bool in, uint8_t *data,
	       time_t now)
{
	if (port == NR_RTC_PORT_INDEX) {
		if (in)
			*data = 0xFF;	/* write-only on a PC */
		else
			r->index = *data & 0x7F;
		return;
	}
	if (port != NR_RTC_PORT_DATA)
		return;
	if (in)
		*data = rtc_read(r, now);
	else if (r->index >= REG_RAM && r->index != REG_CENTURY)
		r->ram[r->index] = *data;
	/* The clock and its control registers: read-only here. */
}
