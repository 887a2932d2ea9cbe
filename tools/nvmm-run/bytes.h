/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Little-endian stores and the byte checksum firmware tables use (MP,
 * ACPI): the guest reads them byte by byte, whatever the host's order.
 */
#ifndef NR_BYTES_H
#define NR_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The byte that makes p[0..len) sum to 0. */
static inline uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

#endif /* NR_BYTES_H */
