/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rtc.c: a PC's CMOS real-time clock (MC146818) at ports 0x70 (index)
 * and 0x71 (data), reading the host's clock in UTC: BCD, 24-hour mode,
 * never in an update (UIP clear), the century at index 0x32. The time is
 * read-only (the guest does not set the host's clock); the CMOS RAM from
 * index 0x0E on keeps what is written. No interrupt. A model: the VMM
 * passes the time.
 */
#ifndef NR_RTC_H
#define NR_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define NR_RTC_PORT_INDEX	0x70
#define NR_RTC_PORT_DATA	0x71

struct nr_rtc {
	uint8_t index;		/* bits 6:0; bit 7 (NMI mask) dropped */
	uint8_t ram[128];
};

void nr_rtc_reset(struct nr_rtc *r);
/* An access to port 0x70 or 0x71 (others: nothing), the time now. */
void nr_rtc_io(struct nr_rtc *r, uint16_t port, bool in, uint8_t *data,
	       time_t now);

#endif /* NR_RTC_H */
