/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pit.c: channel 2 of a PC's 8254 timer (ports 0x42, 0x43) and its gate
 * and output at port 0x61, counting at 1.193182 MHz from the host's
 * clock: what Linux calibrates the CPU's frequency against. Channels 0
 * and 1 (the old tick and refresh) are not there; a Linux guest uses the
 * local APIC's timer. Modes 0 (interrupt on terminal count) and 2/3
 * (rate and square wave, as a reload period) in binary; no interrupt.
 * A model: the VMM passes the time in nanoseconds.
 */
#ifndef NR_PIT_H
#define NR_PIT_H

#include <stdbool.h>
#include <stdint.h>

#define NR_PIT_PORT_CH2		0x42
#define NR_PIT_PORT_CTRL	0x43
#define NR_PIT_PORT_B		0x61	/* gate 2, speaker, OUT2 */
#define NR_PIT_HZ		1193182ULL

struct nr_pit {
	uint16_t reload;	/* 0 means 65536 */
	uint8_t mode, access;	/* control word bits 3:1, 5:4 */
	bool gate, speaker;	/* port B bits 0, 1 */
	bool write_msb;		/* LSB/MSB access: the MSB is next */
	bool read_msb;
	bool latched;
	uint16_t latch;
	bool counting;		/* a count was written */
	uint64_t start;		/* ns: the count's start (gate high) */
	uint64_t stopped;	/* ticks counted when the gate went low */
	uint8_t lsb;		/* the LSB written, before the MSB */
};

void nr_pit_reset(struct nr_pit *p);
/* An access to 0x42, 0x43 or 0x61 (others: nothing) at time now (ns). */
void nr_pit_io(struct nr_pit *p, uint16_t port, bool in, uint8_t *data,
	       uint64_t now);

#endif /* NR_PIT_H */
