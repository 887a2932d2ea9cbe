/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An I/O APIC as the guest programs it: IOREGSEL selects a register that
 * IOWIN reads and writes; the redirection entries start masked, and what
 * a guest writes is kept to the bits the 82093AA defines (the delivery
 * status and remote IRR bits are the chip's, not the guest's).
 */
#include <string.h>

#include "ioapic.h"

#define REG_ID		0x00
#define REG_VERSION	0x01
#define REG_ARB		0x02
#define REG_REDIR	0x10
#define VERSION		(((NR_IOAPIC_PINS - 1) << 16) | 0x11)
#define REDIR_MASKED	(1ULL << 16)
/* Vector, delivery and destination mode, polarity, trigger, mask, dest. */
#define REDIR_WRITABLE	(0xFF000000000000FFULL | 0x1AF00ULL)

void nr_ioapic_reset(struct nr_ioapic *io, uint8_t id)
{
	unsigned int i;

	memset(io, 0, sizeof(*io));
	io->id = (uint32_t)(id & 0xF) << 24;
	for (i = 0; i < NR_IOAPIC_PINS; i++)
		io->redir[i] = REDIR_MASKED;
}

static uint32_t reg_read(const struct nr_ioapic *io, uint32_t r)
{
	if (r == REG_ID || r == REG_ARB)
		return io->id;
	if (r == REG_VERSION)
		return VERSION;
	if (r >= REG_REDIR && r < REG_REDIR + 2 * NR_IOAPIC_PINS)
		return (uint32_t)(io->redir[(r - REG_REDIR) / 2] >>
				  ((r & 1) ? 32 : 0));
	return 0;
}

uint32_t nr_ioapic_read(struct nr_ioapic *io, uint32_t off)
{
	if (off == NR_IOAPIC_REGSEL)
		return io->regsel;
	if (off == NR_IOAPIC_WIN)
		return reg_read(io, io->regsel);
	return 0;
}

void nr_ioapic_write(struct nr_ioapic *io, uint32_t off, uint32_t val)
{
	uint32_t r = io->regsel;
	uint64_t *e, v;

	if (off == NR_IOAPIC_REGSEL) {
		io->regsel = val & 0xFF;
		return;
	}
	if (off != NR_IOAPIC_WIN)
		return;
	if (r == REG_ID) {
		io->id = val & 0x0F000000U;
	} else if (r >= REG_REDIR && r < REG_REDIR + 2 * NR_IOAPIC_PINS) {
		e = &io->redir[(r - REG_REDIR) / 2];
		v = (r & 1) ? (*e & 0xFFFFFFFFULL) | (uint64_t)val << 32 :
			      (*e & ~0xFFFFFFFFULL) | val;
		*e = (*e & ~REDIR_WRITABLE) | (v & REDIR_WRITABLE);
	}
}

bool nr_ioapic_route(const struct nr_ioapic *io, unsigned int pin,
		     uint8_t *vector, uint8_t *dest, bool *logical)
{
	if (pin >= NR_IOAPIC_PINS || (io->redir[pin] & REDIR_MASKED))
		return false;
	*vector = (uint8_t)io->redir[pin];
	*dest = (uint8_t)(io->redir[pin] >> 56);
	*logical = io->redir[pin] & 0x800;
	return true;
}
