/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mptable.c: the MP Specification 1.4 floating pointer and configuration
 * table that tell a guest its CPUs and interrupt controllers.
 */
#ifndef NR_MPTABLE_H
#define NR_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define NR_MP_LAPIC_ADDR	0xFEE00000U
#define NR_MP_IOAPIC_ADDR	0xFEC00000U
#define NR_MP_ISA_BUS		0
#define NR_MP_MAX_CPUS		64

/* Bytes the floating pointer and the table take for ncpus CPUs. */
size_t nr_mptable_size(unsigned int ncpus);

/*
 * Write the floating pointer, then the table, into buf, which the guest
 * sees at guest-physical gpa. Returns the bytes written, or 0 if ncpus is
 * 0 or above NR_MP_MAX_CPUS, or size is too small.
 */
size_t nr_mptable(uint8_t *buf, size_t size, uint32_t gpa, unsigned int ncpus);

#endif /* NR_MPTABLE_H */
