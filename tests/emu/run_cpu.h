/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The run_cpu suite: what its files share. run_cpu.c has the suite's
 * table and the helpers several topics use; the tests are in files by topic
 * (cpu_modes.c, cpu_events.c, cpu_fpu.c, cpu_asid.c, cpu_tsc.c,
 * cpu_cpuid.c).
 */
#ifndef RUN_CPU_H
#define RUN_CPU_H

#include <stdint.h>

#include "ksft.h"
#include "vm.h"

#define KIB		((uint64_t)1024)
#define MIB		(1024 * KIB)
#define PAGE		((uint64_t)4096)
#define DATA_BASE	0x20000ULL	/* guests/guest.h */

extern struct vm vm;

void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]);
unsigned int qemu_version(void);
uint64_t next_exit(struct vm *v, unsigned int cpu);
uint64_t get_rip(struct vm *v, unsigned int cpu);

/* The tests, for the table in run_cpu.c (KSFT_EXPORT in ksft.h). */
/* cpu_modes.c */
KSFT_DECLARE(protected_mode_32);
KSFT_DECLARE(protected_mode_16);
KSFT_DECLARE(exits_ud_gp_monitor_mwait);
/* cpu_events.c */
KSFT_DECLARE(event_reinjection_after_npf);
KSFT_DECLARE(interrupt_shadow);
KSFT_DECLARE(tpr_cr8_and_exit_changed);
/* cpu_fpu.c */
KSFT_DECLARE(xsetbv_and_avx_state);
KSFT_DECLARE(fpu_state_across_sleeping_faults);
/* cpu_asid.c */
KSFT_DECLARE(asid_recycling);
/* cpu_tsc.c */
KSFT_DECLARE(tsc_offset_and_monotonic);
KSFT_DECLARE(tsc_writes_keep_vcpus_in_sync);
/* cpu_cpuid.c */
KSFT_DECLARE(cpuid_leaves_and_masks);

#endif /* RUN_CPU_H */
