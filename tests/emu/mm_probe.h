/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The probe guest's runner (mm_probe.c), for run_mm's files: a VCPU set up
 * for the probe guest (guests/long_mm_probe.S, long_mm_probe_seq.S); one
 * run with its report taken (as the suite's other guests report too); runs
 * until n reports or HLT.
 */
#ifndef MM_PROBE_H
#define MM_PROBE_H

#include <stdint.h>

#include "run_mm.h"

/* The probe guest (guests/long_mm_probe.S): RBX = probe, R12 = command. */
#define PROBE_GPA	0x80000ULL
#define CMD_GPA		DATA_BASE

void probe_setup(struct vm *v, unsigned int cpu, uint64_t probe_gpa);
uint64_t probe_run(struct vm *v, unsigned int cpu, uint32_t *val, int *err);
void probe_reports(struct vm *v, unsigned int cpu, uint32_t *out,
		   unsigned int n);
void probe_until_halt(struct vm *v, unsigned int cpu);
/*
 * A 1 MiB VM running the probe guest on VCPU 0, pointers to its probe and
 * command words, and a first write of 0xAAAA0001 by the guest, checked.
 */
void probe_start(struct vm *v, volatile uint32_t **probe,
		 volatile uint32_t **cmd);

#endif /* MM_PROBE_H */
