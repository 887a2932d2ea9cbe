/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ioapic.c: an I/O APIC's register interface (82093AA: IOREGSEL, IOWIN,
 * ID, version, arbitration, 24 redirection entries). A model: routing an
 * input to a local APIC is the VMM's, with nr_ioapic_route().
 */
#ifndef NR_IOAPIC_H
#define NR_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define NR_IOAPIC_BASE		0xFEC00000ULL
#define NR_IOAPIC_SIZE		0x1000
#define NR_IOAPIC_PINS		24
#define NR_IOAPIC_REGSEL	0x00
#define NR_IOAPIC_WIN		0x10

struct nr_ioapic {
	uint32_t regsel;
	uint32_t id;			/* bits 27:24 */
	uint64_t redir[NR_IOAPIC_PINS];
};

void nr_ioapic_reset(struct nr_ioapic *io, uint8_t id);
/* A 32-bit access at off in the page (others read 0, ignore writes). */
uint32_t nr_ioapic_read(struct nr_ioapic *io, uint32_t off);
void nr_ioapic_write(struct nr_ioapic *io, uint32_t off, uint32_t val);

/*
 * Where input pin goes: false if masked or out of range, else its vector
 * and destination for the VMM to raise: an APIC ID, or with *logical a
 * logical destination to match against each local APIC's LDR.
 */
bool nr_ioapic_route(const struct nr_ioapic *io, unsigned int pin,
		     uint8_t *vector, uint8_t *dest, bool *logical);

#endif /* NR_IOAPIC_H */
